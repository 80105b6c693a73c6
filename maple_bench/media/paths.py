"""Resolve media paths from data rows inside a media root, refusing anything that escapes it."""

from __future__ import annotations

import os
from pathlib import Path

from maple_bench.media.errors import UnsafePathError

__all__ = ["resolve_media_path"]


def resolve_media_path(root: Path | str | None, relative: str | os.PathLike[str]) -> Path:
    """The real path of ``relative`` under ``root``; raise :class:`UnsafePathError` on escape.

    Refused: any absolute path (``RAW_FORMAT.md``: paths are relative to the media root; the
    builder rejects them too, and a dataset must not depend on where its media lay on one
    machine), ``..`` that climbs out, and a symlink (anywhere along the path) whose target lies
    outside the root. ``root=None`` means the current directory. The file need not exist
    (decoding reports a missing file with its own error).
    """
    raw = os.fspath(relative)
    if not raw or not raw.strip() or "\x00" in raw:
        raise UnsafePathError(f"invalid media path {raw!r}", path=raw or None)
    if os.path.isabs(raw) or raw.replace("\\", "/").startswith("/"):
        raise UnsafePathError(
            f"media path {raw!r} is absolute; media paths are relative to the media root "
            f"(write it relative to the root, and pass --media-root)",
            path=raw,
        )
    base = Path.cwd() if root is None else Path(root)
    real_root = base.resolve()
    candidate = base / raw
    real = candidate.resolve()
    if real != real_root and real_root not in real.parents:
        how = "escapes" if ".." in Path(raw).parts else "follows a symlink out of"
        raise UnsafePathError(
            f"media path {raw!r} {how} the media root {real_root} (resolves to {real})",
            path=raw,
        )
    return real
