"""Mini-batches of one rollout batch: several optimizer steps per generation (PPO style).

The paper trains with a global batch of 256 and mini-batches of 32, so each generated batch
feeds several optimizer steps; the importance ratio pi / pi_old then moves away from 1 after the
first step and the asymmetric clip acts. (With one update per rollout batch the ratio is exactly
1 and the clip is inert.) TRL calls the number of updates per generation
``steps_per_generation``; verl derives it from ``train_batch_size / ppo_mini_batch_size``.

Rows are shuffled with a generator seeded by the caller (so every process draws the same split
and the split does not depend on the number of processes) and cut into nearly equal parts:
without the shuffle a stratified batch, which is ordered by tag, would give one-tag mini-batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def split_minibatches(
    rows: torch.Tensor, num: int, seed: Sequence[int] | int
) -> list[torch.Tensor]:
    """Split the global row indices ``rows`` (long [n]) into ``num`` shuffled mini-batches.

    Returns ``num`` long tensors (sizes differ by at most one; some are empty when n < num),
    each sorted ascending so rows of one prompt stay adjacent. ``seed`` (an int or a sequence of
    ints, e.g. (run seed, step, epoch)) fixes the shuffle; ``num == 1`` returns ``[rows]`` as is.
    """
    if num < 1:
        raise ValueError(f"number of mini-batches must be >= 1, got {num}")
    rows = rows.flatten().to(torch.long)
    if num == 1:
        return [rows]
    seeds = [seed] if isinstance(seed, int) else list(seed)
    mixed = 0
    for s in seeds:  # a stable, process-independent mix of the seed parts
        mixed = (mixed * 1_000_003 + int(s)) % (2**62)
    gen = torch.Generator().manual_seed(mixed)
    perm = rows[torch.randperm(rows.numel(), generator=gen)]
    return [torch.sort(part).values for part in torch.tensor_split(perm, num)]
