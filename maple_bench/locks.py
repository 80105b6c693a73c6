"""One exclusive lock per output path, for every writer of a folder or file (built on ``filelock``).

Two ``maple-eval run`` into one ``--output``, two ``maple-bench build`` into one ``--out``, two
publishers of one board: without a lock each reads the same old state and the last writer wins
(a lost config, a log with duplicates). Every such writer holds :func:`path_lock` on its target
across read-modify-write.

The lock files live in one lock folder (``$MAPLE_BENCH_LOCK_DIR``, default
``<tmp>/maple-bench-locks``), named by a hash of the target's absolute path, never beside the
target: deleting a lock file on release would let a waiter hold a lock on an unlinked inode,
and keeping it beside the target would leave ``.lock`` files in boards/ and dataset folders.
The lock is advisory and per host (``flock``): set ``MAPLE_BENCH_LOCK_DIR`` to a folder on the
shared filesystem to serialise writers on several machines.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCK_DIR_ENV = "MAPLE_BENCH_LOCK_DIR"


class PathBusyError(RuntimeError):
    """Another process holds the lock on the path we were asked to write."""


def lock_dir() -> Path:
    """The folder holding the lock files (created world-writable with the sticky bit, like /tmp)."""
    base = os.environ.get(LOCK_DIR_ENV)
    folder = Path(base) if base else Path(tempfile.gettempdir()) / "maple-bench-locks"
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        if not base:
            with contextlib.suppress(OSError):
                folder.chmod(0o1777)  # several users share /tmp: anyone may add a lock file
    return folder


def lock_file(target: str | os.PathLike[str]) -> Path:
    """The lock file of ``target`` (the same for every spelling of its absolute path)."""
    real = os.path.realpath(os.path.abspath(os.fspath(target)))
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:32]
    return lock_dir() / f"{digest}.lock"


@contextlib.contextmanager
def path_lock(
    target: str | os.PathLike[str], *, what: str, wait: bool = True, timeout: float = -1
) -> Iterator[None]:
    """Hold the exclusive lock of ``target`` for the block.

    ``wait=False`` fails at once with :class:`PathBusyError` when another process holds it (an
    evaluation can run for hours: better say so than block); otherwise wait up to ``timeout``
    seconds (-1: no limit). ``what`` names the writer in the message (``"maple-eval run"``).
    """
    from filelock import FileLock, Timeout

    lock = FileLock(lock_file(target), timeout=0 if not wait else timeout, mode=0o666)
    try:
        lock.acquire()
    except Timeout:
        raise PathBusyError(
            f"{target} is being written by another process ({what}); wait for it to finish or "
            f"choose another output path"
        ) from None
    try:
        yield
    finally:
        lock.release()
