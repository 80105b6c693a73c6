"""Column labels, metric definitions shown on the page, and number formatting.

The definitions a board carries (copied from its results files) win; these defaults cover
boards built from files that state none, so the page never shows an undefined column.
"""

from __future__ import annotations

import math
import re

HEADLINE_COLUMNS: tuple[str, ...] = (
    "avg_acc",
    "micro_acc",
    "acc_uni",
    "acc_multi",
    "uni_multi_gap",
    "modality_spread",
    "fusion_gain",
    "invalid_rate",
    "error_rate",
)
"""Headline metrics shown on every board, in this order."""

EXTRA_COLUMNS: tuple[str, ...] = (
    "abstention_rate",
    "hallucination_rate",
    "none_f1",
    "superset_robustness",
    "per_video_fusion_gain",
)
"""Further metrics shown when at least one entry reports them (QA+ and caption extras)."""

LABELS: dict[str, str] = {
    "avg_acc": "Avg acc",
    "micro_acc": "Micro acc",
    "acc_uni": "Uni acc",
    "acc_multi": "Multi acc",
    "uni_multi_gap": "Uni-multi gap",
    "modality_spread": "Spread",
    "fusion_gain": "Fusion gain",
    "fusion_gain_rel": "Fusion gain (rel.)",
    "invalid_rate": "Invalid",
    "error_rate": "Errors",
    "abstention_rate": "Abstention",
    "hallucination_rate": "Hallucination",
    "none_f1": "None F1",
    "superset_robustness": "Superset robustness",
    "per_video_fusion_gain": "Per-video fusion gain",
}
"""Short column headings."""

RATIO_METRICS = frozenset({"fusion_gain_rel", "superset_robustness"})
"""Metrics that are ratios (shown as x.xx), not fractions (shown as percentages)."""

DEFAULT_DEFINITIONS: dict[str, str] = {
    "acc_by_tag": "acc(t): accuracy over samples whose required modality tag is t, with a 95% "
    "bootstrap CI clustered by video.",
    "avg_acc": "Macro mean of the 7 tag accuracies.",
    "micro_acc": "Accuracy over all items.",
    "acc_uni": "Mean of acc(V), acc(A), acc(S).",
    "acc_multi": "Mean of acc(VA), acc(VS), acc(AS), acc(VAS).",
    "uni_multi_gap": "|acc_uni - acc_multi| (lower is better).",
    "modality_spread": "max_t acc(t) - min_t acc(t) (lower is better).",
    "fusion_gain": "acc_multi - max(acc(V), acc(A), acc(S)).",
    "fusion_gain_rel": "fusion_gain / max(acc(V), acc(A), acc(S)).",
    "invalid_rate": "Share of answers that could not be parsed (counted wrong).",
    "error_rate": "Share of samples that could not be run (counted wrong).",
    "acc_by_condition": "QA+: accuracy by condition (exact, superset, deficit).",
    "abstention_rate": "QA+ deficit rows: share answered None.",
    "hallucination_rate": "QA+ deficit rows: share answered with a content option.",
    "none_f1": "QA+: F1 of choosing the None option.",
    "superset_robustness": "acc(superset) / acc(exact).",
    "rank": "1 + the number of entries whose avg_acc CI lies entirely above this entry's; "
    "entries with overlapping CIs share a rank.",
}
"""Fallback definitions (the board's own, from its results files, take precedence)."""


def score_label(board: object) -> str:
    """'Accuracy' for QA boards, 'Judge score' for captioning boards (``primary_score``)."""
    kind = board.get("primary_score") if isinstance(board, dict) else None
    return "Judge score" if kind == "judge_score" else "Accuracy"


def fmt(value: float | None, metric: str = "") -> str:
    """A metric value for display: percentages with one decimal, ratios with two, '-' if null."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2013"
    if metric in RATIO_METRICS:
        return f"{value:.2f}"
    return f"{100 * value:.1f}"


def fmt_ci(low: float | None, high: float | None) -> str:
    """A CI for display, ``[55.0, 70.1]``, or '' when unknown."""
    if low is None or high is None:
        return ""
    return f"[{100 * low:.1f}, {100 * high:.1f}]"


def slug(text: str) -> str:
    """A safe file-name stem for a task name."""
    s = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    return s or "board"
