"""Questions whose required modality tag is true by construction, and their option sets.

A question tagged R asks about one asked kind per stream in R (a uni-stream question may ask two
kinds of its stream when one kind has too few values for the option count). Its options are
tuples of values of those kinds. Write ``t`` for the true tuple and, for a presentation P, call an
option *consistent* when it agrees with ``t`` on every kind carried by a stream in P (kinds of
absent streams are unknown). The option set must satisfy

- exact / superset (R <= P): exactly one option is consistent (the answer), and streams outside R
  carry no asked kind, so they cannot change it;
- deficit (R not <= P): at least two options are consistent, so "None" is the only honest answer.

For the deficit rule it is necessary and sufficient that, for every stream m in R, some option
differs from ``t`` only in the kinds of m (take P = R - {m}; smaller P only admit more options).

Two designs meet it:

- **grid** (preferred): the product of per-kind value sets D_k (t_k in D_k, 2 <= |D_k|) whose
  sizes multiply to the option count. Every value of a kind appears equally often, so option
  frequencies give nothing away to a model that does not look at the media.
- **star** (fallback when no factorisation exists, e.g. VAS with 4 options): t, one single-stream
  deviation per stream, then random fillers. Known weakness: t is then the most frequent value in
  each component (4 options, VAS: each true value is in 3 of 4 options). Use ``--num-options 8``
  for fully balanced VAS questions. Question metadata records ``option_design``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from maple_bench.modality import MODALITY_ORDER, PRESENTATIONS, Tag
from maple_bench.synth.attributes import ASKED_KINDS, KINDS, format_option


@dataclass(frozen=True)
class QuestionPlan:
    """A question before it is written out."""

    tag: Tag
    """Required modality tag (exactly the streams of ``kinds``)."""
    kinds: tuple[str, ...]
    """Asked kinds, canonical order."""
    options: tuple[tuple[Any, ...], ...]
    """Option value tuples aligned with ``kinds``, in display order."""
    answer_index: int
    """Position of the true tuple in ``options``."""
    design: str
    """``grid`` or ``star`` (see the module docstring)."""

    @property
    def question(self) -> str:
        if len(self.kinds) == 1:
            return KINDS[self.kinds[0]].question
        phrases = [KINDS[k].phrase for k in self.kinds]
        listed = ", ".join(phrases[:-1]) + " and " + phrases[-1]
        return f"Which option correctly gives {listed}?"

    @property
    def option_texts(self) -> tuple[str, ...]:
        return tuple(format_option(dict(zip(self.kinds, o))) for o in self.options)


def _factorisations(n: int, limits: Sequence[int]) -> list[tuple[int, ...]]:
    """All ways to write n as a product of len(limits) factors f_i with 2 <= f_i <= limits[i]."""
    if not limits:
        return [()] if n == 1 else []
    out: list[tuple[int, ...]] = []
    for f in range(2, min(n, limits[0]) + 1):
        if n % f == 0:
            out.extend((f, *rest) for rest in _factorisations(n // f, limits[1:]))
    return out


def _kind_choices(tag: Tag, n: int) -> list[tuple[str, ...]]:
    """Candidate kind tuples for a tag: one kind per stream; uni tags may also use two kinds."""
    per_stream = [ASKED_KINDS[m] for m in MODALITY_ORDER if m in tag]
    combos = [tuple(c) for c in itertools.product(*per_stream)]
    if tag.is_uni:
        singles = [c for c in combos if len(KINDS[c[0]].values) >= n]
        if singles:
            return singles
        kinds = per_stream[0]
        return [tuple(p) for p in itertools.combinations(kinds, 2)]
    return combos


def min_options(tag: Tag) -> int:
    """The fewest options that can satisfy the deficit rule: the truth plus one per stream."""
    return max(2, len(tag) + 1)


def plan_question(
    tag: Tag, truth: Mapping[str, Any], n: int, answer_index: int, rng: np.random.Generator
) -> QuestionPlan:
    """Pick kinds and an option set for ``tag`` meeting the rules in the module docstring."""
    if n < min_options(tag):
        raise ValueError(f"{tag} questions need at least {min_options(tag)} options; got {n}")
    choices = _kind_choices(tag, n)
    order = [int(i) for i in rng.permutation(len(choices))]
    chosen: tuple[str, ...] | None = None
    sizes: tuple[int, ...] | None = None
    for i in order:
        kinds = choices[i]
        limits = [len(KINDS[k].values) for k in kinds]
        facs = [(n,)] if len(kinds) == 1 and n <= limits[0] else _factorisations(n, limits)
        if facs:
            best = min(max(f) for f in facs)
            facs = [f for f in facs if max(f) == best]
            chosen, sizes = kinds, facs[int(rng.integers(len(facs)))]
            break
    if chosen is None:  # star: the first candidate with enough distinct tuples
        roomy = [choices[i] for i in order if _space(choices[i]) >= n]
        if not roomy:
            raise ValueError(f"{tag}: no kinds give {n} distinct options; use fewer options")
        chosen = roomy[0]
    t = tuple(truth[k] for k in chosen)
    if sizes is not None:
        design = "grid"
        domains = []
        for k, size, tv in zip(chosen, sizes, t):
            others = [v for v in KINDS[k].values if v != tv]
            picked = [others[int(j)] for j in rng.choice(len(others), size=size - 1, replace=False)]
            domains.append([tv, *picked])
        distractors = [o for o in itertools.product(*domains) if o != t]
    else:
        design = "star"
        distractors = _star_distractors(chosen, t, n, rng)
    kinds = chosen
    perm = [distractors[int(j)] for j in rng.permutation(len(distractors))]
    options = [*perm[:answer_index], t, *perm[answer_index:]]
    plan = QuestionPlan(tag, kinds, tuple(options), answer_index, design)
    check_plan(plan, truth)
    return plan


def _space(kinds: tuple[str, ...]) -> int:
    """How many distinct value tuples the kinds allow."""
    return int(np.prod([len(KINDS[k].values) for k in kinds]))


def _star_distractors(
    kinds: tuple[str, ...], t: tuple[Any, ...], n: int, rng: np.random.Generator
) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    streams = sorted({KINDS[k].stream for k in kinds}, key=MODALITY_ORDER.index)
    for m in streams:  # one option differing from t only in stream m
        dev = list(t)
        for i, k in enumerate(kinds):
            if KINDS[k].stream is m:
                others = [v for v in KINDS[k].values if v != t[i]]
                dev[i] = others[int(rng.integers(len(others)))]
        out.append(tuple(dev))
    while len(out) < n - 1:
        cand = tuple(KINDS[k].values[int(rng.integers(len(KINDS[k].values)))] for k in kinds)
        if cand != t and cand not in out:
            out.append(cand)
    return out


def consistent(
    kinds: Sequence[str], options: Sequence[Sequence[Any]], known: Mapping[str, Any]
) -> list[int]:
    """Indices of options agreeing with ``known`` on every kind it gives (others are unknown)."""
    return [
        i
        for i, o in enumerate(options)
        if all(known.get(k) is None or known[k] == v for k, v in zip(kinds, o))
    ]


def check_plan(plan: QuestionPlan, truth: Mapping[str, Any]) -> None:
    """Assert the exact/superset and deficit rules for all seven presentations."""
    if len(set(plan.options)) != len(plan.options):
        raise AssertionError(f"duplicate options in {plan}")
    if {KINDS[k].stream for k in plan.kinds} != set(plan.tag):
        raise AssertionError(f"kinds {plan.kinds} do not cover exactly the streams of {plan.tag}")
    for pres in PRESENTATIONS:
        known = {k: truth[k] for k in plan.kinds if KINDS[k].stream in pres}
        hits = consistent(plan.kinds, plan.options, known)
        if plan.tag <= pres:
            if hits != [plan.answer_index]:
                raise AssertionError(f"{plan.tag} shown as {pres}: consistent {hits}")
        elif len(hits) < 2:
            raise AssertionError(f"{plan.tag} shown as {pres}: only {hits} consistent")


def answer_positions(count: int, n: int, rng: np.random.Generator) -> list[int]:
    """Balanced answer positions: consecutive blocks of n are permutations of 0..n-1, so each
    position is used count // n or count // n + 1 times."""
    blocks = [rng.permutation(n) for _ in range(-(-count // n))]
    return [int(x) for x in np.concatenate(blocks)[:count]]
