"""The benchmark item as a frozen, validated record.

One :class:`Sample` is one (question, presentation) pair for QA tasks, or one (video, tag) pair
for captioning. Validation happens at construction and names the row id and field at fault.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from maple_bench.modality import (
    Condition,
    ModalityParseError,
    Tag,
    condition,
    parse_condition,
    parse_tag,
)
from maple_bench.schema.errors import SchemaError

NONE_OPTION = "None of the above (cannot be determined from the given inputs)"
"""The option text added by MAPLE-QA+; correct on deficit and replaced rows."""

NONE_REASONS = ("deficit", "replaced")
TASK_KINDS = ("qa", "caption")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


NAME_RE = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
"""Split and config names: Hugging Face's split-name rule (``\\w+(\\.\\w+)*``) in ASCII. Names
become file and folder names (``data/<config>/<split>-00000-of-00001.parquet``), so a name
such as ``../../x`` must never get that far."""


def check_name(value: object, *, kind: str = "split") -> str:
    """``value`` if it is a valid split/config name, else a one-line ``ValueError`` saying why."""
    if not isinstance(value, str) or len(value) > 64 or not NAME_RE.fullmatch(value):
        raise ValueError(
            f"{kind} name {value!r} is not a valid name: use letters, digits and '_' (dots "
            f"between parts), at most 64 characters, e.g. 'test' or 'train'"
        )
    return value


def option_letter(index: int) -> str:
    """``0 -> "A"``; options are lettered in the order they are stored."""
    return LETTERS[index]


@dataclass(frozen=True)
class MediaRef:
    """Where a sample's streams come from. Paths are relative to the media root."""

    video: str | None = None
    """Video container (frames, and the soundtrack when ``audio`` is not set)."""
    audio: str | None = None
    """A separate audio file; when None the audio comes from the video container."""
    subtitle: str | None = None
    """An .srt or .vtt file; ignored when the sample carries inline subtitle text."""
    start: float | None = None
    """Start of the clip window in seconds (None: the beginning)."""
    end: float | None = None
    """End of the clip window in seconds (None: the end of the file)."""

    @property
    def audio_source(self) -> str | None:
        """The file the audio stream is read from."""
        return self.audio or self.video


@dataclass(frozen=True)
class Sample:
    """One benchmark item under one presentation."""

    id: str
    """Unique, deterministic id (QA+ rows: ``<question id>__<presentation>``)."""
    video_id: str
    """The source video; clusters for the bootstrap and the unit of train/test splits."""
    question: str
    """The question (captioning: the source's instruction, or empty for the default prompt)."""
    rmt: Tag
    """Required Modality Tag: the minimal streams needed to answer."""
    options: tuple[str, ...] = ()
    """Answer options in display order (lettered A, B, ...); empty for captioning."""
    answer: str | None = None
    """Text of the correct option (may be :data:`NONE_OPTION`); None for captioning."""
    presentation: Tag | None = None
    """Streams shown to the model; defaults to the RMT (an exact presentation)."""
    condition: Condition | None = None
    """exact / superset / deficit; derived from rmt and presentation, checked if given."""
    none_reason: str | None = None
    """Why None is correct: ``deficit`` or ``replaced``; None when a content option is correct."""
    task: str = "qa"
    """``qa`` or ``caption``."""
    media: MediaRef = field(default_factory=MediaRef)
    """Media references, relative to the media root."""
    subtitle_text: str | None = None
    """Inline subtitles/transcript; takes precedence over ``media.subtitle``."""
    captions: tuple[str, ...] = ()
    """Reference captions (captioning only)."""
    split: str = "test"
    """Dataset split."""
    question_id: str | None = None
    """Id of the underlying question, shared by its presentations (defaults to ``id``)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Free, JSON-serialisable metadata (stored as canonical JSON)."""

    def __post_init__(self) -> None:
        rid = self.id
        if not isinstance(self.id, str) or not self.id.strip():
            raise SchemaError("empty sample id", row_id=str(self.id), field="id")
        if not isinstance(self.video_id, str) or not self.video_id.strip():
            raise SchemaError("empty video_id", row_id=rid, field="video_id")
        if not isinstance(self.question, str) or (
            self.task != "caption" and not self.question.strip()
        ):
            raise SchemaError(
                "empty question",
                row_id=rid,
                field="question",
                hint="every QA row needs a question (a caption row may leave it empty: the "
                "prompt then asks about the presented streams)",
            )
        if self.task not in TASK_KINDS:
            raise SchemaError(
                f"unknown task kind {self.task!r}; expected one of {TASK_KINDS}",
                row_id=rid,
                field="task",
            )
        try:
            rmt = parse_tag(self.rmt)
        except ModalityParseError as e:
            raise SchemaError(str(e), row_id=rid, field="rmt") from None
        object.__setattr__(self, "rmt", rmt)
        try:
            pres = (
                rmt if self.presentation is None else parse_tag(self.presentation, allow_blind=True)
            )
        except ModalityParseError as e:
            raise SchemaError(str(e), row_id=rid, field="presentation") from None
        object.__setattr__(self, "presentation", pres)
        derived = condition(rmt, pres)
        if self.condition is not None:
            try:
                given = parse_condition(self.condition)
            except ModalityParseError as e:
                raise SchemaError(str(e), row_id=rid, field="condition") from None
            if given != derived:
                raise SchemaError(
                    f"condition {given.value!r} contradicts rmt {rmt} shown as {pres} "
                    f"(which is {derived.value!r})",
                    row_id=rid,
                    field="condition",
                )
        object.__setattr__(self, "condition", derived)
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "captions", tuple(self.captions))
        if self.question_id is None:
            object.__setattr__(self, "question_id", self.id)
        try:
            check_name(self.split)
        except ValueError as e:
            raise SchemaError(str(e), row_id=rid, field="split") from None
        self._validate_window()
        if not isinstance(self.metadata, Mapping):
            raise SchemaError("metadata must be a mapping", row_id=rid, field="metadata")
        try:
            json.dumps(dict(self.metadata), sort_keys=True)
        except (TypeError, ValueError) as e:
            raise SchemaError(
                f"metadata is not JSON-serialisable: {e}", row_id=rid, field="metadata"
            ) from None
        if self.task == "qa":
            self._validate_qa()
        elif self.none_reason is not None:
            raise SchemaError(
                "captioning rows carry no none_reason", row_id=rid, field="none_reason"
            )

    def _validate_window(self) -> None:
        """Clip window: finite seconds, start >= 0, end > start (a decoder would crash later)."""
        rid, m = self.id, self.media
        for name in ("start", "end"):
            v = getattr(m, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SchemaError(
                    f"{name} {v!r} is not a finite number of seconds",
                    row_id=rid, field=name, hint="write seconds such as 12.5, or leave it empty",
                )  # fmt: skip
            if v < 0:
                raise SchemaError(
                    f"{name} {v!r} is negative", row_id=rid, field=name,
                    hint="clip windows are seconds from the start of the file",
                )  # fmt: skip
        if m.start is not None and m.end is not None and m.end <= m.start:
            raise SchemaError(
                f"end {m.end!r} is not after start {m.start!r}", row_id=rid, field="end",
                hint="swap them or fix the window",
            )  # fmt: skip

    def _validate_qa(self) -> None:
        rid = self.id
        if len(self.options) < 2:
            raise SchemaError(
                f"{len(self.options)} option(s); a multiple-choice item needs at least two",
                row_id=rid,
                field="options",
            )
        if len(self.options) > len(LETTERS):
            raise SchemaError(f"more than {len(LETTERS)} options", row_id=rid, field="options")
        for i, opt in enumerate(self.options):
            if not isinstance(opt, str) or not opt.strip():
                raise SchemaError(f"option {i} is empty", row_id=rid, field="options")
        if len({o.strip().casefold() for o in self.options}) != len(self.options):
            raise SchemaError("two options have the same text", row_id=rid, field="options")
        if self.answer is None or self.answer not in self.options:
            raise SchemaError(
                f"answer {self.answer!r} is not among the options {list(self.options)!r}",
                row_id=rid,
                field="answer",
                hint="the answer must be the exact text of one option",
            )
        if self.none_reason is not None and self.none_reason not in NONE_REASONS:
            raise SchemaError(
                f"unknown none_reason {self.none_reason!r}; expected one of {NONE_REASONS} or null",
                row_id=rid,
                field="none_reason",
            )
        if self.none_reason is not None and self.answer != NONE_OPTION:
            raise SchemaError(
                f"none_reason is {self.none_reason!r} but the answer is not the None option",
                row_id=rid,
                field="none_reason",
            )

    # -- convenience --------------------------------------------------------------------------
    @property
    def answer_index(self) -> int | None:
        """Index of the correct option (None for captioning)."""
        return None if self.answer is None else self.options.index(self.answer)

    @property
    def answer_letter(self) -> str | None:
        idx = self.answer_index
        return None if idx is None else option_letter(idx)

    @property
    def has_none_option(self) -> bool:
        return NONE_OPTION in self.options

    @property
    def none_index(self) -> int | None:
        return self.options.index(NONE_OPTION) if self.has_none_option else None

    @property
    def shown(self) -> Tag:
        """The presentation (never None after construction)."""
        assert self.presentation is not None
        return self.presentation

    def present_as(self, presentation: Tag | str, **changes: Any) -> Sample:
        """A copy shown under another presentation (condition re-derived)."""
        return replace(
            self, presentation=parse_tag(presentation, allow_blind=True), condition=None, **changes
        )

    def replace(self, **changes: Any) -> Sample:
        """A validated copy with some fields changed."""
        if "rmt" in changes or "presentation" in changes:
            changes.setdefault("condition", None)
        return replace(self, **changes)
