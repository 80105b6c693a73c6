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

A group or stratum with fewer than ``min_size`` members falls back to the batch statistics, so
one stray sample of a rare tag is not normalised by a meaningless std of one value.
"""

from __future__ import annotations

import torch

ADVANTAGE_MODES = ("global", "group", "stratum", "group_stratum")


def _segment_stats(
    values: torch.Tensor, ids: torch.Tensor, min_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-element (mean, std) of the segment each element belongs to, with batch fallback."""
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
) -> torch.Tensor:
    """Advantages A_j for a flat batch of rewards (shape [N]); returned as float32.

    ``scale=False`` skips the division by the std (Dr. GRPO style centring only).
    """
    if mode not in ADVANTAGE_MODES:
        raise ValueError(f"unknown advantage mode {mode!r}; valid: {', '.join(ADVANTAGE_MODES)}")
    r = rewards.detach().to(torch.float64).flatten()
    n = r.numel()
    if n == 0:
        return rewards.new_zeros(0, dtype=torch.float32)
    if mode in ("group", "group_stratum") and groups is None:
        raise ValueError(f"advantage mode {mode!r} needs the prompt id of every completion")
    if mode in ("stratum", "group_stratum") and strata is None:
        raise ValueError(f"advantage mode {mode!r} needs the stratum (RMT) of every completion")
    one = torch.zeros(n, dtype=torch.long)
    if mode == "global":
        mean, std = _segment_stats(r, one, min_size=1)
    elif mode == "group":
        assert groups is not None  # checked above
        mean, std = _segment_stats(r, groups.flatten(), min_size)
    elif mode == "stratum":
        assert strata is not None  # checked above
        mean, std = _segment_stats(r, strata.flatten(), min_size)
    else:  # group_stratum
        assert groups is not None and strata is not None  # checked above
        mean, _ = _segment_stats(r, groups.flatten(), min_size)
        _, std = _segment_stats(r, strata.flatten(), min_size)
    adv = r - mean
    if scale:
        adv = adv / (std + eps)
    return adv.to(torch.float32)


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
