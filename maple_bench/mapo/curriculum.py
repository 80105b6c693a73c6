"""Curricula over required-modality tags: which tags a batch may draw from, in what order.

- ``none``: every tag, always.
- ``static``: uni-modal tags first, then bi-modal, then the tri-modal tag, switching at the
  fractions of training given by ``boundaries`` (default 1/3, 2/3). ``cumulative=True`` keeps the
  earlier levels in the pool (uni -> uni+bi -> all) so the policy does not forget them.
- ``dynamic``: all tags, ordered by current difficulty (hardest first), and per-tag batch quotas
  proportional to the adaptive weights, so harder tags come earlier and more often.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

CURRICULA = ("none", "static", "dynamic")


def static_stage(progress: float, boundaries: Sequence[float] = (1 / 3, 2 / 3)) -> int:
    """0, 1 or 2: the number of boundaries that ``progress`` (0..1 of training) has passed."""
    if list(boundaries) != sorted(boundaries):
        raise ValueError(f"curriculum boundaries must be increasing, got {list(boundaries)}")
    return sum(progress >= b for b in boundaries)


def static_sizes(stage: int, *, cumulative: bool = True) -> tuple[int, ...]:
    """Tag sizes |R| allowed at ``stage`` (0 -> uni, 1 -> bi, 2 -> tri)."""
    if cumulative:
        return tuple(range(1, stage + 2))
    return (stage + 1,)


def dynamic_order(difficulties: Mapping[str, float], order: Sequence[str]) -> list[str]:
    """Tags sorted hardest first; ties keep the canonical ``order``."""
    rank = {t: i for i, t in enumerate(order)}
    return sorted(difficulties, key=lambda t: (-difficulties[t], rank.get(t, len(rank))))


def quotas(weights: Mapping[str, float], total: int, order: Sequence[str]) -> dict[str, int]:
    """Integer per-tag counts summing to ``total``, proportional to ``weights``.

    Largest-remainder rounding; ties broken by ``order`` so the result is deterministic.
    """
    tags = [t for t in order if weights.get(t, 0) > 0]
    s = sum(weights[t] for t in tags)
    if not tags or total <= 0:
        return {}
    exact = {t: total * weights[t] / s for t in tags}
    out = {t: int(exact[t]) for t in tags}
    rest = total - sum(out.values())
    by_rem = sorted(tags, key=lambda t: (-(exact[t] - out[t]), order.index(t)))
    for t in by_rem[:rest]:
        out[t] += 1
    return out
