"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every writer in the toolkit that replaces a file goes through here: a temp file in the same
folder (same filesystem, so ``os.replace`` is atomic), flushed and fsynced, then renamed.

Permissions follow the user's umask, like any file a shell command makes: temp files are
created ``0o666 & ~umask`` and temp folders ``0o777 & ~umask``. ``tempfile.mkstemp`` and
``mkdtemp`` would make them ``0600`` / ``0700``, and renaming keeps those modes, so colleagues on
shared storage could not read a benchmark folder.
"""

from __future__ import annotations

import io
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _sibling(path: Path, suffix: str) -> Path:
    """A fresh hidden name next to ``path`` (pid + random, so parallel writers never collide)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}")


def make_temp_dir(beside: str | Path, suffix: str = ".tmp") -> Path:
    """Create an empty folder next to ``beside`` with umask permissions (``mkdtemp`` gives 0700).

    The folder is meant to be filled and then renamed onto ``beside`` (or removed).
    """
    beside = Path(beside)
    beside.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = _sibling(beside, suffix)
        try:
            os.mkdir(tmp, 0o777)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        return tmp
    raise FileExistsError(f"could not create a temporary folder next to {beside}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path next to ``path`` for a library that writes files by name (FFmpeg,
    soundfile); on success it is renamed onto ``path``, on failure removed.

    The temp file already exists (empty, umask permissions), so the writer reuses its mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, path.suffix)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(
    path: str | Path,
    obj: Any,
    *,
    indent: int = 2,
    sort_keys: bool = True,
    default: Any = None,
) -> Path:
    """Write ``obj`` as strict JSON (NaN and infinities are refused) with a final newline."""
    text = json.dumps(
        obj,
        indent=indent,
        sort_keys=sort_keys,
        ensure_ascii=False,
        allow_nan=False,
        default=default,
    )
    return atomic_write_text(path, text + "\n")


def atomic_savefig(fig: Any, path: str | Path, **savefig_kwargs: Any) -> Path:
    """Render a matplotlib figure in memory and write it atomically (format from the suffix)."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", **savefig_kwargs)
    return atomic_write_bytes(path, buf.getvalue())
