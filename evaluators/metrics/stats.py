"""Pure metric math: per-cluster sufficient statistics, ratios, and the derived headline metrics.

Every metric in ARCHITECTURE.md section 3 is either a ratio of two sums over items (accuracy of a
tag, abstention rate, None precision, ...) or a function of such ratios (macro average, gap,
fusion gain, F1). So the item table is reduced once to per-cluster sums of numerators and
denominators, shape ``[clusters, K]``; a bootstrap resample is then a weight vector over clusters
(``weights @ sums``), and :func:`derive` maps ratio arrays of any leading shape ``[..., K]`` to
the headline metrics. No loops over resamples, no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maple_bench.modality import TAG_NAMES

from .items import ItemTable

CONDITIONS = ("exact", "superset", "deficit")

STAT_NAMES: tuple[str, ...] = (
    *(f"tag:{t}" for t in TAG_NAMES),
    *(f"pres:{t}" for t in TAG_NAMES),
    *(f"cond:{c}" for c in CONDITIONS),
    "all",
    "abstain",
    "halluc",
    "none_prec",
    "none_rec",
    "invalid",
    "error",
    "pvfg",
)
"""Ratio statistics, in column order of the sum matrices."""
COL = {name: i for i, name in enumerate(STAT_NAMES)}

HEADLINE_NAMES: tuple[str, ...] = (
    "avg_acc",
    "avg_acc_present",
    "micro_acc",
    "acc_uni",
    "acc_multi",
    "uni_multi_gap",
    "modality_spread",
    "fusion_gain",
    "fusion_gain_rel",
    "abstention_rate",
    "hallucination_rate",
    "none_precision",
    "none_recall",
    "none_f1",
    "superset_robustness",
    "invalid_rate",
    "error_rate",
    "per_video_fusion_gain",
)
"""Every headline metric :func:`derive` returns (null where not applicable)."""


@dataclass(frozen=True)
class ClusterSums:
    """Per-cluster sums of every ratio statistic's numerator and denominator."""

    clusters: np.ndarray
    """Sorted cluster ids (video_id, or doc_id for an iid bootstrap)."""
    num: np.ndarray
    """``[C, K]`` float sums of numerators (K = len(STAT_NAMES))."""
    den: np.ndarray
    """``[C, K]`` float sums of denominators."""

    @property
    def n_clusters(self) -> int:
        return len(self.clusters)


def item_columns(items: ItemTable) -> tuple[np.ndarray, np.ndarray]:
    """Per-item numerator and denominator matrices ``[N, K]`` (pvfg is per cluster: zeros here)."""
    n = len(items)
    num = np.zeros((n, len(STAT_NAMES)))
    den = np.zeros((n, len(STAT_NAMES)))
    s = items.score

    def put(name: str, mask: np.ndarray, value: np.ndarray) -> None:
        # np.where, not value * mask: a NaN score (unjudged caption) makes only the statistics
        # whose mask contains it undefined.
        num[:, COL[name]] = np.where(mask, value, 0.0)
        den[:, COL[name]] = mask.astype(float)

    for t in TAG_NAMES:
        put(f"tag:{t}", items.rmt == t, s)
        put(f"pres:{t}", items.presentation == t, s)
    qap = items.qa_plus
    for c in CONDITIONS:
        put(f"cond:{c}", qap & (items.condition == c), s)
    ones = np.ones(n, bool)
    put("all", ones, s)
    deficit = qap & (items.condition == "deficit")
    put("abstain", deficit, items.pred_none)
    put("halluc", deficit, items.pred_content)
    tp = items.pred_none * items.target_none
    num[:, COL["none_prec"]] = np.where(qap, tp, 0.0)
    den[:, COL["none_prec"]] = np.where(qap, items.pred_none, 0.0)
    num[:, COL["none_rec"]] = np.where(qap, tp, 0.0)
    den[:, COL["none_rec"]] = (qap & items.target_none).astype(float)
    put("invalid", ones, items.invalid)
    put("error", ones, items.error)
    return num, den


def per_video_fusion_gain(items: ItemTable, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster (video): score(VAS) - max(score(V), score(A), score(S)) and a 0/1 defined flag.

    A video's tag score is the mean over its items with that RMT (captions: one item per tag).
    """
    code = np.searchsorted(clusters, items.video_id)
    c = len(clusters)
    tag_mean = {}
    for t in ("V", "A", "S", "VAS"):
        m = items.rmt == t
        tot = np.bincount(code[m], weights=items.score[m], minlength=c)
        cnt = np.bincount(code[m], minlength=c)
        with np.errstate(invalid="ignore", divide="ignore"):
            tag_mean[t] = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    best = np.maximum(np.maximum(tag_mean["V"], tag_mean["A"]), tag_mean["S"])
    gain = tag_mean["VAS"] - best
    ok = ~np.isnan(gain)
    return np.where(ok, gain, 0.0), ok.astype(float)


def cluster_sums(items: ItemTable, *, cluster: str = "video_id") -> ClusterSums:
    """Reduce an item table to per-cluster sums. ``cluster="doc_id"`` gives an iid bootstrap."""
    if cluster not in ("video_id", "doc_id"):
        raise ValueError(f"cluster must be 'video_id' or 'doc_id', not {cluster!r}")
    ids = items.video_id if cluster == "video_id" else items.doc_id
    clusters, code = np.unique(ids.astype(str), return_inverse=True)
    num_i, den_i = item_columns(items)
    c = len(clusters)
    num = np.empty((c, len(STAT_NAMES)))
    den = np.empty((c, len(STAT_NAMES)))
    for j in range(len(STAT_NAMES)):
        num[:, j] = np.bincount(code, weights=num_i[:, j], minlength=c)
        den[:, j] = np.bincount(code, weights=den_i[:, j], minlength=c)
    if items.task == "caption" and cluster == "video_id":
        num[:, COL["pvfg"]], den[:, COL["pvfg"]] = per_video_fusion_gain(items, clusters)
    return ClusterSums(clusters=clusters, num=num, den=den)


def ratios(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, NaN where the denominator is 0 (undefined, never a fake 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)


def derive(r: np.ndarray) -> dict[str, np.ndarray]:
    """Headline metrics from ratio arrays ``[..., K]``; each output has shape ``[...]``.

    NaN means undefined (a required tag is missing, a zero denominator); the results writer turns
    it into JSON null. Means over tags propagate NaN on purpose: ``avg_acc`` of six tags is not
    the seven-tag ``avg_acc``.
    """
    tags = np.stack([r[..., COL[f"tag:{t}"]] for t in TAG_NAMES], axis=-1)
    uni = tags[..., :3]
    multi = tags[..., 3:]
    present = ~np.isnan(tags)
    n_present = present.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_present = np.where(
            n_present > 0, np.where(present, tags, 0.0).sum(-1) / np.maximum(n_present, 1), np.nan
        )
    acc_uni = uni.mean(-1)
    acc_multi = multi.mean(-1)
    best_uni = uni.max(-1)
    fusion = acc_multi - best_uni
    prec = r[..., COL["none_prec"]]
    rec = r[..., COL["none_rec"]]
    exact = r[..., COL["cond:exact"]]
    return {
        "avg_acc": tags.mean(-1),
        "avg_acc_present": avg_present,
        "micro_acc": r[..., COL["all"]],
        "acc_uni": acc_uni,
        "acc_multi": acc_multi,
        "uni_multi_gap": np.abs(acc_uni - acc_multi),
        "modality_spread": tags.max(-1) - tags.min(-1),
        "fusion_gain": fusion,
        "fusion_gain_rel": _safe_div(fusion, best_uni),
        "abstention_rate": r[..., COL["abstain"]],
        "hallucination_rate": r[..., COL["halluc"]],
        "none_precision": prec,
        "none_recall": rec,
        "none_f1": _safe_div(2 * prec * rec, prec + rec),
        "superset_robustness": _safe_div(r[..., COL["cond:superset"]], exact),
        "invalid_rate": r[..., COL["invalid"]],
        "error_rate": r[..., COL["error"]],
        "per_video_fusion_gain": r[..., COL["pvfg"]],
    }


def point_ratios(sums: ClusterSums) -> np.ndarray:
    """Ratios ``[K]`` on the full sample."""
    return ratios(sums.num.sum(0), sums.den.sum(0))
