"""Rank a board's entries by one metric, with ties decided by confidence-interval overlap.

Rule (the one LMSYS Chatbot Arena uses): an entry's rank is 1 + the number of entries that are
*clearly* better, where "clearly better" means the two 95% CIs do not overlap (the other's lower
bound is above this one's upper bound; mirrored for lower-is-better metrics). Entries whose CIs
overlap therefore share a rank: A [.80, .90], B [.78, .88], C [.50, .60] rank 1, 1, 3. When either
entry has no CI for the metric, only a strictly better point value counts, so exact ties share a
rank. Entries without a value are listed last, unranked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leaderboards.schema import CONDITIONS, TAGS, LeaderboardError

LOWER_IS_BETTER = frozenset(
    {"uni_multi_gap", "modality_spread", "invalid_rate", "error_rate", "hallucination_rate"}
)
"""Headline metrics where smaller is better; every other metric ranks higher-is-better."""


@dataclass(frozen=True)
class Ranked:
    """One entry's place on the board for a metric."""

    rank: int | None
    """1-based rank (shared by entries whose CIs overlap); None when the value is missing."""
    name: str
    """Model display name."""
    revision: str | None
    """Model revision."""
    value: float | None
    """The metric's value."""
    ci_low: float | None
    """Lower 95% CI bound, when known."""
    ci_high: float | None
    """Upper 95% CI bound, when known."""
    entry: Mapping[str, Any]
    """The board entry itself."""


def metric_names(board: Mapping[str, Any]) -> list[str]:
    """Every metric name ``rank`` accepts for this board: headline keys, tags, conditions."""
    names: list[str] = []
    for e in board["entries"]:
        names += [k for k in e["headline"] if k not in names]
    return names + [f"tag:{t}" for t in TAGS] + [f"condition:{c}" for c in CONDITIONS]


def metric_value(
    entry: Mapping[str, Any], metric: str
) -> tuple[float | None, float | None, float | None]:
    """``(value, ci_low, ci_high)`` of ``metric`` for an entry.

    ``metric`` is a headline name (``avg_acc``), ``tag:VA`` (or a bare tag ``VA``), or
    ``condition:exact``.
    """
    if metric in TAGS or metric.startswith("tag:"):
        cell = entry["by_tag"].get(metric.removeprefix("tag:"))
        return (cell["acc"], cell["ci_low"], cell["ci_high"]) if cell else (None, None, None)
    if metric.startswith("condition:"):
        cell = (entry["by_condition"] or {}).get(metric.removeprefix("condition:"))
        return (cell["acc"], cell["ci_low"], cell["ci_high"]) if cell else (None, None, None)
    ci = entry["headline_ci"].get(metric) or {}
    return entry["headline"].get(metric), ci.get("ci_low"), ci.get("ci_high")


def higher_is_better(metric: str) -> bool:
    """Direction of a metric (tags and conditions are accuracies: higher is better)."""
    return metric not in LOWER_IS_BETTER


def _clearly_better(a: Ranked, b: Ranked, higher: bool) -> bool:
    """Is ``a`` better than ``b`` beyond CI overlap (or by point value when a CI is missing)?"""
    assert a.value is not None and b.value is not None
    have_ci = None not in (a.ci_low, a.ci_high, b.ci_low, b.ci_high)
    if have_ci:
        return a.ci_low > b.ci_high if higher else a.ci_high < b.ci_low  # type: ignore[operator]
    return a.value > b.value if higher else a.value < b.value


def rank_board(board: Mapping[str, Any], metric: str = "avg_acc") -> list[Ranked]:
    """Entries sorted by rank (then by value), with CI-overlap ties. See the module docstring."""
    if metric not in metric_names(board) and metric not in TAGS:
        raise LeaderboardError(
            f"unknown metric {metric!r}", hint=f"choose one of {', '.join(metric_names(board))}"
        )
    higher = higher_is_better(metric)
    rows = []
    for e in board["entries"]:
        v, lo, hi = metric_value(e, metric)
        rows.append(Ranked(None, e["model"]["name"], e["model"]["revision"], v, lo, hi, e))
    valued = [r for r in rows if r.value is not None]
    ranked = [
        Ranked(
            rank=1 + sum(_clearly_better(o, r, higher) for o in valued if o is not r),
            name=r.name,
            revision=r.revision,
            value=r.value,
            ci_low=r.ci_low,
            ci_high=r.ci_high,
            entry=r.entry,
        )
        for r in valued
    ]
    sign = -1.0 if higher else 1.0
    ranked.sort(key=lambda r: (r.rank, sign * r.value, r.name))  # type: ignore[operator]
    return ranked + sorted((r for r in rows if r.value is None), key=lambda r: r.name)
