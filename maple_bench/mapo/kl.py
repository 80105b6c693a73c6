"""KL penalty to an optional frozen reference policy (Schulman's k3 estimator).

Per token, with d = logp_ref - logp:  k3 = exp(d) - d - 1 >= 0. It is an unbiased estimator of
KL(pi || pi_ref) under samples from pi and, unlike log(pi / pi_ref), never negative. MAPO's
default is beta = 0 (no reference model is loaded at all).
"""

from __future__ import annotations

import torch


def k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(pi || pi_ref); gradients flow through ``logp`` only."""
    d = ref_logp.detach() - logp
    return torch.exp(d) - d - 1.0
