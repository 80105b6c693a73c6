"""Train/test splits that are disjoint by video, assigned by a seeded hash.

Hashing the video id (rather than shuffling rows) keeps every question, presentation and
caption of a video in the same split, and keeps a video's split stable when rows are added.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from maple_bench.schema import Sample, SchemaError

DEFAULT_TEST_FRACTION = 1.0
"""Benchmarks are test sets: every video goes to ``test`` unless a smaller fraction is asked."""


def unit_hash(seed: int, key: str) -> float:
    """A deterministic number in [0, 1) for (seed, key)."""
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(video_id: str, *, seed: int, test_fraction: float) -> str:
    """``test`` for a ``test_fraction`` share of videos (by seeded hash), else ``train``."""
    return "test" if unit_hash(seed, "split:" + video_id) < test_fraction else "train"


def assign_splits(
    samples: Sequence[Sample],
    has_split: Sequence[bool],
    *,
    seed: int,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    file: str | None = None,
) -> list[Sample]:
    """Give every sample without a source split one by video hash; check videos are not shared.

    Raises :class:`SchemaError` naming the video when a source puts one video in two splits.
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test fraction must be within [0, 1], got {test_fraction}")
    out: list[Sample] = []
    seen: dict[str, tuple[str, str]] = {}
    for s, given in zip(samples, has_split):
        if not given:
            s = s.replace(split=split_of(s.video_id, seed=seed, test_fraction=test_fraction))
        first = seen.setdefault(s.video_id, (s.split, s.id))
        if first[0] != s.split:
            raise SchemaError(
                f"video {s.video_id!r} is in split {s.split!r} here and in split {first[0]!r} "
                f"at row id {first[1]!r}",
                row_id=s.id,
                field="split",
                file=file,
                hint="splits must be disjoint by video; fix the split column or drop it",
            )
        out.append(s)
    return out
