"""Zero-variance group filtering: prompts whose G rewards are all equal carry no signal.

With group-relative advantages such a group has A = 0 for every completion, so it only dilutes
the batch. ``early`` drops it before the log-prob recomputation (saves that forward/backward
pass), ``late`` keeps it in the forward pass but masks it out of the loss and the kept count,
``none`` keeps it (its advantages are whatever the estimator gives: under ``global`` or
``stratum`` normalisation an all-correct group still has a non-zero advantage).

Under ``global`` / ``stratum`` advantages a filtered group's advantage is *not* zero, so the
statistics must be taken over the kept rows after filtering:
:func:`maple_bench.mapo.advantages.filtered_advantages` does that; do not normalise first and
drop afterwards.
"""

from __future__ import annotations

import torch

FILTER_MODES = ("none", "early", "late")


def zero_variance_groups(
    rewards: torch.Tensor, groups: torch.Tensor, tol: float = 1e-9
) -> torch.Tensor:
    """Bool [N]: True where the completion's group has (numerically) identical rewards."""
    r = rewards.to(torch.float64).flatten()
    g = groups.to(torch.long).flatten()
    _, inv = torch.unique(g, return_inverse=True)
    k = int(inv.max()) + 1 if inv.numel() else 0
    big = torch.full((k,), -torch.inf, dtype=torch.float64).scatter_reduce(0, inv, r, "amax")
    small = torch.full((k,), torch.inf, dtype=torch.float64).scatter_reduce(0, inv, r, "amin")
    return ((big - small) <= tol)[inv]


def keep_mask(rewards: torch.Tensor, groups: torch.Tensor, mode: str) -> torch.Tensor:
    """Bool [N]: which completions contribute to the loss under ``mode``."""
    if mode not in FILTER_MODES:
        raise ValueError(f"unknown filter mode {mode!r}; valid: {', '.join(FILTER_MODES)}")
    if mode == "none":
        return torch.ones(rewards.numel(), dtype=torch.bool)
    return ~zero_variance_groups(rewards, groups)
