"""Tolerant column mapping: find which source column holds each sample field.

Public MAPLE splits and home-made annotation files name their columns differently (``choices``
vs ``options``, ``gt`` vs ``answer``, ``modality`` vs ``rmt`` ...). :func:`resolve_columns`
matches the common names, lets the user override any of them (``question=q,answer=gt``), and
refuses to start when a required field has no column, listing the columns it found. Value
parsers for the awkward fields (options as list / JSON / separate columns; answers as text,
letter or index) live here too, so that all tolerance is in one place.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maple_bench.data.errors import ColumnMapError
from maple_bench.schema import NONE_OPTION, SchemaError

# Candidate source names per field, most specific first. Fields claim columns in this order and
# a column is claimed at most once, so e.g. ``video`` becomes the video id only when no better
# id column exists, and ``modality`` becomes the presentation only when ``rmt`` is present too.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "sample_id", "uid", "uuid", "doc_id", "item_id", "key", "idx", "index"),
    "question_id": ("question_id", "qid", "qa_id", "question_uid", "base_id", "orig_id"),
    "video_id": (
        "video_id",
        "vid",
        "videoid",
        "video_name",
        "video_uid",
        "clip_id",
        "clip",
        "vast_id",
        "youtube_id",
        "video",
    ),
    "question": ("question", "query", "question_text", "q", "prompt", "instruction"),
    "options": (
        "options",
        "choices",
        "candidates",
        "answer_choices",
        "option_list",
        "choice_list",
        "candidate_answers",
        "answers",
        "opts",
    ),
    "answer": (
        "answer",
        "label",
        "gt",
        "ground_truth",
        "gt_answer",
        "correct_answer",
        "correct_option",
        "answer_idx",
        "answer_index",
        "answer_letter",
        "target",
        "correct",
        "solution",
    ),
    "rmt": (
        "rmt",
        "required_modality",
        "required_modalities",
        "required_modality_tag",
        "modality_tag",
        "rmt_tag",
        "required_tag",
        "tag",
        "modality",
        "modalities",
        "modality_type",
    ),
    "presentation": (
        "presentation",
        "presented_modality",
        "presented_modalities",
        "presented",
        "input_modality",
        "input_modalities",
        "given_modality",
        "available_modality",
        "available_modalities",
        "modality_combination",
        "combination",
        "combo",
        "shown",
        "modality",
    ),
    "condition": ("condition", "cond", "setting", "modality_condition", "condition_type"),
    "none_reason": ("none_reason", "none_type", "none_cause"),
    "task": ("task", "task_type"),
    "caption": (
        "caption",
        "captions",
        "reference",
        "references",
        "description",
        "gt_caption",
        "ref_caption",
        "reference_caption",
        "answer",
        "target",
        "response",
        "output",
    ),
    "split": ("split", "partition", "subset"),
    "video": ("video_path", "video_file", "video_relpath", "path", "file", "video"),
    "audio": ("audio", "audio_path", "audio_file"),
    "subtitle": ("subtitle", "subtitle_path", "subtitle_file", "srt", "subtitle_relpath"),
    "subtitle_text": (
        "subtitle_text",
        "subtitles",
        "transcript",
        "transcription",
        "asr",
        "asr_text",
        "speech_text",
    ),
    "start": ("start", "start_time", "start_sec", "t_start", "begin", "clip_start"),
    "end": ("end", "end_time", "end_sec", "t_end", "stop", "clip_end"),
    "metadata": ("metadata", "meta", "extra", "info"),
}
FIELDS: tuple[str, ...] = tuple(FIELD_ALIASES)

# Fields not used by a kind of row are never claimed (``answer`` is a caption alias only for
# caption tables; ``options`` means nothing there).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "qa": tuple(f for f in FIELDS if f != "caption"),
    "caption": tuple(
        f for f in FIELDS if f not in {"options", "answer", "condition", "none_reason"}
    ),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "qa": ("video_id", "question", "options", "answer", "rmt"),
    "caption": ("video_id", "rmt", "caption"),
}

_OPTION_COLUMN = re.compile(r"^(?:option|choice|opt|candidate|ans|answer)_?([a-z]|\d+)$")
_LETTER_PREFIX = re.compile(r"^\s*\(?([A-Za-z])[.):]\s+")
_NONE_LIKE = {
    NONE_OPTION.casefold(),
    "none",
    "none of these",
    "none of them",
    "cannot be determined",
    "can't be determined",
    "cannot be answered",
    "not enough information",
    "unanswerable",
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


@dataclass(frozen=True)
class ColumnMap:
    """Which source column feeds each sample field."""

    fields: Mapping[str, str]
    """Sample field -> source column name (only mapped fields)."""
    columns: tuple[str, ...]
    """All columns of the source, in source order."""
    option_columns: tuple[str, ...] = ()
    """Separate option columns (``option_a``, ``option_b`` ...) in option order, if used."""
    overrides: Mapping[str, str] = field(default_factory=dict)
    """The user's explicit mapping, as given."""

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    def source_name(self, name: str | None) -> str | None:
        """The source column behind a sample field (for error messages)."""
        if name is None:
            return None
        if name == "options" and self.option_columns and "options" not in self.fields:
            return "+".join(self.option_columns)
        return self.fields.get(name, name)

    @property
    def used(self) -> set[str]:
        return set(self.fields.values()) | set(self.option_columns)

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Source columns no field uses (kept as metadata by the MAPLE-bench builder)."""
        used = self.used
        return tuple(c for c in self.columns if c not in used)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(sorted(self.fields.items()))
        if self.option_columns:
            out["options"] = list(self.option_columns)
        return out


def parse_column_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """Read ``"question=q,answer=gt"`` (or a mapping) into ``{field: column}``.

    ``options=a|b|c`` names separate option columns; ``field=`` (empty) un-maps a field so that
    auto-detection leaves that column alone.
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        items = [(str(k), "" if v is None else str(v)) for k, v in spec.items()]
    else:
        items = []
        for part in (p.strip() for p in str(spec).split(",")):
            if not part:
                continue
            if "=" not in part:
                raise ColumnMapError(
                    f"--column-map entry {part!r} is not FIELD=COLUMN "
                    f"(example: --column-map question=q,answer=gt)"
                )
            k, v = part.split("=", 1)
            items.append((k.strip(), v.strip()))
    out: dict[str, str] = {}
    for k, v in items:
        key = k.lower()
        if key in {"choices", "candidates"}:
            key = "options"
        if key in {"modality", "required_modality", "tag"}:
            key = "rmt"
        if key not in FIELD_ALIASES:
            raise ColumnMapError(
                f"--column-map names unknown field {k!r}; fields are {', '.join(FIELDS)}"
            )
        if key in out:
            raise ColumnMapError(f"--column-map gives field {key!r} twice")
        out[key] = v
    return out


def resolve_columns(
    columns: Sequence[str],
    *,
    kind: str = "qa",
    override: str | Mapping[str, str] | None = None,
    file: str | None = None,
    required: Iterable[str] | None = None,
) -> ColumnMap:
    """Map ``columns`` onto the fields of ``kind`` ("qa" or "caption").

    Raises :class:`ColumnMapError` (before any row is read) when a required field has no
    column, when the override names a column that does not exist, or maps two fields to one
    column.
    """
    if kind not in KIND_FIELDS:
        raise ValueError(f"kind must be one of {sorted(KIND_FIELDS)}, not {kind!r}")
    where = f"{file}: " if file else ""
    cols = tuple(str(c) for c in columns)
    found = ", ".join(cols) or "(none)"
    by_norm: dict[str, str] = {}
    for c in cols:
        by_norm.setdefault(_norm(c), c)
    user = parse_column_map(override)

    fields: dict[str, str] = {}
    option_columns: tuple[str, ...] = ()
    claimed: dict[str, str] = {}
    for name, col in user.items():
        if not col:
            continue
        if name == "options" and "|" in col:
            parts = [p.strip() for p in col.split("|") if p.strip()]
            for p in parts:
                _check_exists(p, cols, where, found, name)
                _claim(claimed, p, name, where)
            option_columns = tuple(parts)
            continue
        real = col if col in cols else by_norm.get(_norm(col))
        if real is None:
            _check_exists(col, cols, where, found, name)
        assert real is not None
        _claim(claimed, real, name, where)
        fields[name] = real

    unmapped = {n for n, c in user.items() if not c}
    for name in KIND_FIELDS[kind]:
        if name in fields or name in unmapped or (name == "options" and option_columns):
            continue
        for alias in FIELD_ALIASES[name]:
            hit = by_norm.get(alias)
            if hit is not None and hit not in claimed:
                fields[name] = hit
                claimed[hit] = name
                break
        if name == "options" and "options" not in fields and not option_columns:
            option_columns = _detect_option_columns(cols, claimed)
            for c in option_columns:
                claimed[c] = "options"

    cmap = ColumnMap(fields=fields, columns=cols, option_columns=option_columns, overrides=user)
    need = tuple(required) if required is not None else REQUIRED[kind]
    missing = [n for n in need if n not in fields and not (n == "options" and option_columns)]
    if missing:
        raise ColumnMapError(
            f"{where}no column found for required field(s) {', '.join(missing)}. "
            f"Columns found: {found}. Map them explicitly, e.g. --column-map "
            + ",".join(f"{m}=<column>" for m in missing)
        )
    return cmap


def _check_exists(col: str, cols: Sequence[str], where: str, found: str, name: str) -> None:
    if col not in cols:
        raise ColumnMapError(
            f"{where}--column-map maps {name}={col!r} but there is no column {col!r}. "
            f"Columns found: {found}"
        )


def _claim(claimed: dict[str, str], col: str, name: str, where: str) -> None:
    if col in claimed and claimed[col] != name:
        raise ColumnMapError(
            f"{where}--column-map maps both {claimed[col]!r} and {name!r} to column {col!r}; "
            f"each column can feed only one field"
        )
    claimed[col] = name


def _detect_option_columns(cols: Sequence[str], claimed: Mapping[str, str]) -> tuple[str, ...]:
    """``option_a, option_b ...`` / ``choice1 ...`` / bare ``A, B, C`` columns, in order."""
    found: list[tuple[int, str]] = []
    for c in cols:
        if c in claimed:
            continue
        n = _norm(c)
        m = _OPTION_COLUMN.match(n)
        key = m.group(1) if m else (n if len(n) == 1 and n.isalpha() else None)
        if key is None:
            continue
        found.append((int(key) if key.isdigit() else ord(key) - ord("a"), c))
    found.sort()
    if len(found) < 2:
        return ()
    return tuple(c for _, c in found)


# -- value parsers --------------------------------------------------------------------------------


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def scalar_text(value: Any, *, row_id: str, column: str, what: str = "a text") -> str:
    """A text cell (string, or a finite number) stripped; a list, object or flag is an error.

    ``str(["a", "b"])`` would silently store ``"['a', 'b']"`` as a question or an option.
    """
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    raise SchemaError(
        f"expected {what}, got {type(value).__name__} {value!r}",
        row_id=row_id,
        field=column,
        hint="write plain text in this cell",
    )


def parse_list(value: Any, *, row_id: str, column: str) -> list[str]:
    """A list given as a list, a JSON string or a Python-literal string (``"['a', 'b']"``)."""
    if _is_missing(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                try:
                    value = ast.literal_eval(text)  # literals only: no code runs
                except (ValueError, SyntaxError):
                    raise SchemaError(
                        f"cannot read {value!r} as a list",
                        row_id=row_id,
                        field=column,
                        hint='write a JSON list such as ["red", "blue"]',
                    ) from None
        elif "\n" in text:
            value = [line for line in text.splitlines() if line.strip()]
        else:
            value = [text]
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise SchemaError(f"expected a list, got {value!r}", row_id=row_id, field=column)
    return [
        scalar_text(v, row_id=row_id, column=column, what="a list of texts")
        for v in value
        if not _is_missing(v)
    ]


def parse_options(row: Mapping[str, Any], cmap: ColumnMap, *, row_id: str) -> list[str]:
    """Options from a list column or from separate option columns; ``A. x`` prefixes dropped."""
    if cmap.option_columns and "options" not in cmap.fields:
        opts = [
            scalar_text(row[c], row_id=row_id, column=c)
            for c in cmap.option_columns
            if not _is_missing(row.get(c))
        ]
    else:
        col = cmap.fields["options"]
        opts = parse_list(row.get(col), row_id=row_id, column=col)
    return strip_letter_prefixes(opts)


def strip_letter_prefixes(options: list[str]) -> list[str]:
    """``["A. red", "B. blue"]`` -> ``["red", "blue"]`` (only when every option is lettered in order)."""
    matches = [_LETTER_PREFIX.match(o) for o in options]
    if options and all(
        m is not None and m.group(1).upper() == chr(ord("A") + i) for i, m in enumerate(matches)
    ):
        return [o[m.end() :].strip() for o, m in zip(options, matches) if m is not None]
    return options


def is_none_like(option: str) -> bool:
    """Whether an option is a "none of the above" choice (QA+-style sources)."""
    text = option.strip().casefold().rstrip(".")
    return text in _NONE_LIKE or text.startswith("none of the above")


def resolve_answer(value: Any, options: Sequence[str], *, row_id: str, column: str) -> str:
    """The correct option's text from an answer given as text, a letter or a 0-based index."""
    if _is_missing(value):
        raise SchemaError("the answer is empty", row_id=row_id, field=column)
    if isinstance(value, bool):
        raise SchemaError(f"answer {value!r} is not an option", row_id=row_id, field=column)
    if isinstance(value, (int, float)) and float(value).is_integer():
        idx = int(value)
        if 0 <= idx < len(options):
            return options[idx]
        raise SchemaError(
            f"answer index {idx} is out of range for {len(options)} options {list(options)!r}",
            row_id=row_id,
            field=column,
            hint="integer answers are 0-based option indices",
        )
    text = str(value).strip()
    if text in options:
        return text
    folded = [o.casefold() for o in options]
    if text.casefold() in folded:
        return options[folded.index(text.casefold())]
    letter = re.fullmatch(r"\(?([A-Za-z])[.):]?\)?", text)
    if letter:
        idx = ord(letter.group(1).upper()) - ord("A")
        if 0 <= idx < len(options):
            return options[idx]
    if re.fullmatch(r"\d+", text) and int(text) < len(options):
        return options[int(text)]
    prefixed = _LETTER_PREFIX.match(text)
    if prefixed:
        idx = ord(prefixed.group(1).upper()) - ord("A")
        rest = text[prefixed.end() :].strip()
        if 0 <= idx < len(options) and options[idx].casefold() == rest.casefold():
            return options[idx]
    raise SchemaError(
        f"answer {text!r} is not among the options {list(options)!r}",
        row_id=row_id,
        field=column,
        hint="give the option text, its letter (A, B, ...) or its 0-based index",
    )
