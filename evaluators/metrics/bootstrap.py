"""Clustered bootstrap intervals and the paired comparison of two runs (vectorised numpy).

Questions share videos, so items are not independent: resampling items (iid) gives intervals that
are too narrow. We resample whole videos with replacement: one resample is a vector of
multinomial counts over clusters, and every ratio statistic of every resample is one matrix
product ``weights[B, C] @ sums[C, K]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .definitions import CI_LEVEL
from .stats import COL, ClusterSums, derive, point_ratios, ratios


def resample_weights(n_clusters: int, n_bootstrap: int, seed: int) -> np.ndarray:
    """``[B, C]`` multinomial counts: how often each cluster is drawn in each resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(
        n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_bootstrap
    ).astype(float)


def percentile_ci(draws: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    """Percentile interval over the defined (non-NaN) resamples; NaNs if none is defined."""
    d = draws[~np.isnan(draws)]
    if d.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(d, [50 * (1 - level), 50 * (1 + level)])
    return (float(lo), float(hi))


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimates and bootstrap draws for every ratio statistic and headline metric."""

    point_ratios: np.ndarray
    """``[K]`` ratio statistics on the full sample (see ``stats.STAT_NAMES``)."""
    boot_ratios: np.ndarray
    """``[B, K]`` ratio statistics per resample."""
    point: dict[str, float]
    """Headline metrics on the full sample (NaN = undefined)."""
    boot: dict[str, np.ndarray]
    """Headline metrics per resample, ``[B]`` each."""
    n_bootstrap: int
    """Number of resamples."""
    seed: int
    """Seed of the resampling generator."""

    def ratio_ci(self, name: str) -> tuple[float, float]:
        """CI of one ratio statistic, e.g. ``"tag:VA"`` or ``"cond:deficit"``."""
        if np.isnan(self.point_ratios[COL[name]]):
            return (float("nan"), float("nan"))
        return percentile_ci(self.boot_ratios[:, COL[name]])

    def ci(self, metric: str) -> tuple[float, float]:
        """CI of one headline metric (NaN when the point estimate itself is undefined)."""
        if np.isnan(self.point[metric]):
            return (float("nan"), float("nan"))
        return percentile_ci(self.boot[metric])

    def stderr(self, metric: str) -> float:
        """Bootstrap standard error of a headline metric (NaN if undefined)."""
        d = self.boot[metric]
        d = d[~np.isnan(d)]
        if np.isnan(self.point[metric]) or d.size < 2:
            return float("nan")
        return float(d.std(ddof=1))


def bootstrap(sums: ClusterSums, *, n_bootstrap: int = 1000, seed: int = 0) -> BootstrapResult:
    """Clustered bootstrap of every statistic in ``sums`` (one shared set of resamples)."""
    pr = point_ratios(sums)
    point = {k: float(v) for k, v in derive(pr).items()}
    if n_bootstrap <= 0:
        br = np.empty((0, pr.size))
    else:
        w = resample_weights(sums.n_clusters, n_bootstrap, seed)
        br = ratios(w @ sums.num, w @ sums.den)
    return BootstrapResult(
        point_ratios=pr,
        boot_ratios=br,
        point=point,
        boot=derive(br),
        n_bootstrap=int(n_bootstrap),
        seed=int(seed),
    )


@dataclass(frozen=True)
class PairedResult:
    """Run B minus run A on the same items, with a clustered paired CI and a p-value."""

    metric: str
    """Headline metric compared (e.g. ``avg_acc``)."""
    a: float
    """Metric of run A (the base)."""
    b: float
    """Metric of run B (the new run)."""
    difference: float
    """``b - a``."""
    ci_low: float
    """Lower end of the 95% paired bootstrap interval of the difference."""
    ci_high: float
    """Upper end of that interval."""
    p_value: float
    """Two-sided sign-flip permutation p-value (runs swapped within whole videos)."""
    gap_a: float
    """``uni_multi_gap`` of run A."""
    gap_b: float
    """``uni_multi_gap`` of run B."""
    gap_reduction: float
    """``(gap_a - gap_b) / gap_a`` (NaN when gap_a is 0 or undefined)."""
    gap_reduction_ci: tuple[float, float]
    """Paired bootstrap 95% interval of gap_reduction."""
    n_items: int
    """Items compared (doc_ids)."""
    n_clusters: int
    """Videos (resampling units)."""
    n_bootstrap: int
    """Bootstrap resamples."""
    n_permutations: int
    """Sign-flip permutations."""
    seed: int
    """Seed of both generators."""


def _gap_reduction(ga: np.ndarray, gb: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ga != 0, (ga - gb) / np.where(ga != 0, ga, 1.0), np.nan)


def paired_compare(
    a: ClusterSums,
    b: ClusterSums,
    *,
    metric: str = "avg_acc",
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    seed: int = 0,
    n_items: int = 0,
) -> PairedResult:
    """Compare two runs whose cluster sums are aligned (same clusters, same items).

    CI: resample videos once and apply the same weights to both runs. p-value: under H0 the two
    runs are exchangeable within a video, so each permutation swaps A and B for a random subset
    of videos; sums stay linear in the flips: ``A* = tot_A + F @ (B - A)``.
    """
    if not np.array_equal(a.clusters, b.clusters):
        raise ValueError("the two runs are not clustered on the same videos; align them first")
    pa, pb = derive(point_ratios(a)), derive(point_ratios(b))
    if metric not in pa:
        raise ValueError(f"unknown metric {metric!r}; choose --metric from {', '.join(pa)}")
    va, vb = float(pa[metric]), float(pb[metric])
    diff = vb - va
    c = a.n_clusters
    w = resample_weights(c, n_bootstrap, seed)
    ba = derive(ratios(w @ a.num, w @ a.den))
    bb = derive(ratios(w @ b.num, w @ b.den))
    d_boot = bb[metric] - ba[metric]
    ci = percentile_ci(d_boot) if not np.isnan(diff) else (float("nan"), float("nan"))
    gr_boot = _gap_reduction(ba["uni_multi_gap"], bb["uni_multi_gap"])
    ga, gb = float(pa["uni_multi_gap"]), float(pb["uni_multi_gap"])
    gr = float(_gap_reduction(np.asarray(ga), np.asarray(gb)))
    gr_ci = percentile_ci(gr_boot) if not np.isnan(gr) else (float("nan"), float("nan"))
    # Sign-flip permutation test, clustered by video.
    rng = np.random.default_rng(seed + 1)
    flips = rng.integers(0, 2, size=(n_permutations, c)).astype(float)
    dn, dd = b.num - a.num, b.den - a.den
    ta_n, ta_d, tb_n, tb_d = a.num.sum(0), a.den.sum(0), b.num.sum(0), b.den.sum(0)
    fa = derive(ratios(ta_n + flips @ dn, ta_d + flips @ dd))[metric]
    fb = derive(ratios(tb_n - flips @ dn, tb_d - flips @ dd))[metric]
    d_perm = fb - fa
    if np.isnan(diff):
        p = float("nan")
    else:
        ok = ~np.isnan(d_perm)
        extreme = np.abs(d_perm[ok]) >= abs(diff) - 1e-12
        p = float((1 + extreme.sum()) / (1 + ok.sum()))
    return PairedResult(
        metric=metric,
        a=va,
        b=vb,
        difference=diff,
        ci_low=ci[0],
        ci_high=ci[1],
        p_value=p,
        gap_a=ga,
        gap_b=gb,
        gap_reduction=gr,
        gap_reduction_ci=gr_ci,
        n_items=int(n_items),
        n_clusters=c,
        n_bootstrap=int(n_bootstrap),
        n_permutations=int(n_permutations),
        seed=int(seed),
    )
