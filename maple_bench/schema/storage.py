"""The storage schema: one flat Arrow row per :class:`Sample`, and the conversions both ways.

Rows round-trip exactly: Parquet -> Sample -> Parquet gives the same table. Tags are stored by
canonical name, the condition by its value, metadata as canonical JSON (sorted keys).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from maple_bench.modality import BLIND
from maple_bench.schema.errors import SchemaError
from maple_bench.schema.sample import MediaRef, Sample

SCHEMA_VERSION = "1.0"

ARROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("question_id", pa.string(), nullable=False),
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("task", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("options", pa.list_(pa.string()), nullable=False),
        pa.field("answer", pa.string()),
        pa.field("rmt", pa.string(), nullable=False),
        pa.field("presentation", pa.string(), nullable=False),
        pa.field("condition", pa.string(), nullable=False),
        pa.field("none_reason", pa.string()),
        pa.field("video", pa.string()),
        pa.field("audio", pa.string()),
        pa.field("subtitle", pa.string()),
        pa.field("start", pa.float64()),
        pa.field("end", pa.float64()),
        pa.field("subtitle_text", pa.string()),
        pa.field("captions", pa.list_(pa.string()), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("metadata", pa.string(), nullable=False),
    ],
    metadata={"maple_bench_schema": SCHEMA_VERSION},
)
COLUMNS: tuple[str, ...] = tuple(ARROW_SCHEMA.names)


def features() -> Any:
    """The matching ``datasets.Features`` (imported lazily: datasets is heavy)."""
    from datasets import Features

    return Features.from_arrow_schema(ARROW_SCHEMA)


def sample_to_row(sample: Sample) -> dict[str, Any]:
    """Flatten a sample to a storage row (plain Python values)."""
    pres = sample.shown
    return {
        "id": sample.id,
        "question_id": sample.question_id,
        "video_id": sample.video_id,
        "task": sample.task,
        "question": sample.question,
        "options": list(sample.options),
        "answer": sample.answer,
        "rmt": sample.rmt.name,
        "presentation": pres.name if not pres.is_blind else "none",
        "condition": sample.condition.value if sample.condition else None,
        "none_reason": sample.none_reason,
        "video": sample.media.video,
        "audio": sample.media.audio,
        "subtitle": sample.media.subtitle,
        "start": sample.media.start,
        "end": sample.media.end,
        "subtitle_text": sample.subtitle_text,
        "captions": list(sample.captions),
        "split": sample.split,
        "metadata": json.dumps(dict(sample.metadata), sort_keys=True, ensure_ascii=False),
    }


def _opt_float(row: Mapping[str, Any], key: str, rid: str) -> float | None:
    v = row.get(key)
    if v is None or (isinstance(v, float) and v != v):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise SchemaError(f"{v!r} is not a number of seconds", row_id=rid, field=key) from None


def _opt_str(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return str(v)


def sample_from_row(row: Mapping[str, Any], *, file: str | None = None) -> Sample:
    """Build (and so validate) a sample from a storage row; errors name the row and field."""
    rid = str(row.get("id", "?"))
    try:
        meta_raw = row.get("metadata") or "{}"
        if isinstance(meta_raw, str):
            try:
                meta = json.loads(meta_raw)
            except json.JSONDecodeError as e:
                raise SchemaError(
                    f"metadata is not valid JSON: {e}", row_id=rid, field="metadata"
                ) from None
        else:
            meta = dict(meta_raw)
        pres = row.get("presentation")
        if isinstance(pres, str) and pres.strip().lower() in {"none", "blind"}:
            pres = BLIND
        missing = [k for k in ("id", "video_id", "question", "rmt") if row.get(k) is None]
        if missing:
            raise SchemaError(
                f"required column(s) {missing} are null or absent", row_id=rid, field=missing[0]
            )
        return Sample(
            id=str(row["id"]),
            question_id=_opt_str(row.get("question_id")),
            video_id=str(row["video_id"]),
            task=str(row.get("task") or "qa"),
            question=str(row["question"]),
            options=tuple(row.get("options") or ()),
            answer=_opt_str(row.get("answer")),
            rmt=row["rmt"],
            presentation=pres,
            condition=row.get("condition"),
            none_reason=_opt_str(row.get("none_reason")),
            media=MediaRef(
                video=_opt_str(row.get("video")),
                audio=_opt_str(row.get("audio")),
                subtitle=_opt_str(row.get("subtitle")),
                start=_opt_float(row, "start", rid),
                end=_opt_float(row, "end", rid),
            ),
            subtitle_text=_opt_str(row.get("subtitle_text")),
            captions=tuple(row.get("captions") or ()),
            split=str(row.get("split") or "test"),
            metadata=meta,
        )
    except SchemaError as e:
        raise (e.with_file(file) if file else e) from None


def validate_samples(samples: Iterable[Sample], *, file: str | None = None) -> list[Sample]:
    """Check cross-row rules (unique ids); returns the samples as a list."""
    seen: dict[str, int] = {}
    out = []
    for i, s in enumerate(samples):
        if s.id in seen:
            raise SchemaError(
                f"duplicate id (rows {seen[s.id]} and {i})",
                row_id=s.id,
                field="id",
                file=file,
                hint="ids must be unique within a split",
            )
        seen[s.id] = i
        out.append(s)
    return out


def samples_to_table(samples: Sequence[Sample]) -> pa.Table:
    """Samples -> Arrow table with :data:`ARROW_SCHEMA`."""
    rows = [sample_to_row(s) for s in samples]
    return pa.Table.from_pylist(rows, schema=ARROW_SCHEMA)


def samples_from_table(table: pa.Table, *, file: str | None = None) -> list[Sample]:
    """Arrow table -> validated samples (unique ids checked)."""
    return validate_samples((sample_from_row(r, file=file) for r in table.to_pylist()), file=file)
