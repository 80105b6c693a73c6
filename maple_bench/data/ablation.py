"""The ablation expansion used to propose RMT labels from evidence.

Each QA question is shown under the seven presentations plus the blind one (question only), with
the None option added and its *original* answer kept as the target on every row. A model that
answers correctly under presentation P shows that P suffices; one that lacks a needed stream can
say None instead of being forced to guess. (Unlike MAPLE-QA+, deficit rows do not switch their
target to None: the question asked here is "is P enough?", not "does the model abstain?".)
"""

from __future__ import annotations

from collections.abc import Iterable

from maple_bench.modality import ALL_TAGS, BLIND, Tag
from maple_bench.schema import NONE_OPTION, Sample


def ablation_samples(items: Iterable[Sample], *, include_blind: bool = True) -> list[Sample]:
    """Every content-answer QA item under every presentation; ids ``<qid>__ablate_<P|none>``."""
    out: list[Sample] = []
    pres: tuple[Tag, ...] = (*ALL_TAGS, BLIND) if include_blind else ALL_TAGS
    seen: set[str] = set()
    for s in items:
        if s.task != "qa" or s.answer is None or s.answer == NONE_OPTION:
            continue
        qid = s.question_id or s.id
        if qid in seen:  # a QA+ table holds each question several times: take it once
            continue
        seen.add(qid)
        options = s.options if s.has_none_option else (*s.options, NONE_OPTION)
        for p in pres:
            out.append(
                s.replace(
                    id=f"{qid}__ablate_{p.name or 'none'}",
                    question_id=qid,
                    presentation=p,
                    options=options,
                    none_reason=None,
                    metadata={**s.metadata, "ablation": True, "labelled_rmt": s.rmt.name},
                )
            )
    return out
