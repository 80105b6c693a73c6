"""The four dataset builders, as pure functions from validated samples to samples.

- MAPLE-bench (``maple_bench``): the canonical annotated table, one exact row per question,
  every source column kept (unmapped columns go to ``metadata``).
- MAPLE-QA (``maple_qa``): one exact row per question.
- MAPLE-QA+ (``maple_qa_plus``): every question under all 7 presentations with the None option
  appended (ARCHITECTURE.md section 2).
- MAPLE-Caption (``maple_caption``): one sample per (video, tag).

All are deterministic: the only randomness (which QA+ rows get their answer replaced by None) is
a seeded hash of the row id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from maple_bench.data.records import rows_from_canonical
from maple_bench.data.splits import unit_hash
from maple_bench.modality import ALL_TAGS, PRESENTATIONS, Condition, condition
from maple_bench.schema import (
    ARROW_SCHEMA,
    NONE_OPTION,
    Sample,
    SchemaError,
    samples_to_table,
)

DEFAULT_NONE_FRACTION = 0.25

CONFIGS: dict[str, str] = {
    "bench": "maple_bench",
    "qa": "maple_qa",
    "qa-plus": "maple_qa_plus",
    "caption": "maple_caption",
}
"""Builder name (CLI) -> config name in the dataset folder."""
TASK_OF_CONFIG = {
    "maple_bench": "qa",
    "maple_qa": "qa",
    "maple_qa_plus": "qa",
    "maple_caption": "caption",
}


def config_name(builder: str) -> str:
    """``qa-plus`` / ``qa_plus`` / ``maple_qa_plus`` -> ``maple_qa_plus``."""
    key = builder.strip().lower().replace("_", "-")
    key = key.removeprefix("maple-")
    if key in CONFIGS:
        return CONFIGS[key]
    raise ValueError(f"unknown builder {builder!r}; choose one of {', '.join(CONFIGS)}")


def base_questions(samples: Sequence[Sample], *, file: str | None = None) -> list[Sample]:
    """One exact-presentation sample per question, with the question's content answer.

    Sources that already hold presentations (a QA+ build, the public all-combinations split)
    are folded back: per ``question_id`` the exact (else a superset) row whose answer is a
    content option is kept, shown exactly, without the None option.
    """
    if all(s.condition is Condition.EXACT and not s.has_none_option for s in samples):
        seen: dict[str, str] = {}
        for s in samples:
            qid = s.question_id or s.id
            if qid in seen:
                raise SchemaError(
                    f"question_id {qid!r} has two exact rows ({seen[qid]!r} and {s.id!r})",
                    row_id=s.id,
                    field="question_id",
                    file=file,
                    hint="each question is shown exactly once in a QA table",
                )
            seen[qid] = s.id
        return list(samples)
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.question_id or s.id, []).append(s)
    out = []
    for qid, rows in groups.items():
        content = [r for r in rows if r.none_reason is None and r.answer != NONE_OPTION]
        exact = [r for r in content if r.condition is Condition.EXACT]
        superset = [r for r in content if r.condition is Condition.SUPERSET]
        pick = (exact or superset)[0] if (exact or superset) else _answer_from_replacement(rows)
        if pick is None:
            raise SchemaError(
                f"question {qid!r} has no exact or superset row whose answer is a content "
                f"option, so its original answer cannot be recovered",
                row_id=rows[0].id,
                field="answer",
                file=file,
            )
        meta = {k: v for k, v in pick.metadata.items() if k != "source_none_option"}
        out.append(
            pick.replace(
                id=qid,
                question_id=qid,
                presentation=pick.rmt,
                condition=None,
                none_reason=None,
                options=tuple(o for o in pick.options if o != NONE_OPTION),
                metadata=meta,
            )
        )
    return out


def _answer_from_replacement(rows: Sequence[Sample]) -> Sample | None:
    """When every row answers None, the removed option of a replaced row is the answer."""
    full = [r for r in rows if r.none_reason == "deficit"]
    repl = [r for r in rows if r.none_reason == "replaced"]
    if not full or not repl:
        return None
    missing = [o for o in full[0].options if o not in repl[0].options]
    if len(missing) != 1:
        return None
    return full[0].replace(answer=missing[0], none_reason=None, presentation=full[0].rmt)


def build_qa(questions: Sequence[Sample]) -> list[Sample]:
    """MAPLE-QA: the questions shown exactly (they already are)."""
    return [q for q in questions]


def replaced_rows(row_ids: Sequence[str], *, seed: int, none_fraction: float) -> set[str]:
    """Exactly ``round(none_fraction * n)`` of ``row_ids``: those with the smallest seeded hash."""
    if not 0.0 <= none_fraction <= 1.0:
        raise ValueError(f"none fraction must be within [0, 1], got {none_fraction}")
    k = round(none_fraction * len(row_ids))
    ranked = sorted(row_ids, key=lambda rid: (unit_hash(seed, "none:" + rid), rid))
    return set(ranked[:k])


def qa_plus_table(
    questions: Sequence[Sample], *, seed: int = 0, none_fraction: float = DEFAULT_NONE_FRACTION
) -> pa.Table:
    """MAPLE-QA+ as an Arrow table (:data:`ARROW_SCHEMA`): the one implementation of the rules.

    Each question is repeated under the 7 presentations (canonical order) with
    :data:`NONE_OPTION` appended. Deficit rows answer None (``none_reason="deficit"``). Of the
    exact and superset rows, exactly ``round(none_fraction * n)`` (chosen by a seeded hash of
    the row id) have their correct option removed and None becomes correct
    (``none_reason="replaced"``), so that None is not a give-away. Row ids are
    ``<question id>__<presentation>``. Vectorised over columns: the questions were validated
    as samples, and every derived row satisfies the sample rules by construction.
    """
    for q in questions:
        if q.has_none_option:
            raise SchemaError(
                "the question already has the None option; build QA+ from exact questions",
                row_id=q.id,
                field="options",
            )
    base = samples_to_table(list(questions))
    n, k = base.num_rows, len(PRESENTATIONS)
    qids = [q.question_id or q.id for q in questions]
    pres_names = [p.name for p in PRESENTATIONS]
    ids = [f"{qid}__{p}" for qid in qids for p in pres_names]
    # condition of (rmt, presentation) for every tag pair, looked up per row
    cond_of = {(r.name, p.name): condition(r, p).value for r in ALL_TAGS for p in PRESENTATIONS}
    conds = [cond_of[(q.rmt.name, p)] for q in questions for p in pres_names]
    eligible = [rid for rid, c in zip(ids, conds) if c != "deficit"]
    replaced = replaced_rows(eligible, seed=seed, none_fraction=none_fraction)
    options: list[list[str]] = []
    answers: list[str | None] = []
    reasons: list[str | None] = []
    for i, (rid, c) in enumerate(zip(ids, conds)):
        q = questions[i // k]
        if c == "deficit":
            options.append([*q.options, NONE_OPTION])
            answers.append(NONE_OPTION)
            reasons.append("deficit")
        elif rid in replaced:
            options.append([o for o in q.options if o != q.answer] + [NONE_OPTION])
            answers.append(NONE_OPTION)
            reasons.append("replaced")
        else:
            options.append([*q.options, NONE_OPTION])
            answers.append(q.answer)
            reasons.append(None)
    table = base.take(np.repeat(np.arange(n), k))
    new_cols = {
        "id": pa.array(ids, pa.string()),
        "question_id": pa.array([qid for qid in qids for _ in range(k)], pa.string()),
        "options": pa.array(options, pa.list_(pa.string())),
        "answer": pa.array(answers, pa.string()),
        "presentation": pa.array(pres_names * n, pa.string()),
        "condition": pa.array(conds, pa.string()),
        "none_reason": pa.array(reasons, pa.string()),
    }
    for name, col in new_cols.items():
        table = table.set_column(ARROW_SCHEMA.get_field_index(name), ARROW_SCHEMA.field(name), col)
    if len(set(ids)) != len(ids):
        dup = next(rid for rid, c in Counter(ids).items() if c > 1)
        raise SchemaError("duplicate id in the QA+ build", row_id=dup, field="question_id")
    return table


def build_qa_plus(
    questions: Sequence[Sample], *, seed: int = 0, none_fraction: float = DEFAULT_NONE_FRACTION
) -> list[Sample]:
    """MAPLE-QA+ as validated samples (see :func:`qa_plus_table` for the rules)."""
    table = qa_plus_table(questions, seed=seed, none_fraction=none_fraction)
    return rows_from_canonical(table, file="<QA+ build>").samples


def build_caption(samples: Sequence[Sample], *, file: str | None = None) -> list[Sample]:
    """MAPLE-Caption: one sample per (video, tag), ordered by video then canonical tag order."""
    seen: dict[tuple[str, str], str] = {}
    for s in samples:
        if s.task != "caption":
            raise SchemaError("not a caption row", row_id=s.id, field="task", file=file)
        key = (s.video_id, s.rmt.name)
        if key in seen:
            raise SchemaError(
                f"video {s.video_id!r} has two caption rows for tag {s.rmt.name} "
                f"({seen[key]!r} and {s.id!r})",
                row_id=s.id,
                field="rmt",
                file=file,
                hint="merge their references into one row (caption may be a list)",
            )
        seen[key] = s.id
    return sorted(samples, key=lambda s: (s.video_id, s.rmt.sort_key))
