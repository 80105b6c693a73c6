"""Adaptive stratum weights from per-tag difficulty (ARCHITECTURE.md section 4).

For every required tag M we keep a sliding window of recent rewards. Its empirical success
distribution is p_emp = Beta(1 + successes, 1 + failures); the difficulty is the closed-form
D_M = KL(p_emp || Beta(100, 1)), Beta(100, 1) meaning "nearly always right". D is tens to ~100
nats, so the softmax temperature is scale-free:

    w_M  proportional to  exp(D_M / (tau * mean_M D_M))

then clipped to [w_min, w_max] and renormalised so that sum_M p_M w_M = 1 with p_M the stratum's
share of the batch: the overall step size is unchanged, harder tags get more weight. How w_M
enters the gradient estimator is :func:`per_sample_weights`' ``mode`` (g_MA by default). The final
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


STRATUM_WEIGHTINGS = ("g_ma", "balanced", "proportional")


def per_sample_weights(
    strata: Sequence[str],
    weights: Mapping[str, float] | None,
    *,
    mode: str = "g_ma",
    keep: torch.Tensor | Sequence[bool] | None = None,
) -> torch.Tensor:
    """c_j (float32 [N]) for every completion from its stratum's weight w_M (1 when ``weights``
    is None or lacks the tag); rows with ``keep`` False get 0 and do not count anywhere.

    The loss divides sum_j c_j l_j by N, the number of kept rows (``loss.aggregate``'s
    ``num_samples``), so pass exactly the rows of one optimizer step (the global mini-batch);
    |B_M| below counts the kept rows of stratum M among them and K the strata present.

    - ``g_ma`` (default, ARCHITECTURE.md section 4): c_j = w_M * N / |B_M|, so the loss is
      sum_M w_M (1/|B_M|) sum_{j in B_M} l_j: the estimator g_MA as defined (every stratum's mean
      counts with weight w_M, whatever its share of the batch).
    - ``balanced``: c_j = w_M * N / (K |B_M|): g_MA divided by K (strata count equally, the step
      size of a batch mean).
    - ``proportional``: c_j = w_M: sum_M p_M w_M mean_M with p_M = |B_M| / N, the plain batch mean
      when w = 1 (the modality-unaware estimator; before 2026-11 this was the default).
    """
    if mode not in STRATUM_WEIGHTINGS:
        raise ValueError(
            f"unknown stratum weighting {mode!r}; valid: {', '.join(STRATUM_WEIGHTINGS)}"
        )
    n_all = len(strata)
    kept = [True] * n_all if keep is None else [bool(k) for k in torch.as_tensor(keep).tolist()]
    if len(kept) != n_all:
        raise ValueError(f"keep has {len(kept)} entries for {n_all} strata")
    w = torch.tensor(
        [
            (1.0 if weights is None else weights.get(s, 1.0)) if k else 0.0
            for s, k in zip(strata, kept)
        ],
        dtype=torch.float64,
    )
    if mode != "proportional" and any(kept):
        counts: dict[str, int] = {}
        for s, k in zip(strata, kept):
            if k:
                counts[s] = counts.get(s, 0) + 1
        n = sum(counts.values())
        div = 1 if mode == "g_ma" else len(counts)
        w = w * torch.tensor(
            [n / (div * counts[s]) if k else 0.0 for s, k in zip(strata, kept)],
            dtype=torch.float64,
        )
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
