"""The modality algebra: three streams, seven Required Modality Tags, and presentation conditions.

A tag is a non-empty subset of {V, A, S}; a presentation is the subset actually shown to a model.
Both are :class:`Tag` values. The empty set exists only as :data:`BLIND`, an explicit diagnostic.
Canonical letter order is V, A, S, so the seven tags are ``V, A, S, VA, VS, AS, VAS``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


class Modality(str, enum.Enum):
    """One input stream. The value is its canonical letter."""

    V = "V"  # sampled video frames
    A = "A"  # the audio track
    S = "S"  # subtitle / transcript text

    @property
    def long_name(self) -> str:
        return {"V": "video", "A": "audio", "S": "subtitles"}[self.value]


MODALITY_ORDER: tuple[Modality, ...] = (Modality.V, Modality.A, Modality.S)

# Words accepted for each stream when parsing tags written by people or other toolkits.
_ALIASES: dict[str, Modality] = {}
for _m, _words in {
    Modality.V: ("v", "video", "vid", "visual", "vision", "frames", "frame", "image", "images"),
    Modality.A: ("a", "audio", "aud", "sound", "acoustic", "speech"),
    Modality.S: (
        "s",
        "sub",
        "subs",
        "subtitle",
        "subtitles",
        "text",
        "transcript",
        "asr",
        "caption",
        "captions",
        "t",
    ),
}.items():
    for _w in _words:
        _ALIASES[_w] = _m
_BLIND_WORDS = frozenset({"", "none", "blind", "empty", "question", "q", "{}", "[]", "∅"})
_SEPARATORS = re.compile(r"[\s,+&/|;_\-]+|\band\b")


class ModalityParseError(ValueError):
    """A value could not be read as a set of modalities."""


class Condition(str, enum.Enum):
    """How a presentation P relates to a sample's required tag R."""

    EXACT = "exact"  # P == R
    SUPERSET = "superset"  # P strictly contains R
    DEFICIT = "deficit"  # some required stream is missing from P


@dataclass(frozen=True)
class Tag:
    """A subset of {V, A, S}: used both for RMTs and for presentations."""

    modalities: frozenset[Modality]
    """The streams in the set (may be empty only for the blind diagnostic)."""

    def __post_init__(self) -> None:
        if not isinstance(self.modalities, frozenset):
            object.__setattr__(self, "modalities", frozenset(self.modalities))
        for m in self.modalities:
            if not isinstance(m, Modality):
                raise ModalityParseError(f"not a Modality: {m!r}")

    # -- naming -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Canonical name in V, A, S order ("" for the blind set)."""
        return "".join(m.value for m in MODALITY_ORDER if m in self.modalities)

    def __str__(self) -> str:
        return self.name or "none"

    def __repr__(self) -> str:
        return f"Tag({self.name or 'BLIND'})"

    @property
    def long_name(self) -> str:
        return "+".join(m.long_name for m in MODALITY_ORDER if m in self.modalities) or "none"

    # -- set algebra --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.modalities)

    def __iter__(self) -> Iterator[Modality]:
        return (m for m in MODALITY_ORDER if m in self.modalities)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str) and not isinstance(item, Modality):
            try:
                item = Modality(item.upper())
            except ValueError:
                return False
        return item in self.modalities

    def issubset(self, other: Tag) -> bool:
        return self.modalities <= other.modalities

    def issuperset(self, other: Tag) -> bool:
        return self.modalities >= other.modalities

    def __le__(self, other: Tag) -> bool:
        return self.issubset(other)

    def __lt__(self, other: Tag) -> bool:
        return self.modalities < other.modalities

    def __ge__(self, other: Tag) -> bool:
        return self.issuperset(other)

    def __gt__(self, other: Tag) -> bool:
        return self.modalities > other.modalities

    def __or__(self, other: Tag) -> Tag:
        return Tag(self.modalities | other.modalities)

    def __and__(self, other: Tag) -> Tag:
        return Tag(self.modalities & other.modalities)

    def __sub__(self, other: Tag) -> Tag:
        return Tag(self.modalities - other.modalities)

    @property
    def is_blind(self) -> bool:
        return not self.modalities

    @property
    def is_uni(self) -> bool:
        return len(self.modalities) == 1

    @property
    def has_video(self) -> bool:
        return Modality.V in self.modalities

    @property
    def has_audio(self) -> bool:
        return Modality.A in self.modalities

    @property
    def has_subtitles(self) -> bool:
        return Modality.S in self.modalities

    @property
    def sort_key(self) -> int:
        """Position in the canonical order ``V, A, S, VA, VS, AS, VAS`` (blind first, -1)."""
        return -1 if self.is_blind else ALL_TAGS.index(self)


def _tag(name: str) -> Tag:
    return Tag(frozenset(Modality(c) for c in name))


V, A, S, VA, VS, AS, VAS = (_tag(n) for n in ("V", "A", "S", "VA", "VS", "AS", "VAS"))
BLIND = Tag(frozenset())
ALL_TAGS: tuple[Tag, ...] = (V, A, S, VA, VS, AS, VAS)
"""The seven RMTs (and presentations) in canonical order."""
PRESENTATIONS = ALL_TAGS
UNI_TAGS: tuple[Tag, ...] = (V, A, S)
MULTI_TAGS: tuple[Tag, ...] = (VA, VS, AS, VAS)
TAG_NAMES: tuple[str, ...] = tuple(t.name for t in ALL_TAGS)


def parse_tag(value: Any, *, allow_blind: bool = False) -> Tag:
    """Read a tag written in any common way.

    Accepts a :class:`Tag`, a :class:`Modality`, letter strings in any order (``"AV"``), words
    joined by separators (``"video+audio"``, ``"audio, subtitles"``), or an iterable of those
    (``["S", "V"]``). Raises :class:`ModalityParseError` naming the value otherwise. The empty set
    is refused unless ``allow_blind`` is set.
    """
    mods: set[Modality] = set()
    if isinstance(value, Tag):
        mods = set(value.modalities)
    elif isinstance(value, Modality):
        mods = {value}
    elif isinstance(value, str):
        mods = _parse_string(value)
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        for part in value:
            mods |= set(parse_tag(part, allow_blind=True).modalities)
    else:
        raise ModalityParseError(
            f"cannot read {value!r} ({type(value).__name__}) as a modality tag; "
            f"use one of {', '.join(TAG_NAMES)}"
        )
    if not mods and not allow_blind:
        raise ModalityParseError(
            f"{value!r} names no modality; a required modality tag needs at least one of "
            f"V (video), A (audio), S (subtitles): one of {', '.join(TAG_NAMES)}"
        )
    return Tag(frozenset(mods))


def _parse_string(text: str) -> set[Modality]:
    raw = text.strip().lower()
    if raw in _BLIND_WORDS:
        return set()
    raw = raw.strip("[](){}'\"")
    parts = [p for p in _SEPARATORS.split(raw) if p and p not in {"'", '"'}]
    mods: set[Modality] = set()
    for part in parts:
        part = part.strip("'\"")
        if part in _ALIASES:
            mods.add(_ALIASES[part])
        elif part and all(c in "vas" for c in part) and len(set(part)) == len(part):
            mods.update(Modality(c.upper()) for c in part)
        else:
            raise ModalityParseError(
                f"cannot read {text!r} as a modality tag: {part!r} is not a known stream. "
                f"Write letters from V, A, S (e.g. 'VA') or words like 'video+audio'; "
                f"the seven tags are {', '.join(TAG_NAMES)}"
            )
    return mods


def condition(rmt: Tag, presentation: Tag) -> Condition:
    """The condition of showing ``presentation`` to a sample whose required tag is ``rmt``."""
    if rmt.is_blind:
        raise ModalityParseError("a required modality tag cannot be empty")
    if presentation == rmt:
        return Condition.EXACT
    if rmt.issubset(presentation):
        return Condition.SUPERSET
    return Condition.DEFICIT


def presentations_by_condition(rmt: Tag) -> dict[Condition, tuple[Tag, ...]]:
    """Split the seven presentations by their condition relative to ``rmt``."""
    out: dict[Condition, list[Tag]] = {c: [] for c in Condition}
    for p in PRESENTATIONS:
        out[condition(rmt, p)].append(p)
    return {c: tuple(ps) for c, ps in out.items()}


def parse_condition(value: Any) -> Condition:
    """Read a condition name (``exact``, ``superset``, ``deficit``), case-insensitively."""
    if isinstance(value, Condition):
        return value
    try:
        return Condition(str(value).strip().lower())
    except ValueError:
        raise ModalityParseError(
            f"unknown condition {value!r}; expected one of exact, superset, deficit"
        ) from None
