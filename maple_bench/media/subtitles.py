"""SubRip (.srt) and WebVTT (.vtt) parsing, and cues clipped to a window and joined as text.

One tolerant parser handles both formats: a UTF-8 BOM, CRLF or CR line ends, SRT cue numbers
and VTT cue identifiers, VTT cue settings after the end time (``align:start line:0``), timestamps
with or without hours and with ``,`` or ``.`` before the milliseconds, multi-line cue text, and
the VTT ``WEBVTT`` header and ``NOTE`` / ``STYLE`` / ``REGION`` blocks (skipped). Markup
(``<i>``, ``<v Speaker>``, ``<c.cls>``, ``{\\an8}``) is removed and HTML entities unescaped, so
the text is what a viewer reads. A timing line that cannot be parsed is an error naming the file
and line, not a silently dropped cue.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

from maple_bench.media.errors import EmptyMediaError, MediaNotFoundError, SubtitleError

__all__ = ["Cue", "cues_text", "parse_subtitles", "read_subtitles"]

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?\s*$")
_TAG = re.compile(r"<[^>\n]*>|\{\\[^}\n]*\}")
_SKIP_BLOCKS = ("NOTE", "STYLE", "REGION")


@dataclass(frozen=True)
class Cue:
    """One subtitle cue."""

    start: float
    """Start time in seconds."""
    end: float
    """End time in seconds."""
    text: str
    """Displayed text, markup removed; lines joined with ``\\n``."""


def _seconds(h: str | None, m: str, s: str, ms: str | None) -> float:
    frac = int(ms.ljust(3, "0")) / 1000 if ms else 0.0
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + frac


def _decode(data: bytes, source: str) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        return text
    try:  # legacy 8-bit subtitle files are common; cp1252 is the usual culprit
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise SubtitleError("not valid UTF-8 or cp1252 text", path=source) from None


def _clean(line: str) -> str:
    return html.unescape(_TAG.sub("", line)).replace("\u00a0", " ").strip()


def _parse_text(text: str, source: str | None) -> list[Cue]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    cues: list[Cue] = []
    i = 0
    if lines and lines[0].startswith("WEBVTT"):
        while i < len(lines) and lines[i].strip():  # header block runs to the first blank line
            i += 1
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block_start = i
        block: list[str] = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        head = block[0].strip()
        if head.split(" ", 1)[0].split("\t", 1)[0] in _SKIP_BLOCKS and "-->" not in head:
            continue
        timing_at = next((k for k, line in enumerate(block[:2]) if "-->" in line), None)
        if timing_at is None:
            if len(block) == 1 and head.isdigit():
                continue  # a stray cue number
            raise SubtitleError(
                f"line {block_start + 1}: expected a timing line 'start --> end', got {head!r}",
                path=source,
            )
        match = _TIMING.match(block[timing_at])
        if match is None:
            raise SubtitleError(
                f"line {block_start + timing_at + 1}: cannot parse timing "
                f"{block[timing_at].strip()!r}",
                path=source,
            )
        g = match.groups()
        start, end = _seconds(*g[:4]), _seconds(*g[4:])
        if end < start:
            raise SubtitleError(
                f"line {block_start + timing_at + 1}: cue ends ({end:.3f}s) before it starts "
                f"({start:.3f}s)",
                path=source,
            )
        body = [c for c in (_clean(line) for line in block[timing_at + 1 :]) if c]
        if body:
            cues.append(Cue(start, end, "\n".join(body)))
    return cues


def _looks_like_text(value: str) -> bool:
    return "-->" in value or value.lstrip("\ufeff").startswith("WEBVTT") or "\n" in value


def parse_subtitles(path_or_text: str | os.PathLike[str]) -> list[Cue]:
    """Cues from an .srt/.vtt file (a ``Path``, or a ``str`` naming a file) or from raw text.

    A ``str`` is taken as subtitle text when it contains ``-->``, a newline or starts with
    ``WEBVTT``; otherwise as a file path. Cues come back in file order.
    """
    if isinstance(path_or_text, str) and _looks_like_text(path_or_text):
        return _parse_text(path_or_text, None)
    path = Path(path_or_text)
    if not path.is_file():
        raise MediaNotFoundError("subtitle file not found", path=path)
    data = path.read_bytes()
    if not data.strip():
        raise EmptyMediaError("subtitle file is empty", path=path)
    return _parse_text(_decode(data, str(path)), str(path))


def cues_text(cues: list[Cue], *, start: float | None = None, end: float | None = None) -> str:
    """Text of the cues overlapping ``[start, end)``, one cue per line, lines of a cue joined by
    spaces; a cue repeated verbatim right after itself (rolling captions) appears once."""
    out: list[str] = []
    for cue in cues:
        if start is not None and cue.end <= start:
            continue
        if end is not None and cue.start >= end:
            continue
        line = " ".join(cue.text.split())
        if line and (not out or out[-1] != line):
            out.append(line)
    return "\n".join(out)


def read_subtitles(
    path: str | os.PathLike[str], *, start: float | None = None, end: float | None = None
) -> str:
    """The text of an .srt/.vtt file's cues that overlap the window ``[start, end)``."""
    return cues_text(parse_subtitles(Path(path)), start=start, end=end)
