"""Batch formation over required-modality tags, reproducible by seed and resumable by position.

Every stream is a seeded permutation per epoch (``numpy.random.default_rng([seed, stream,
epoch])``) read through a cursor, so the sampler's whole state is a few integers: a resumed run
draws exactly the batches an uninterrupted run would have drawn.

- ``mixed``: one permutation over all samples; tags come interleaved as they fall.
- ``stratified`` / ``quota``: every batch holds each tag in proportion to its share of the pool
  (or to given weights: the dynamic curriculum), drawn from per-tag permutations.
- ``stratified`` / ``single``: one tag per batch, tags visited round-robin (in a given order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from maple_bench.mapo.curriculum import quotas


class _Stream:
    """Endless seeded shuffles of ``items``; state = (epoch, position)."""

    def __init__(self, items: Sequence[int], seed: int, key: int) -> None:
        self.items = np.asarray(items, dtype=np.int64)
        self.seed, self.key = seed, key
        self.epoch, self.pos = 0, 0
        self._perm = self._permutation()

    def _permutation(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.key, self.epoch])
        return self.items[rng.permutation(len(self.items))]

    def take(self) -> int:
        if self.pos >= len(self._perm):
            self.epoch, self.pos = self.epoch + 1, 0
            self._perm = self._permutation()
        self.pos += 1
        return int(self._perm[self.pos - 1])

    def state(self) -> list[int]:
        return [self.epoch, self.pos]

    def load(self, state: Sequence[int]) -> None:
        self.epoch, self.pos = int(state[0]), int(state[1])
        self._perm = self._permutation()


class TagSampler:
    """Yields global batches (lists of sample indices) from samples labelled with tags."""

    def __init__(
        self,
        tags: Sequence[str],
        batch_size: int,
        *,
        mode: str = "mixed",
        stratified_mode: str = "quota",
        seed: int = 0,
        tag_order: Sequence[str] = (),
    ) -> None:
        if not tags:
            raise ValueError("cannot sample batches from an empty training set")
        self.tags = list(tags)
        self.batch_size, self.mode, self.stratified_mode = batch_size, mode, stratified_mode
        present = set(self.tags)
        order = [t for t in tag_order if t in present] + sorted(present - set(tag_order))
        self.order = order
        self.all = _Stream(range(len(self.tags)), seed, 0)
        self.by_tag = {
            t: _Stream([i for i, x in enumerate(self.tags) if x == t], seed, 1 + k)
            for k, t in enumerate(order)
        }
        self.counts = {t: float(self.tags.count(t)) for t in order}
        self.cycle = 0
        self.batches = 0

    def next_batch(
        self,
        *,
        allowed: set[str] | None = None,
        weights: Mapping[str, float] | None = None,
        order: Sequence[str] | None = None,
    ) -> list[int]:
        """Indices of the next batch; ``allowed`` restricts tags (curriculum), ``weights`` set
        stratified quotas, ``order`` the round-robin order of ``single`` mode."""
        pool = [t for t in self.order if allowed is None or t in allowed]
        if not pool:
            raise ValueError(f"no training samples with the allowed tags {sorted(allowed or ())}")
        self.batches += 1
        if self.mode == "mixed":
            out: list[int] = []
            guard = 0
            while len(out) < self.batch_size:
                i = self.all.take()
                guard += 1
                if self.tags[i] in pool:
                    out.append(i)
                elif guard > 100 * len(self.tags):  # pragma: no cover - pool non-empty above
                    raise RuntimeError("sampler could not fill a batch")
            return out
        if self.stratified_mode == "single":
            seq = [t for t in (order or self.order) if t in pool]
            tag = seq[self.cycle % len(seq)]
            self.cycle += 1
            return [self.by_tag[tag].take() for _ in range(self.batch_size)]
        if weights is None:
            weights = self.counts
        q = quotas({t: weights.get(t, 0.0) for t in pool}, self.batch_size, pool)
        return [self.by_tag[t].take() for t in pool for _ in range(q.get(t, 0))]

    def state_dict(self) -> dict[str, Any]:
        return {
            "all": self.all.state(),
            "by_tag": {t: s.state() for t, s in self.by_tag.items()},
            "cycle": self.cycle,
            "batches": self.batches,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.all.load(state["all"])
        for t, s in state["by_tag"].items():
            if t in self.by_tag:
                self.by_tag[t].load(s)
        self.cycle, self.batches = int(state["cycle"]), int(state["batches"])
