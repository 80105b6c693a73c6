"""Resolve media paths from data rows inside a media root, refusing anything that escapes it."""

from __future__ import annotations

import os
from pathlib import Path

from maple_bench.media.errors import UnsafePathError

__all__ = ["resolve_media_path"]


def resolve_media_path(root: Path | str | None, relative: str | os.PathLike[str]) -> Path:
    """The real path of ``relative`` under ``root``; raise :class:`UnsafePathError` on escape.

    Refused: ``..`` that climbs out, an absolute path outside the root, and a symlink (anywhere
    along the path) whose target lies outside the root. An absolute path inside the root is
    accepted. ``root=None`` means the current directory. The file need not exist (decoding
    reports a missing file with its own error).
    """
    raw = os.fspath(relative)
    if not raw or not raw.strip() or "\x00" in raw:
        raise UnsafePathError(f"invalid media path {raw!r}", path=raw or None)
    base = Path.cwd() if root is None else Path(root)
    real_root = base.resolve()
    candidate = Path(raw) if os.path.isabs(raw) else base / raw
    real = candidate.resolve()
    if real != real_root and real_root not in real.parents:
        how = "is absolute and outside" if os.path.isabs(raw) else "escapes"
        if not os.path.isabs(raw) and ".." not in Path(raw).parts:
            how = "follows a symlink out of"
        raise UnsafePathError(
            f"media path {raw!r} {how} the media root {real_root} (resolves to {real})",
            path=raw,
        )
    return real
