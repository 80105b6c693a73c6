"""What a synthetic clip can contain, and the option grammar that names it.

Every clip carries one value of each *attribute kind* below. Asked kinds are what questions are
about; distractor kinds are rendered into the same stream but never asked, so a model cannot
answer by noticing that a stream merely has *something* in it.

=========  ======  ================================  =======================================
stream     kind    values                            option component (grammar)
=========  ======  ================================  =======================================
V          colour  red green blue yellow purple ...  ``"<colour> shapes"``   (``red shapes``)
V          shape   circle square triangle            ``"<shape>s"``          (``circles``)
V          count   1 2 3 4 moving objects            ``"<k> moving object(s)"``
A          pitch   low mid high very high            ``"<pitch> tone"``      (``very high tone``)
A          beeps   1 2 3 4                           ``"<k> beep(s)"``
S          name    Alice Bob ...                     ``"name <Name>"``
S          fruit   apple banana ...                  ``"fruit <fruit>"``
S          number  2 ... 11                          ``"number <k>"``
=========  ======  ================================  =======================================

Distractors: V ``background`` (black / dark grey / grey) and per-object motion; A ``loudness``
(soft / loud) and a faint noise floor; S ``weather`` and ``city`` in an extra sentence, plus the
order of the subtitle cues.

**Option grammar.** An option is its components joined by ``", "``, one component per asked
kind, in stream order V, A, S (and kind order inside a stream, as in the table), e.g.
``"red shapes, high tone, name Alice"``. :func:`format_option` writes it and
:func:`parse_option` reads it back, so a solver can map option text to attribute values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maple_bench.modality import Modality

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (230, 30, 30),
    "green": (30, 190, 40),
    "blue": (40, 70, 235),
    "yellow": (240, 220, 40),
    "purple": (150, 50, 210),
    "cyan": (40, 210, 220),
    "orange": (250, 140, 20),
    "white": (240, 240, 240),
}
"""Object colours (RGB): saturated or bright, far from each other and from every background."""

BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "dark grey": (40, 40, 40),
    "grey": (80, 80, 80),
}
"""Background shades (distractor): dark and achromatic, so objects always stand out."""

SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
COUNTS: tuple[int, ...] = (1, 2, 3, 4)
PITCHES: dict[str, float] = {"low": 300.0, "mid": 700.0, "high": 1500.0, "very high": 3200.0}
"""Tone frequencies in Hz: a factor of two or more apart, all well inside AAC's band at 16 kHz."""
BEEPS: tuple[int, ...] = (1, 2, 3, 4)
LOUDNESS: dict[str, float] = {"soft": 0.2, "loud": 0.6}
"""Beep amplitude (distractor)."""
NAMES: tuple[str, ...] = (
    "Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Irene", "Jack",
)  # fmt: skip
FRUITS: tuple[str, ...] = (
    "apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "plum", "melon", "kiwi",
)  # fmt: skip
NUMBERS: tuple[int, ...] = tuple(range(2, 12))
WEATHER: tuple[str, ...] = ("sunny", "rainy", "windy", "cloudy", "snowy")
CITIES: tuple[str, ...] = ("Paris", "Oslo", "Lima", "Cairo", "Tokyo", "Rome")


@dataclass(frozen=True)
class Kind:
    """One attribute kind: its stream, its values and how it reads in an option."""

    name: str
    """Identifier used in synth.json and question metadata (``colour``, ``pitch`` ...)."""
    stream: Modality
    """The only stream that carries it."""
    values: tuple[Any, ...]
    """All values a clip can have (str or int)."""
    asked: bool
    """True for kinds questions are about; False for distractors."""
    phrase: str
    """How a question refers to it (``the colour of the moving shapes``)."""
    question: str
    """Stand-alone question asking only about this kind."""


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("colour", Modality.V, tuple(COLOURS), True, "the colour of the moving shapes",
             "What colour are the moving shapes?"),
        Kind("shape", Modality.V, SHAPES, True, "the shape of the moving objects",
             "What shape are the moving objects?"),
        Kind("count", Modality.V, COUNTS, True, "how many objects move",
             "How many objects are moving?"),
        Kind("background", Modality.V, tuple(BACKGROUNDS), False, "the background", ""),
        Kind("pitch", Modality.A, tuple(PITCHES), True, "the pitch of the beeps",
             "How high is the pitch of the beeps?"),
        Kind("beeps", Modality.A, BEEPS, True, "how many beeps sound",
             "How many beeps are heard?"),
        Kind("loudness", Modality.A, tuple(LOUDNESS), False, "how loud the beeps are", ""),
        Kind("name", Modality.S, NAMES, True, "the name that is mentioned",
             "Which name is mentioned?"),
        Kind("fruit", Modality.S, FRUITS, True, "the fruit that is mentioned",
             "Which fruit is mentioned?"),
        Kind("number", Modality.S, NUMBERS, True, "the number that is mentioned",
             "Which number is mentioned?"),
        Kind("weather", Modality.S, WEATHER, False, "the weather", ""),
        Kind("city", Modality.S, CITIES, False, "the city", ""),
    )
}  # fmt: skip
"""Every attribute kind, in canonical order (stream V, A, S; then the table order)."""

KIND_ORDER: tuple[str, ...] = tuple(KINDS)
ASKED_KINDS: dict[Modality, tuple[str, ...]] = {
    m: tuple(k.name for k in KINDS.values() if k.stream is m and k.asked) for m in Modality
}
"""Asked kinds per stream."""


class OptionGrammarError(ValueError):
    """An option text does not follow the synth option grammar."""


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def format_component(kind: str, value: Any) -> str:
    """One option component, e.g. ``("pitch", "high") -> "high tone"``."""
    if kind == "colour":
        return f"{value} shapes"
    if kind == "shape":
        return f"{value}s"
    if kind == "count":
        return _plural(int(value), "moving object")
    if kind == "pitch":
        return f"{value} tone"
    if kind == "beeps":
        return _plural(int(value), "beep")
    if kind in ("name", "fruit", "number"):
        return f"{kind} {value}"
    raise OptionGrammarError(f"kind {kind!r} has no option component (only asked kinds do)")


def format_option(values: Mapping[str, Any]) -> str:
    """Join components in canonical kind order: ``{"colour": "red", "pitch": "high"}`` ->
    ``"red shapes, high tone"``."""
    kinds = sorted(values, key=KIND_ORDER.index)
    return ", ".join(format_component(k, values[k]) for k in kinds)


def _alternatives(values: tuple[Any, ...]) -> str:
    # Longest first so "very high" wins over "high".
    return "|".join(re.escape(str(v)) for v in sorted(values, key=lambda v: -len(str(v))))


_COMPONENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("colour", re.compile(rf"^({_alternatives(tuple(COLOURS))}) shapes$")),
    ("shape", re.compile(rf"^({_alternatives(SHAPES)})s$")),
    ("count", re.compile(r"^(\d+) moving objects?$")),
    ("pitch", re.compile(rf"^({_alternatives(tuple(PITCHES))}) tone$")),
    ("beeps", re.compile(r"^(\d+) beeps?$")),
    ("name", re.compile(rf"^name ({_alternatives(NAMES)})$")),
    ("fruit", re.compile(rf"^fruit ({_alternatives(FRUITS)})$")),
    ("number", re.compile(r"^number (\d+)$")),
)


def parse_component(text: str) -> tuple[str, Any]:
    """``"3 beeps" -> ("beeps", 3)``; raises :class:`OptionGrammarError` if it is no component."""
    text = text.strip()
    for kind, pattern in _COMPONENT_PATTERNS:
        m = pattern.match(text)
        if m:
            raw = m.group(1)
            value: Any = int(raw) if kind in ("count", "beeps", "number") else raw
            if value not in KINDS[kind].values:
                raise OptionGrammarError(f"{text!r}: {value!r} is not a value of {kind}")
            return kind, value
    raise OptionGrammarError(
        f"{text!r} is not a synth option component; expected e.g. 'red shapes', 'circles', "
        f"'2 moving objects', 'high tone', '3 beeps', 'name Alice', 'fruit apple', 'number 7'"
    )


def parse_option(text: str) -> dict[str, Any]:
    """Inverse of :func:`format_option`: ``"red shapes, high tone"`` ->
    ``{"colour": "red", "pitch": "high"}``. Raises :class:`OptionGrammarError`."""
    out: dict[str, Any] = {}
    for part in text.split(","):
        kind, value = parse_component(part)
        if kind in out:
            raise OptionGrammarError(f"{text!r} names {kind} twice")
        out[kind] = value
    return out
