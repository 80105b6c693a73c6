"""Reference captions: one sentence per stream, built only from that stream's attributes.

The same function writes the references (from the attribute truth) and the reference solver's
captions (from perceived attributes), so a perfect perceiver reproduces the reference exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maple_bench.modality import Tag

_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def _count_word(k: int) -> str:
    return _WORDS.get(k, str(k))


def describe_video(a: Mapping[str, Any]) -> str:
    k = int(a["count"])
    noun = a["shape"] if k == 1 else f"{a['shape']}s"
    verb = "moves" if k == 1 else "move"
    return f"{_count_word(k).capitalize()} {a['colour']} {noun} {verb} on a {a['background']} background."


def describe_audio(a: Mapping[str, Any]) -> str:
    k = int(a["beeps"])
    if k == 1:
        return f"There is one {a['loudness']} beep with a {a['pitch']} pitch."
    return f"There are {_count_word(k)} {a['loudness']} beeps with a {a['pitch']} pitch."


def describe_subtitles(a: Mapping[str, Any]) -> str:
    return (
        f"The subtitles say that {a['name']}'s favourite fruit is the {a['fruit']}, "
        f"the lucky number is {a['number']}, and it is {a['weather']} in {a['city']}."
    )


def describe(attrs: Mapping[str, Any], tag: Tag) -> str:
    """Caption of the streams in ``tag`` (V, A, S order). Missing attributes read 'unknown'."""
    filled = _Unknown(attrs)
    parts = []
    if tag.has_video:
        parts.append(describe_video(filled))
    if tag.has_audio:
        parts.append(describe_audio(filled))
    if tag.has_subtitles:
        parts.append(describe_subtitles(filled))
    return " ".join(parts)


class _Unknown(dict):
    """Attribute lookup where a missing or undetermined value reads as 'unknown'."""

    def __init__(self, attrs: Mapping[str, Any]) -> None:
        super().__init__({k: v for k, v in attrs.items() if v is not None})

    def __missing__(self, key: str) -> Any:
        return "unknown" if key not in ("count", "beeps") else 0
