"""The one reader (and tail-repair) for the append-only JSONL logs the toolkit writes.

Sample logs, judge verdict caches and training metrics are appended one line at a time and
flushed, so a process killed mid-write can leave exactly one torn line: the LAST one, without
its final newline. Readers skip it (with a warning); appenders cut it first so the file stays
valid JSONL. A bad line anywhere else means the file was edited or mixed, and is an error.
Every such log is read through :func:`iter_jsonl` so the rule exists once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class JsonlFormatError(ValueError):
    """A line other than the last of a JSONL log is not a JSON object (the file was edited)."""


def iter_jsonl(path: Path | str, *, what: str = "log", fix: str = "") -> Iterator[dict[str, Any]]:
    """The JSON objects of ``path``, one per line; a torn LAST line is skipped, nothing else is.

    ``what`` names the file in messages (``"sample log"``); ``fix`` is the sentence telling the
    user what to do about a bad line. A missing file yields nothing.
    """
    path = Path(path)
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().split("\n")
    # A file written by an appender ends with "\n", so the final element is "" unless torn.
    last = len(lines) - 1
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            if i == last:
                log.warning("%s: ignoring a torn last line (interrupted write)", path)
                return
            raise JsonlFormatError(
                f"{path}: line {i + 1} of the {what} is not valid JSON ({e}). {fix}".rstrip()
            ) from None
        if not isinstance(rec, dict):
            raise JsonlFormatError(
                f"{path}: line {i + 1} of the {what} is not a JSON object. {fix}".rstrip()
            )
        yield rec


def read_jsonl(path: Path | str, *, what: str = "log", fix: str = "") -> list[dict[str, Any]]:
    """:func:`iter_jsonl` as a list."""
    return list(iter_jsonl(path, what=what, fix=fix))


def trim_torn_tail(path: Path | str) -> int:
    """Cut a trailing partial line (no final newline) left by a killed writer; bytes cut."""
    path = Path(path)
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        pos, chunk, keep = size, 65536, 0
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            idx = f.read(pos - start).rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                break
            pos = start
        f.truncate(keep)
        return size - keep


def append_jsonl(path: Path | str, record: dict[str, Any], *, sort_keys: bool = False) -> None:
    """Append one record as a line (a torn tail from a killed writer is cut first)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    trim_torn_tail(path)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, sort_keys=sort_keys) + "\n")
        f.flush()
