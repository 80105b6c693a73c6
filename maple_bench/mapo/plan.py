"""The per-batch plans both MAPO trainers compose (``MapoTrainer`` and ``MapoGRPOTrainer``).

- :func:`curriculum_plan`: which strata the next batch may draw from, their quota weights and the
  round-robin order (the curriculum, ARCHITECTURE.md section 4).
- :func:`rollout_plan`: for a scored global batch, filter + advantages, then adaptive stratum
  weights from the shares of the rows that enter the loss, then the reward-window update.

Written once here so the two trainers cannot drift apart; ``tests/test_mapo_trl.py``'s golden
parity tests pin that they produce the same batches and advantages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from maple_bench.mapo.advantages import filtered_advantages
from maple_bench.mapo.curriculum import dynamic_order, static_sizes, static_stage
from maple_bench.mapo.weights import RewardWindow, adaptive_weights
from maple_bench.modality import TAG_NAMES

Plan = tuple[set[str] | None, Mapping[str, float] | None, Sequence[str] | None]
"""(allowed strata or None for all, quota weights or None, round-robin order or None)."""


class PlanConfig(Protocol):
    """The config keys the plans read (``MapoConfig`` and ``MapoGRPOConfig`` both have them)."""

    @property
    def advantages(self) -> str: ...
    @property
    def filter(self) -> str | None: ...
    @property
    def adv_eps(self) -> float: ...
    @property
    def min_stratum_size(self) -> int: ...
    @property
    def scale_advantages(self) -> bool: ...
    @property
    def adaptive_weights(self) -> bool: ...
    @property
    def weight_tau(self) -> float: ...
    @property
    def weight_min(self) -> float: ...
    @property
    def weight_max(self) -> float: ...
    @property
    def curriculum(self) -> str: ...
    @property
    def curriculum_boundaries(self) -> Sequence[float]: ...
    @property
    def curriculum_cumulative(self) -> bool: ...


def _weights(
    cfg: PlanConfig, difficulties: Mapping[str, float], shares: Mapping[str, float]
) -> dict[str, float]:
    return adaptive_weights(
        difficulties, shares, tau=cfg.weight_tau, w_min=cfg.weight_min, w_max=cfg.weight_max
    )


def curriculum_plan(
    cfg: PlanConfig,
    *,
    progress: float,
    order: Sequence[str],
    counts: Mapping[str, float],
    window: RewardWindow,
) -> Plan:
    """The next batch's plan under ``cfg.curriculum``.

    ``progress`` is the fraction of training done (static stages), ``order`` the canonical order
    of the strata present, ``counts`` their number of prompts in the dataset (dynamic quotas are
    share * adaptive weight, the order hardest first).
    """
    if cfg.curriculum == "static":
        stage = static_stage(progress, cfg.curriculum_boundaries)
        sizes = static_sizes(stage, cumulative=cfg.curriculum_cumulative)
        return {t for t in TAG_NAMES if len(t) in sizes}, None, None
    if cfg.curriculum == "dynamic":
        total = sum(counts[t] for t in order)
        shares = {t: counts[t] / total for t in order}
        d = window.difficulties(order)
        w = _weights(cfg, d, shares)
        return None, {t: shares[t] * w[t] for t in order}, dynamic_order(d, order)
    return None, None, None


@dataclass(frozen=True)
class RolloutPlan:
    """What one scored global batch yields for the loss."""

    adv: torch.Tensor
    """Advantage per row (0 for filtered rows)."""
    keep: torch.Tensor
    """Rows kept by the filter (bool)."""
    loss: torch.Tensor
    """Rows that enter the loss: kept and not in ``drop`` (bool)."""
    weights: dict[str, float] | None
    """Adaptive stratum weights w_M, or None when ``cfg.adaptive_weights`` is off."""


def rollout_plan(
    cfg: PlanConfig,
    rewards: torch.Tensor,
    names: Sequence[str],
    *,
    groups: torch.Tensor,
    strata: torch.Tensor,
    window: RewardWindow,
    drop: torch.Tensor | None = None,
) -> RolloutPlan:
    """Filter + advantages over the global batch, adaptive weights from the shares of the loss
    rows (difficulties from the window *before* this batch), then this batch's rewards enter
    ``window`` (the one side effect).

    ``names`` is each row's stratum name and ``strata`` its integer id; ``drop`` marks kept rows
    that still skip the loss (truncated completions).
    """
    adv, keep = filtered_advantages(
        rewards,
        mode=cfg.advantages,
        filter=cfg.filter or "none",
        groups=groups,
        strata=strata,
        eps=cfg.adv_eps,
        min_size=cfg.min_stratum_size,
        scale=cfg.scale_advantages,
    )
    loss = keep if drop is None else keep & ~drop
    weights = None
    if cfg.adaptive_weights:
        kept = [s for s, k in zip(names, loss.tolist()) if k]
        # first-appearance order, not set order: the float sums must not depend on string hashing
        shares = {s: kept.count(s) / len(kept) for s in dict.fromkeys(kept)}
        weights = _weights(cfg, window.difficulties(shares), shares)
    window.update(names, rewards.tolist())
    return RolloutPlan(adv, keep, loss, weights)
