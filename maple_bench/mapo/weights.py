"""Adaptive stratum weights from per-tag difficulty (ARCHITECTURE.md section 4).

For every required tag M we keep a sliding window of recent rewards. Its empirical success
distribution is p_emp = Beta(1 + successes, 1 + failures); the difficulty is the closed-form
D_M = KL(p_emp || Beta(100, 1)), Beta(100, 1) meaning "nearly always right". D is tens to ~100
nats, so the softmax temperature is scale-free:

    w_M  proportional to  exp(D_M / (tau * mean_M D_M))

then clipped to [w_min, w_max] and renormalised so that sum_M p_M w_M = 1 with p_M the stratum's
share of the batch: the overall step size is unchanged, harder tags get more weight. The final
renormalisation can move a weight slightly outside the clip range; we accept that rather than
iterate, because the step-size invariant is the one that matters.

Rewards in (0, 1) (a format bonus) count as fractional successes: s = sum r, f = n - sum r.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import SupportsInt, cast

import torch

TARGET = (100.0, 1.0)


def beta_kl(a1: float, b1: float, a2: float, b2: float) -> float:
    """KL(Beta(a1, b1) || Beta(a2, b2)) in nats, closed form via log-Beta and digamma."""
    t = torch.tensor([a1, b1, a2, b2], dtype=torch.float64)
    a1_, b1_, a2_, b2_ = t

    def log_beta(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)

    kl = (
        log_beta(a2_, b2_)
        - log_beta(a1_, b1_)
        + (a1_ - a2_) * torch.digamma(a1_)
        + (b1_ - b2_) * torch.digamma(b1_)
        + (a2_ - a1_ + b2_ - b1_) * torch.digamma(a1_ + b1_)
    )
    return float(kl)


def difficulty(successes: float, failures: float, target: tuple[float, float] = TARGET) -> float:
    """D = KL(Beta(1 + s, 1 + f) || Beta(target)): large when the tag is often failed."""
    return beta_kl(1.0 + successes, 1.0 + failures, *target)


def adaptive_weights(
    difficulties: Mapping[str, float],
    shares: Mapping[str, float],
    *,
    tau: float = 1.0,
    w_min: float = 0.5,
    w_max: float = 2.0,
) -> dict[str, float]:
    """Stratum weights for the tags in ``shares`` (batch shares p_M, summing to 1)."""
    tags = [t for t in shares if shares[t] > 0]
    if not tags:
        return {}
    d = torch.tensor([difficulties[t] for t in tags], dtype=torch.float64)
    p = torch.tensor([shares[t] for t in tags], dtype=torch.float64)
    p = p / p.sum()
    scale = tau * d.mean()
    z = d / scale if scale > 0 else torch.zeros_like(d)
    raw = torch.exp(z - z.max())  # shift for stability; the renormalisation removes it
    w = raw / (p * raw).sum()
    w = w.clamp(w_min, w_max)
    w = w / (p * w).sum()
    return {t: float(v) for t, v in zip(tags, w)}


def per_sample_weights(
    strata: Sequence[str], weights: Mapping[str, float] | None, *, mode: str = "proportional"
) -> torch.Tensor:
    """c_j for every completion from its stratum's weight.

    ``proportional``: c_j = w_M (the loss is then (1/N) sum_j w_M A_j grad log pi, i.e. the
    g_MA sum with each stratum mean weighted by p_M w_M; with w = 1 it is the plain batch mean).
    ``balanced``: c_j = w_M * N / (K |B_M|), K the number of strata present, which is the
    literal g_MA = sum_M w_M (1/|B_M|) sum_j ... divided by K (every stratum counts equally).
    """
    if mode not in ("proportional", "balanced"):
        raise ValueError(f"unknown stratum weighting {mode!r}; valid: proportional, balanced")
    n = len(strata)
    w = torch.tensor([1.0 if weights is None else weights.get(s, 1.0) for s in strata])
    if mode == "balanced" and n:
        counts: dict[str, int] = {}
        for s in strata:
            counts[s] = counts.get(s, 0) + 1
        k = len(counts)
        w = w * torch.tensor([n / (k * counts[s]) for s in strata])
    return w.to(torch.float32)


class RewardWindow:
    """Sliding window of recent rewards per tag; its state is JSON-able for checkpoints."""

    def __init__(self, size: int = 512, tags: Iterable[str] = ()) -> None:
        self.size = size
        self._r: dict[str, deque[float]] = {t: deque(maxlen=size) for t in tags}

    def update(self, tags: Sequence[str], rewards: Sequence[float]) -> None:
        for t, r in zip(tags, rewards):
            self._r.setdefault(t, deque(maxlen=self.size)).append(float(r))

    def counts(self, tag: str) -> tuple[float, float]:
        """(successes, failures) in the window of ``tag``."""
        r = self._r.get(tag, ())
        s = float(sum(r))
        return s, float(len(r)) - s

    def difficulties(self, tags: Iterable[str]) -> dict[str, float]:
        """D_M per tag; a tag with no rewards yet has the prior's difficulty KL(U || target)."""
        return {t: difficulty(*self.counts(t)) for t in tags}

    def state_dict(self) -> dict[str, object]:
        return {"size": self.size, "rewards": {t: list(v) for t, v in self._r.items()}}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        self.size = int(cast("SupportsInt | str", state["size"]))
        rewards = state["rewards"]
        assert isinstance(rewards, Mapping)
        self._r = {t: deque((float(x) for x in v), maxlen=self.size) for t, v in rewards.items()}
