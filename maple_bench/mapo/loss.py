"""The clipped policy-gradient surrogate and its aggregation over tokens and completions.

Per token t of completion j (ratio rho = exp(logp - old_logp), advantage A_j):

    loss_jt = -min(rho * A_j, clip(rho, 1 - eps_low, 1 + eps_high) * A_j)  [+ beta * kl_jt]

Aggregation (``mode``), with c_j the per-completion weight (1, or the adaptive stratum weight)
and the *global* counts of kept completions N and kept tokens T over the whole optimizer step
(all micro-batches, all processes), so that neither filtering nor gradient accumulation changes
the scale of the gradient:

- ``sample``: sum_j c_j * mean_t(loss_jt) / N  (the paper's choice: each completion counts once);
- ``token``:  sum_j c_j * sum_t(loss_jt) / T   (DAPO: each token counts once);
- ``constant``: sum_j c_j * sum_t(loss_jt) / (N * L_max)  (Dr. GRPO: a fixed length budget).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

AGGREGATIONS = ("sample", "token", "constant")


@dataclass(frozen=True)
class SurrogateOut:
    """Per-token pieces of the clipped surrogate."""

    loss: torch.Tensor
    """[N, L] per-token surrogate loss (not masked)."""
    ratio: torch.Tensor
    """[N, L] importance ratio exp(logp - old_logp)."""
    clipped_low: torch.Tensor
    """[N, L] bool: ratio below 1 - eps_low with a negative advantage (gradient cut)."""
    clipped_high: torch.Tensor
    """[N, L] bool: ratio above 1 + eps_high with a positive advantage (gradient cut)."""


def clipped_surrogate(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    *,
    eps_low: float = 0.2,
    eps_high: float = 0.28,
) -> SurrogateOut:
    """Asymmetric PPO clip (DAPO's clip-higher): ratio kept in [1 - eps_low, 1 + eps_high]."""
    adv = advantages.reshape(-1, *([1] * (logp.dim() - 1))).to(logp.dtype)
    ratio = torch.exp(logp - old_logp.detach())
    clipped = torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)
    loss = -torch.minimum(ratio * adv, clipped * adv)
    r = ratio.detach()
    return SurrogateOut(
        loss=loss,
        ratio=r,
        clipped_low=(r < 1.0 - eps_low) & (adv < 0),
        clipped_high=(r > 1.0 + eps_high) & (adv > 0),
    )


def aggregate(
    per_token: torch.Tensor,
    mask: torch.Tensor,
    *,
    mode: str,
    num_samples: float,
    num_tokens: float,
    max_len: int,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Reduce a [N, L] per-token loss to a scalar; see the module docstring for the formulas."""
    if mode not in AGGREGATIONS:
        raise ValueError(f"unknown loss aggregation {mode!r}; valid: {', '.join(AGGREGATIONS)}")
    m = mask.to(per_token.dtype)
    c = (
        torch.ones(per_token.shape[0], dtype=per_token.dtype, device=per_token.device)
        if weights is None
        else weights.to(per_token.dtype)
    )
    per_sample_sum = (per_token * m).sum(dim=-1)
    if mode == "sample":
        per_sample = per_sample_sum / m.sum(dim=-1).clamp(min=1.0)
        return (c * per_sample).sum() / max(num_samples, 1.0)
    if mode == "token":
        return (c * per_sample_sum).sum() / max(num_tokens, 1.0)
    return (c * per_sample_sum).sum() / max(num_samples * max_len, 1.0)


def clip_fractions(out: SurrogateOut, mask: torch.Tensor) -> dict[str, float]:
    """Counts for the metrics log: masked tokens clipped low / high and the token total."""
    m = mask.bool()
    return {
        "clip_low_count": float((out.clipped_low & m).sum()),
        "clip_high_count": float((out.clipped_high & m).sum()),
        "token_count": float(m.sum()),
    }
