"""Source rows -> validated :class:`Sample` records, through a :class:`ColumnMap`.

This is the one place where foreign rows (raw annotations, guessed public splits) become samples.
Every error names the file, the row id and the *source* column, so the user can find the cell.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa

from maple_bench.data.columns import (
    ColumnMap,
    is_none_like,
    parse_list,
    parse_options,
    resolve_answer,
    scalar_text,
)
from maple_bench.modality import ModalityParseError, Tag, parse_condition, parse_tag
from maple_bench.schema import (
    NONE_OPTION,
    MediaRef,
    Sample,
    SchemaError,
    sample_from_row,
    validate_samples,
)
from maple_bench.schema.storage import COLUMNS

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v")
SUBTITLE_EXTENSIONS = (".srt", ".vtt")


@dataclass(frozen=True)
class SourceRows:
    """Samples read from one source table, with what the builders need to know about them."""

    samples: list[Sample]
    """Validated samples, in source order."""
    has_split: list[bool]
    """Per sample: whether the source gave its split (otherwise it is assigned by hash)."""
    column_map: ColumnMap | None
    """The mapping used (None for tables already in the maple-bench schema)."""
    file: str
    """Where the rows came from (for messages and provenance)."""


def is_canonical(columns: Sequence[str]) -> bool:
    """A table written by maple-bench itself (all ARROW_SCHEMA columns present)."""
    return set(COLUMNS) <= set(columns)


def rows_from_canonical(table: pa.Table, *, file: str) -> SourceRows:
    """Fast, exact path for maple-bench's own Parquet files (columns read whole, not row-wise)."""
    cols = table.select(list(COLUMNS)).to_pydict()
    # Parse each distinct tag / condition string once (there are at most a handful): this is
    # where most of the per-row time went.
    for name, parse in (
        ("rmt", _cached_tag),
        ("presentation", _cached_tag),
        ("condition", _cached_cond),
    ):
        cols[name] = [parse(v) for v in cols[name]]
    rows = (dict(zip(COLUMNS, values)) for values in zip(*(cols[c] for c in COLUMNS)))
    samples = validate_samples((sample_from_row(r, file=file) for r in rows), file=file)
    return SourceRows(samples, [True] * len(samples), None, file)


@functools.lru_cache(maxsize=64)
def _tag_or_text(value: str) -> Any:
    try:
        return parse_tag(value, allow_blind=True)
    except ModalityParseError:
        return value  # left for the sample validator to report with its row id


def _cached_tag(value: Any) -> Any:
    return _tag_or_text(value) if isinstance(value, str) else value


@functools.lru_cache(maxsize=16)
def _cond_or_text(value: str) -> Any:
    try:
        return parse_condition(value)
    except ModalityParseError:
        return value


def _cached_cond(value: Any) -> Any:
    return _cond_or_text(value) if isinstance(value, str) else value


def _missing(v: Any) -> bool:
    return (
        v is None
        or (isinstance(v, float) and math.isnan(v))
        or (isinstance(v, str) and not v.strip())
    )


def _text(v: Any) -> str | None:
    return None if _missing(v) else str(v).strip()


def _field_text(row: Mapping[str, Any], cmap: ColumnMap, name: str, loc: str) -> str | None:
    """The text of field ``name`` (None when unmapped or empty); a list or object is an error."""
    col = cmap.fields.get(name)
    if col is None or _missing(row.get(col)):
        return None
    value = row[col]
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        # JSON sources carry lists and objects as JSON text (sources._rows_to_table).
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value)
        if not isinstance(value, (list, dict)):
            value = row[col]
    return scalar_text(value, row_id=loc, column=name) or None


def _row_id(row: Mapping[str, Any], cmap: ColumnMap, index: int) -> str | None:
    """The row's id when the source has an id column; a null id there is an error (a generated
    id would silently renumber rows when the source is fixed)."""
    if "id" not in cmap.fields:
        return None
    rid = _field_text(row, cmap, "id", f"#{index}")
    if rid is None:
        raise SchemaError(
            "the id is empty", row_id=f"#{index}", field="id",
            hint="give every row an id, or drop the id column to have ids generated",
        )  # fmt: skip
    return rid


def _float(v: Any, *, row_id: str, column: str) -> float | None:
    """Seconds; range checks (finite, >= 0, end after start) are the sample validator's."""
    if isinstance(v, float) and math.isnan(v):
        raise SchemaError(
            "NaN is not a number of seconds", row_id=row_id, field=column,
            hint="leave the cell empty (null) for no window",
        )  # fmt: skip
    if _missing(v):
        return None
    if isinstance(v, bool):
        raise SchemaError(f"{v!r} is not a number of seconds", row_id=row_id, field=column)
    try:
        return float(v)
    except (TypeError, ValueError):
        raise SchemaError(
            f"{v!r} is not a number of seconds", row_id=row_id, field=column
        ) from None


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "tolist"):
        return _jsonable(v.tolist())
    return str(v)


def _metadata(row: Mapping[str, Any], cmap: ColumnMap, rid: str, extras: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if extras:
        for c in cmap.extra_columns:
            if not _missing(row.get(c)):
                meta[c] = _jsonable(row[c])
    col = cmap.get("metadata")
    raw = row.get(col) if col else None
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise SchemaError(f"metadata is not valid JSON: {e}", row_id=rid, field=col) from None
    if isinstance(raw, Mapping):
        meta.update(_jsonable(raw))
    elif not _missing(raw):
        raise SchemaError(f"metadata must be an object, got {raw!r}", row_id=rid, field=col)
    return meta


def _media(
    row: Mapping[str, Any], cmap: ColumnMap, video_id: str, rid: str
) -> tuple[str, MediaRef, str | None]:
    """(video_id, media refs, inline subtitle text); a video id that is a file name is split."""
    vcol = cmap.get("video")
    video = _text(row.get(vcol)) if vcol else None
    suffix = PurePosixPath(video_id).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        video = video or video_id
        video_id = PurePosixPath(video_id).stem
    video = video or f"{video_id}.mp4"
    sub_text = (
        _text(row.get(cmap.fields["subtitle_text"])) if "subtitle_text" in cmap.fields else None
    )
    subtitle = _text(row.get(cmap.fields["subtitle"])) if "subtitle" in cmap.fields else None
    if subtitle and PurePosixPath(subtitle).suffix.lower() not in SUBTITLE_EXTENSIONS:
        # A "subtitle" column holding the transcript itself rather than a file name.
        sub_text, subtitle = sub_text or subtitle, None
    media = MediaRef(
        video=video,
        audio=_text(row.get(cmap.fields["audio"])) if "audio" in cmap.fields else None,
        subtitle=subtitle,
        start=_float(
            row.get(cmap.get("start") or ""), row_id=rid, column=cmap.get("start") or "start"
        ),
        end=_float(row.get(cmap.get("end") or ""), row_id=rid, column=cmap.get("end") or "end"),
    )
    return video_id, media, sub_text


def _tag(value: Any, *, rid: str, column: str, blind: bool = False) -> Any:
    if isinstance(value, str):
        cached = _tag_or_text(value)
        if isinstance(cached, Tag) and (blind or not cached.is_blind):
            return cached
    try:
        return parse_tag(value, allow_blind=blind)
    except ModalityParseError as e:
        raise SchemaError(str(e), row_id=rid, field=column) from None


def _short_hash(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:10]


def qa_rows(
    rows: Sequence[Mapping[str, Any]],
    cmap: ColumnMap,
    *,
    file: str,
    split: str | None = None,
    extras_to_metadata: bool = False,
) -> SourceRows:
    """Read QA rows. ``split`` is the split the file belongs to (Hub/folder sources), if any."""
    f = cmap.fields
    qa_plus_style = any(k in f for k in ("presentation", "condition", "none_reason"))
    samples: list[Sample] = []
    has_split: list[bool] = []
    for i, row in enumerate(rows):
        try:
            rid = _row_id(row, cmap, i)
            loc = rid or f"#{i}"
            sample, explicit = _qa_row(
                row, cmap, rid, loc, split, qa_plus_style, extras_to_metadata
            )
        except SchemaError as e:
            raise _locate(e, cmap, file, i) from None
        samples.append(sample)
        has_split.append(explicit)
    return SourceRows(samples, has_split, cmap, file)


def _qa_row(
    row: Mapping[str, Any],
    cmap: ColumnMap,
    rid: str | None,
    loc: str,
    split: str | None,
    qa_plus_style: bool,
    extras: bool,
) -> tuple[Sample, bool]:
    f = cmap.fields
    video_id = _field_text(row, cmap, "video_id", loc)
    if video_id is None:
        raise SchemaError("video id is empty", row_id=loc, field="video_id")
    question = _field_text(row, cmap, "question", loc)
    if question is None:
        raise SchemaError("question is empty", row_id=loc, field="question")
    video_id, media, sub_text = _media(row, cmap, video_id, loc)
    rmt = _tag(row.get(f["rmt"]), rid=loc, column="rmt")
    pres = None
    if "presentation" in f and not _missing(row.get(f["presentation"])):
        pres = _tag(row.get(f["presentation"]), rid=loc, column="presentation", blind=True)
    options = parse_options(row, cmap, row_id=loc)
    none_text = None
    if qa_plus_style:
        # Public all-combinations rows carry their own "None" wording: store ours, keep theirs.
        for j, o in enumerate(options):
            if is_none_like(o):
                none_text, options[j] = (o if o != NONE_OPTION else None), NONE_OPTION
    answer = resolve_answer(row.get(f["answer"]), options, row_id=loc, column="answer")
    none_reason = _text(row.get(f["none_reason"])) if "none_reason" in f else None
    cond = _text(row.get(f["condition"])) if "condition" in f else None
    if none_reason is None and answer == NONE_OPTION:
        shown = pres or rmt
        none_reason = "replaced" if rmt <= shown else "deficit"
    qid = _field_text(row, cmap, "question_id", loc)
    if qid is None:
        qid = rid if (rid and pres is None) else f"{video_id}__{_short_hash(video_id, question)}"
    if rid is None:
        rid = qid if pres is None else f"{qid}__{pres.name or 'none'}"
    meta = _metadata(row, cmap, loc, extras)
    if none_text:
        meta["source_none_option"] = none_text
    src_split = _text(row.get(f["split"])) if "split" in f else None
    sample = Sample(
        id=rid,
        question_id=qid,
        video_id=video_id,
        question=question,
        rmt=rmt,
        options=tuple(options),
        answer=answer,
        presentation=pres,
        condition=cond,  # type: ignore[arg-type]  # parsed (and checked) by Sample
        none_reason=none_reason,
        task="qa",
        media=media,
        subtitle_text=sub_text,
        split=src_split or split or "test",
        metadata=meta,
    )
    return sample, bool(src_split or split)


def caption_rows(
    rows: Sequence[Mapping[str, Any]],
    cmap: ColumnMap,
    *,
    file: str,
    split: str | None = None,
    extras_to_metadata: bool = False,
) -> SourceRows:
    """Read caption rows: one (video, tag) with its reference caption(s) per row."""
    f = cmap.fields
    samples: list[Sample] = []
    has_split: list[bool] = []
    for i, row in enumerate(rows):
        try:
            rid = _row_id(row, cmap, i)
            loc = rid or f"#{i}"
            video_id = _field_text(row, cmap, "video_id", loc)
            if video_id is None:
                raise SchemaError("video id is empty", row_id=loc, field="video_id")
            video_id, media, sub_text = _media(row, cmap, video_id, loc)
            rmt = _tag(row.get(f["rmt"]), rid=loc, column="rmt")
            pres = None
            if "presentation" in f and not _missing(row.get(f["presentation"])):
                pres = _tag(row.get(f["presentation"]), rid=loc, column="presentation", blind=True)
            captions = parse_list(row.get(f["caption"]), row_id=loc, column=f["caption"])
            if not captions:
                raise SchemaError("no reference caption", row_id=loc, field="caption")
            question = _field_text(row, cmap, "question", loc)
            src_split = _text(row.get(f["split"])) if "split" in f else None
            samples.append(
                Sample(
                    id=rid or f"{video_id}__{rmt.name}",
                    question_id=_field_text(row, cmap, "question_id", loc),
                    video_id=video_id,
                    # Empty when the source gives no instruction: maple_bench.prompts words it
                    # for the streams actually presented (the one place prompts are written).
                    question=question or "",
                    rmt=rmt,
                    presentation=pres,
                    task="caption",
                    media=media,
                    subtitle_text=sub_text,
                    captions=tuple(captions),
                    split=src_split or split or "test",
                    metadata=_metadata(row, cmap, loc, extras_to_metadata),
                )
            )
            has_split.append(bool(src_split or split))
        except SchemaError as e:
            raise _locate(e, cmap, file, i) from None
    return SourceRows(samples, has_split, cmap, file)


def _locate(e: SchemaError, cmap: ColumnMap, file: str, index: int) -> SchemaError:
    """Re-issue ``e`` with the file, the row number and the source column named."""
    col = cmap.source_name(e.field)
    base = str(e)
    # Drop the "row id ..., column ...: " prefix the sample validator wrote; we rebuild it.
    if ": " in base and base.startswith(("row id", "column")):
        base = base.split(": ", 1)[1]
    where = (
        f"row id {e.row_id!r}"
        if e.row_id and not e.row_id.startswith("#")
        else f"data row {index + 1}"
    )
    col_text = f", column {col!r}" if col else ""
    if col and e.field and col != e.field:
        col_text += f" (field {e.field!r})"
    err = SchemaError(f"{where}{col_text}: {base}", file=file)
    err.row_id, err.field = e.row_id, e.field
    return err
