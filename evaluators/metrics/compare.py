"""Paired comparison of two runs from their sample logs (same items, same draws)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from .bootstrap import PairedResult, paired_compare
from .items import SampleLogError, as_frame, item_table
from .stats import cluster_sums


class ComparisonError(ValueError):
    """Two runs cannot be compared item by item (different items, draws or videos)."""


LogLike: TypeAlias = pd.DataFrame | Iterable[Mapping[str, Any]]


def _keys(df: pd.DataFrame) -> set[tuple[str, int]]:
    return set(zip(df["doc_id"].astype(str), df["draw"].astype(int)))


def compare_logs(
    log_a: LogLike,
    log_b: LogLike,
    *,
    metric: str = "avg_acc",
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    seed: int = 0,
) -> PairedResult:
    """Run B minus run A on ``metric``; refuses unless both logs hold the same (doc_id, draw) set."""
    df_a, df_b = as_frame(log_a), as_frame(log_b)
    for name, df in (("A", df_a), ("B", df_b)):
        if "doc_id" not in df or "draw" not in df:
            raise SampleLogError(f"run {name}: the sample log lacks doc_id/draw columns")
    ka, kb = _keys(df_a), _keys(df_b)
    if ka != kb:
        only_a, only_b = sorted(ka - kb), sorted(kb - ka)
        raise ComparisonError(
            f"the runs were not evaluated on the same items: {len(only_a)} (doc_id, draw) pairs "
            f"only in A (e.g. {only_a[:3]}), {len(only_b)} only in B (e.g. {only_b[:3]}). "
            f"The item set follows --task, --data, --limit, --presentations and --k (each run's "
            f"run_meta.json records them): rerun one with the other's values, or resume the "
            f"shorter run."
        )
    ia, ib = item_table(df_a), item_table(df_b)
    for field in ("video_id", "rmt", "presentation"):
        va, vb = getattr(ia, field), getattr(ib, field)
        if not np.array_equal(va, vb):
            i = int(np.flatnonzero(va != vb)[0])
            raise ComparisonError(
                f"doc_id {ia.doc_id[i]!r} has {field} {va[i]!r} in run A but {vb[i]!r} in run B; "
                f"the runs used different dataset versions"
            )
    return paired_compare(
        cluster_sums(ia),
        cluster_sums(ib),
        metric=metric,
        n_bootstrap=n_bootstrap,
        n_permutations=n_permutations,
        seed=seed,
        n_items=len(ia),
    )
