"""Checking a dataset's media references against a media root before anything is written.

Paths in samples are relative to the media root and must stay inside it (no absolute paths, no
``..``, no symlink that leads out). A build fails on the first missing file, naming the row and
the column, so that an evaluation never discovers a hole half-way through.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from maple_bench.schema import MediaRef, Sample, SchemaError

SUBTITLE_EXTENSIONS = (".srt", ".vtt")


def _relative_parts(relative: str) -> tuple[str, ...] | None:
    """The parts of a media path (``\\`` read as ``/``), or None when it is absolute or has ``..``."""
    rel = PurePosixPath(relative.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts:
        return None
    return rel.parts


def safe_join(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it stays inside ``root`` (after resolving links), else None."""
    parts = _relative_parts(relative)
    if not parts:
        return None
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, *parts))
    if os.path.commonpath([real_root, target]) != real_root:
        return None
    return Path(target)


def check_media(
    samples: Sequence[Sample], root: Path, *, file: str | None = None, strict: bool = True
) -> list[Sample]:
    """Verify every referenced file exists under ``root``; fill in default ``<video>.srt`` subtitles.

    Returns the samples, with ``media.subtitle`` set where the source gave neither a subtitle
    file nor inline text and a subtitle file named after the video exists. With ``strict`` off
    (loading for evaluation, where a missing file is a per-sample error) nothing is raised.
    """
    exists: dict[str, bool] = {}

    def present(rel: str) -> bool | None:
        if rel not in exists:
            path = safe_join(root, rel)
            if path is None:
                return None
            exists[rel] = path.is_file()
        return exists[rel]

    out: list[Sample] = []
    for s in samples:
        m = s.media
        for column, rel in (("video", m.video), ("audio", m.audio), ("subtitle", m.subtitle)):
            if rel is None:
                continue
            ok = present(rel)
            if not strict:
                continue
            if ok is None:
                raise SchemaError(
                    f"media path {rel!r} leaves the media root {str(root)!r}",
                    row_id=s.id,
                    field=column,
                    file=file,
                    hint="paths must be relative to the media root, without '..'",
                )
            if not ok:
                raise SchemaError(
                    f"media file {rel!r} not found under the media root {str(root)!r}",
                    row_id=s.id,
                    field=column,
                    file=file,
                    hint="fix the path or pass the right --media-root",
                )
        if m.subtitle is None and s.subtitle_text is None and m.video:
            stem = str(PurePosixPath(m.video).with_suffix(""))
            for ext in SUBTITLE_EXTENSIONS:
                if present(stem + ext):
                    s = s.replace(media=MediaRef(m.video, m.audio, stem + ext, m.start, m.end))
                    break
        out.append(s)
    return out


def check_media_paths(samples: Sequence[Sample], *, file: str | None = None) -> None:
    """Refuse absolute and ``..`` media paths without touching the disk (no media root known)."""
    for s in samples:
        m = s.media
        for column, rel in (("video", m.video), ("audio", m.audio), ("subtitle", m.subtitle)):
            if rel is None:
                continue
            if _relative_parts(rel) is None:
                raise SchemaError(
                    f"media path {rel!r} is absolute or climbs out with '..'",
                    row_id=s.id,
                    field=column,
                    file=file,
                    hint="paths must be relative to the media root, without '..'",
                )
