"""Counts that the data card, ``maple-bench inspect`` and provenance records share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from maple_bench.modality import ALL_TAGS, Condition
from maple_bench.schema import Sample

NONE_REASON_KEYS = ("deficit", "replaced", "none")


def summarize(samples: Sequence[Sample]) -> dict[str, Any]:
    """Row, question and video counts; counts per tag, condition, none_reason and tag x condition."""
    return summarize_columns(
        [s.rmt.name for s in samples],
        [s.condition.value if s.condition else "" for s in samples],
        [s.none_reason for s in samples],
        [s.question_id or s.id for s in samples],
        [s.video_id for s in samples],
    )


def summarize_table(table: pa.Table) -> dict[str, Any]:
    """:func:`summarize` for a table in the maple-bench schema (no sample objects needed)."""
    cols = table.select(["rmt", "condition", "none_reason", "question_id", "video_id"]).to_pydict()
    return summarize_columns(
        cols["rmt"], cols["condition"], cols["none_reason"], cols["question_id"], cols["video_id"]
    )


def summarize_columns(
    rmt: Sequence[str],
    cond: Sequence[str],
    reason: Sequence[str | None],
    question_ids: Sequence[str],
    video_ids: Sequence[str],
) -> dict[str, Any]:
    by_tag = Counter(rmt)
    by_cond = Counter(cond)
    reasons = [r or "none" for r in reason]
    by_reason = Counter(reasons)
    cross = Counter(zip(rmt, cond))
    cross_reason = Counter(zip(rmt, reasons))
    tags = [t.name for t in ALL_TAGS]
    return {
        "num_rows": len(rmt),
        "num_questions": len(set(question_ids)),
        "num_videos": len(set(video_ids)),
        "by_tag": {t: by_tag.get(t, 0) for t in tags},
        "by_condition": {c.value: by_cond.get(c.value, 0) for c in Condition},
        "by_none_reason": {r: by_reason.get(r, 0) for r in NONE_REASON_KEYS},
        "by_tag_condition": {
            t: {c.value: cross.get((t, c.value), 0) for c in Condition} for t in tags
        },
        "by_tag_none_reason": {
            t: {r: cross_reason.get((t, r), 0) for r in NONE_REASON_KEYS} for t in tags
        },
    }


def markdown_table(summary: dict[str, Any]) -> str:
    """Per-tag table: rows, exact/superset/deficit, none_reason counts, plus a total line."""
    head = "| tag | rows | exact | superset | deficit | none: deficit | none: replaced |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|"]
    tot: Counter[int] = Counter()
    for t, n in summary["by_tag"].items():
        c = summary["by_tag_condition"][t]
        r = summary["by_tag_none_reason"][t]
        vals = [n, c["exact"], c["superset"], c["deficit"], r["deficit"], r["replaced"]]
        tot.update(dict(enumerate(vals)))
        lines.append(f"| {t} | " + " | ".join(str(v) for v in vals) + " |")
    lines.append("| **all** | " + " | ".join(str(tot[i]) for i in range(6)) + " |")
    return "\n".join(lines)
