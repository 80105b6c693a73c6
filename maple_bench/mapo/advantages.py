"""Advantage estimators for GRPO-family training: modality-unaware and modality-aware.

All functions are pure tensor maths on a flat batch of N completions (G per prompt). ``groups``
holds each completion's prompt id and ``strata`` its stratum id (the integer index of the sample's
*required* modality tag, never of its presentation). Statistics use the population standard
deviation (``unbiased=False``): with G = 2 completions rewarded 1 and 0 the group std is 0.5, not
0.707; TRL uses the unbiased one. The choice only rescales advantages by sqrt(G / (G - 1)).

Modes (ARCHITECTURE.md section 4):

- ``global``: one mean and std over the whole mixed batch (MUPO, modality-unaware);
- ``group``: per-prompt mean and std (standard GRPO);
- ``stratum``: mean and std within the sample's RMT stratum (MAPO);
- ``group_stratum``: per-prompt mean, stratum std.

Fallback (our choice, documented in ARCHITECTURE.md section 4): a *stratum* with fewer than
``min_size`` members uses the batch statistics, so one stray sample of a rare tag is not
normalised by a meaningless std of one value. A *group* never falls back: its statistics are its
own, so ``group`` mode stays per-prompt GRPO whatever the group size (a group of one completion
has advantage 0, no signal; the trainer's config refuses ``group_size < 2`` for group modes).
Before 2026-11 a small group silently used the batch statistics, which turned ``group`` into
``global`` for G < ``min_size``.

Filtering (``keep``): zero-variance filtering is only free of side effects for per-group
advantages. Under ``stratum`` / ``global`` advantages a group with equal rewards still has a
non-zero advantage, so the statistics are computed over the *kept* rows only (the DAPO reading:
filter, then normalise); dropped rows get advantage 0. :func:`filtered_advantages` does both
steps in the one consistent order; never normalise over all rows and then drop some of them.
"""

from __future__ import annotations

import torch

from maple_bench.mapo.filtering import keep_mask

ADVANTAGE_MODES = ("global", "group", "stratum", "group_stratum")


def _segment_stats(
    values: torch.Tensor, ids: torch.Tensor, min_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-element (mean, std) of the segment each element belongs to.

    A segment with fewer than ``min_size`` members gets the statistics of all of ``values``
    (``min_size <= 1`` disables the fallback).
    """
    values = values.to(torch.float64)
    ids = ids.to(torch.long)
    _, inverse = torch.unique(ids, return_inverse=True)
    k = int(inverse.max().item()) + 1 if inverse.numel() else 0
    count = torch.zeros(k, dtype=torch.float64).index_add_(0, inverse, torch.ones_like(values))
    total = torch.zeros(k, dtype=torch.float64).index_add_(0, inverse, values)
    mean = total / count
    sq = torch.zeros(k, dtype=torch.float64).index_add_(0, inverse, (values - mean[inverse]) ** 2)
    std = (sq / count).sqrt()
    small = count < min_size
    batch_mean = values.mean()
    batch_std = values.std(unbiased=False) if values.numel() > 1 else values.new_zeros(())
    mean = torch.where(small, batch_mean, mean)
    std = torch.where(small, batch_std, std)
    return mean[inverse], std[inverse]


def compute_advantages(
    rewards: torch.Tensor,
    *,
    mode: str,
    groups: torch.Tensor | None = None,
    strata: torch.Tensor | None = None,
    eps: float = 1e-6,
    min_size: int = 2,
    scale: bool = True,
    keep: torch.Tensor | None = None,
) -> torch.Tensor:
    """Advantages A_j for a flat batch of rewards (shape [N]); returned as float32 [N].

    ``min_size`` is the smallest *stratum* that keeps its own statistics (smaller ones, and the
    batch-wide fallback, use the statistics of the kept batch); groups never fall back.
    ``scale=False`` skips the division by the std (Dr. GRPO style centring only).
    ``keep`` (bool [N], default all): only kept rows enter any statistic; the others get 0.
    """
    if mode not in ADVANTAGE_MODES:
        raise ValueError(f"unknown advantage mode {mode!r}; valid: {', '.join(ADVANTAGE_MODES)}")
    r_all = rewards.detach().to(torch.float64).flatten()
    n_all = r_all.numel()
    if mode in ("group", "group_stratum") and groups is None:
        raise ValueError(f"advantage mode {mode!r} needs the prompt id of every completion")
    if mode in ("stratum", "group_stratum") and strata is None:
        raise ValueError(f"advantage mode {mode!r} needs the stratum (RMT) of every completion")
    kept = (
        torch.ones(n_all, dtype=torch.bool)
        if keep is None
        else keep.detach().to(torch.bool).flatten().cpu()
    )
    if kept.numel() != n_all:
        raise ValueError(f"keep has {kept.numel()} entries for {n_all} rewards")
    out = torch.zeros(n_all, dtype=torch.float32)
    if not bool(kept.any()):
        return out
    r = r_all[kept]
    g = groups.flatten().cpu()[kept] if groups is not None else None
    s = strata.flatten().cpu()[kept] if strata is not None else None
    one = torch.zeros(r.numel(), dtype=torch.long)
    if mode == "global":
        mean, std = _segment_stats(r, one, min_size=1)
    elif mode == "group":
        assert g is not None  # checked above
        mean, std = _segment_stats(r, g, min_size=1)
    elif mode == "stratum":
        assert s is not None  # checked above
        mean, std = _segment_stats(r, s, min_size)
    else:  # group_stratum
        assert g is not None and s is not None  # checked above
        mean, _ = _segment_stats(r, g, min_size=1)
        _, std = _segment_stats(r, s, min_size)
    adv = r - mean
    if scale:
        # a segment of equal rewards has r - mean = 0 and std = 0: its advantage is 0 (not 0/0)
        adv = torch.where(std > 0, adv / (std + eps), torch.zeros_like(adv))
    out[kept] = adv.to(torch.float32)
    return out


def filtered_advantages(
    rewards: torch.Tensor,
    *,
    mode: str,
    filter: str,
    groups: torch.Tensor,
    strata: torch.Tensor | None = None,
    eps: float = 1e-6,
    min_size: int = 2,
    scale: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(advantages float32 [N], keep bool [N]): zero-variance filter first, then normalise.

    ``filter`` is a :data:`maple_bench.mapo.filtering.FILTER_MODES` value; ``early`` and
    ``late`` give the same advantages (they differ only in whether dropped rows still run the
    loss forward pass). Dropped rows get advantage 0. This is the one order that is consistent
    with every advantage mode (see the module docstring).
    """
    keep = keep_mask(rewards, groups, filter)
    adv = compute_advantages(
        rewards,
        mode=mode,
        groups=groups,
        strata=strata,
        eps=eps,
        min_size=min_size,
        scale=scale,
        keep=keep,
    )
    return adv, keep


def advantage_stats(adv: torch.Tensor) -> dict[str, float]:
    """Summary of an advantage vector for the metrics log."""
    if adv.numel() == 0:
        return {"adv_mean": float("nan"), "adv_std": float("nan"), "adv_abs_mean": float("nan")}
    a = adv.detach().to(torch.float64)
    return {
        "adv_mean": float(a.mean()),
        "adv_std": float(a.std(unbiased=False)),
        "adv_abs_mean": float(a.abs().mean()),
        "adv_min": float(a.min()),
        "adv_max": float(a.max()),
    }
