"""Audit a labelled set for bad items: answer leakage, near-duplicates, option-length bias,
tag imbalance, and disagreement between proposed and labelled tags.

Each check is a function from items to :class:`Finding` rows, so a check can be run alone and a
new one added without touching the others. Items are the canonical questions: when a table holds
several presentations of a question (MAPLE-QA+), its exact, non-replaced row stands for it.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maple_bench.modality import ALL_TAGS, Condition, parse_tag
from maple_bench.schema import NONE_OPTION, Sample
from maple_bench.scoring import normalize


@dataclass(frozen=True)
class Finding:
    """One problem found by one check."""

    check: str
    """Name of the check (``leakage``, ``near_duplicate``, ``option_length_bias``, ...)."""
    message: str
    """What is wrong and what to do about it."""
    item_id: str | None = None
    """The item at fault; None for set-level findings."""
    severity: str = "warning"
    """``error`` (the item is wrong as labelled) or ``warning`` (worth a look)."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Numbers behind the finding."""


def canonical_items(samples: Iterable[Sample]) -> list[Sample]:
    """One sample per question: the exact, non-replaced presentation when there is one."""
    best: dict[str, Sample] = {}
    for s in samples:
        if s.task != "qa":
            continue
        qid = s.question_id or s.id
        good = s.condition is Condition.EXACT and s.none_reason is None
        if qid not in best or (
            good and not (best[qid].condition is Condition.EXACT and best[qid].none_reason is None)
        ):
            best[qid] = s
    return [s for s in best.values() if s.answer is not None and s.answer != NONE_OPTION]


def _subtitle_text(s: Sample, media_root: Path | None) -> str:
    if s.subtitle_text:
        return s.subtitle_text
    if s.media.subtitle and media_root is not None:
        from maple_bench.media import read_subtitles, resolve_media_path

        return read_subtitles(resolve_media_path(media_root, s.media.subtitle))
    return ""


def check_leakage(items: Sequence[Sample], media_root: Path | None = None) -> list[Finding]:
    """The correct option's text appears in the subtitles of an item whose RMT lacks S."""
    out = []
    for s in items:
        if s.rmt.has_subtitles or not s.answer:
            continue
        subs = normalize(_subtitle_text(s, media_root))
        ans = normalize(s.answer)
        if ans and subs and f" {ans} " in f" {subs} ":
            out.append(
                Finding(
                    "leakage",
                    f"the answer {s.answer!r} is spelled out in the subtitles, but the item is "
                    f"tagged {s.rmt.name} (no S): the tag is wrong or the subtitles leak the answer",
                    item_id=s.question_id or s.id,
                    severity="error",
                    details={"rmt": s.rmt.name},
                )
            )
    return out


def check_near_duplicates(
    items: Sequence[Sample], *, threshold: float = 0.9, min_option_overlap: float = 0.5
) -> list[Finding]:
    """Two items on one video that ask the same thing.

    Templated questions are normal in MAPLE: the same question with the same options on two
    videos is two items (the answer depends on the video). Within a video, two items are
    near-duplicates when their questions are at least ``threshold`` similar AND they share at
    least ``min_option_overlap`` of their options (Jaccard); identical ones score 1.0 on both.
    """
    out: list[Finding] = []
    flagged: set[str | None] = set()
    by_video: dict[str, list[Sample]] = defaultdict(list)
    for s in items:
        by_video[s.video_id].append(s)
    for group in by_video.values():
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                a, b = group[i], group[j]
                qa_, qb = a.question_id or a.id, b.question_id or b.id
                if qb in flagged:
                    continue
                ratio = difflib.SequenceMatcher(
                    None, normalize(a.question), normalize(b.question)
                ).ratio()
                oa, ob = {normalize(o) for o in a.options}, {normalize(o) for o in b.options}
                overlap = len(oa & ob) / len(oa | ob)
                if ratio >= threshold and overlap >= min_option_overlap:
                    flagged.add(qb)
                    out.append(
                        Finding(
                            "near_duplicate",
                            f"question is {ratio:.0%} similar to item {qa_!r} on the same video "
                            f"and shares {overlap:.0%} of its options: keep one",
                            item_id=qb,
                            details={
                                "other": qa_,
                                "similarity": round(ratio, 4),
                                "option_overlap": round(overlap, 4),
                            },
                        )
                    )
    return out


def check_option_length_bias(items: Sequence[Sample], *, z_threshold: float = 3.0) -> list[Finding]:
    """Is the correct option the (strictly) longest more often than chance predicts?

    Under the null the answer is equally likely to be any option, so item i contributes
    p_i = 1/n_i when it has a unique longest option (else 0). The count of items whose answer is
    that longest option is compared with sum p_i by a normal approximation to the Poisson-binomial.
    """
    observed, mean, var = 0, 0.0, 0.0
    for s in items:
        opts = [o for o in s.options if o != NONE_OPTION]
        lengths = [len(o) for o in opts]
        longest = max(lengths)
        if lengths.count(longest) != 1:
            continue
        p = 1.0 / len(opts)
        mean += p
        var += p * (1 - p)
        observed += int(s.answer in opts and len(s.answer) == longest)
    if var == 0:
        return []
    z = (observed - mean) / math.sqrt(var)
    p_value = 0.5 * math.erfc(z / math.sqrt(2))
    details = {
        "observed": observed,
        "expected": round(mean, 3),
        "z": round(z, 3),
        "p_value": p_value,
    }
    if z < z_threshold:
        return []
    return [
        Finding(
            "option_length_bias",
            f"the correct option is the longest in {observed} items where chance predicts "
            f"{mean:.1f} (z = {z:.1f}): a model can score by picking the longest option; "
            "rewrite distractors to similar lengths",
            details=details,
        )
    ]


def check_tag_balance(
    items: Sequence[Sample], *, low: float = 0.5, high: float = 2.0
) -> list[Finding]:
    """Per split, flag tags whose share is below ``low`` or above ``high`` times uniform (1/7)."""
    out = []
    by_split: dict[str, Counter[str]] = defaultdict(Counter)
    for s in items:
        by_split[s.split][s.rmt.name] += 1
    for split, counts in sorted(by_split.items()):
        n = sum(counts.values())
        for t in ALL_TAGS:
            share = counts.get(t.name, 0) / n
            if share < low / 7 or share > high / 7:
                out.append(
                    Finding(
                        "tag_balance",
                        f"split {split!r}: tag {t.name} has {counts.get(t.name, 0)} of {n} items "
                        f"({share:.1%}; balanced is {1 / 7:.1%})",
                        details={
                            "split": split,
                            "tag": t.name,
                            "count": counts.get(t.name, 0),
                            "n": n,
                        },
                    )
                )
    return out


def check_label_disagreement(
    items: Sequence[Sample], proposals: Mapping[str, str | None]
) -> list[Finding]:
    """Items whose proposed tag (from ablation evidence) differs from their label."""
    out = []
    for s in items:
        qid = s.question_id or s.id
        proposed = proposals.get(qid)
        if proposed and parse_tag(proposed) != s.rmt:
            out.append(
                Finding(
                    "label_disagreement",
                    f"labelled {s.rmt.name} but the evidence proposes {parse_tag(proposed).name}: "
                    "send to adjudication",
                    item_id=qid,
                    severity="error",
                    details={"labelled": s.rmt.name, "proposed": parse_tag(proposed).name},
                )
            )
    return out


Check = Callable[[Sequence[Sample]], list[Finding]]


def audit(
    samples: Iterable[Sample],
    *,
    media_root: Path | None = None,
    proposals: Mapping[str, str | None] | None = None,
) -> list[Finding]:
    """Run every check over the canonical items of ``samples``."""
    items = canonical_items(samples)
    findings = [
        *check_leakage(items, media_root),
        *check_near_duplicates(items),
        *check_option_length_bias(items),
        *check_tag_balance(items),
    ]
    if proposals:
        findings += check_label_disagreement(items, proposals)
    return findings
