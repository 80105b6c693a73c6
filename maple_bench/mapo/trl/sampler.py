"""A stratified, seeded prompt sampler with TRL's repeat structure.

TRL's ``RepeatSampler`` yields, for every generation batch of B prompts, each prompt
``mini_repeat_count`` (= G) times in a row, and the whole chunk ``repeat_count`` times (the
batches reused by ``steps_per_generation`` and ``num_iterations``); every process builds the same
sampler from the same seed and the dataloader hands each process its contiguous slice. This
sampler keeps that structure exactly and only changes *which* B prompts form a batch: they come
from :class:`maple_bench.mapo.sampler.TagSampler` (``mixed``, or ``stratified`` per-tag quotas /
one tag per batch), so batches are formed exactly as ``maple-bench train`` forms them.

A curriculum acts through ``plan``: called once per generation batch, it returns the allowed
strata, per-stratum quota weights and the round-robin order (see :mod:`.trainer`). The dataloader
prefetches one batch ahead, so the plan a batch is drawn under is the trainer's state one
generation earlier; that is the same on every process, so batches stay identical across ranks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from torch.utils.data import Sampler

from maple_bench.mapo.plan import Plan
from maple_bench.mapo.sampler import TagSampler


class StratifiedRepeatSampler(Sampler[int]):
    """Dataset indices: per generation batch, B prompts from a :class:`TagSampler`, each
    repeated G times, the chunk repeated ``repeat_count`` times (TRL's ``RepeatSampler`` layout).

    ``strata`` holds the stratum (e.g. RMT tag) of every dataset row; ``order`` is the canonical
    stratum order (ties in quotas and the round-robin of ``single`` mode follow it).
    """

    def __init__(
        self,
        strata: Sequence[str],
        *,
        mini_repeat_count: int,
        batch_size: int,
        repeat_count: int = 1,
        mode: str = "stratified",
        stratified_mode: str = "quota",
        seed: int = 0,
        order: Sequence[str] = (),
        plan: Callable[[], Plan] | None = None,
    ) -> None:
        if batch_size < 1 or mini_repeat_count < 1 or repeat_count < 1:
            raise ValueError(
                "StratifiedRepeatSampler: batch_size, mini_repeat_count and repeat_count must be "
                f">= 1 (got {batch_size}, {mini_repeat_count}, {repeat_count})"
            )
        self.strata = [str(s) for s in strata]
        self.mini_repeat_count = mini_repeat_count
        self.batch_size = batch_size
        self.repeat_count = repeat_count
        self.plan = plan
        self.tags = TagSampler(
            self.strata,
            batch_size,
            mode=mode,
            stratified_mode=stratified_mode,
            seed=seed,
            tag_order=order,
        )

    def batches_per_epoch(self) -> int:
        """Generation batches per pass over the dataset (as TRL: incomplete batches dropped)."""
        return len(self.strata) // self.batch_size

    def __len__(self) -> int:
        return (
            self.batches_per_epoch() * self.batch_size * self.mini_repeat_count * self.repeat_count
        )

    def __iter__(self) -> Iterator[int]:
        # The TagSampler's streams continue across epochs (its state is a few cursors), so a
        # second epoch draws fresh permutations instead of repeating the first.
        for _ in range(self.batches_per_epoch()):
            allowed, weights, order = self.plan() if self.plan is not None else (None, None, None)
            chunk = self.tags.next_batch(allowed=allowed, weights=weights, order=order)
            for _ in range(self.repeat_count):
                for index in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield index
