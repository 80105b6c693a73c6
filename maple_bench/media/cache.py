"""A bounded, thread-safe decode cache: the seven presentations of one video decode it once.

Keys are ``(kind, realpath, mtime_ns, size, spec key, backend, window)``, so an edited or
replaced file is decoded again, and two specs or windows never share an entry. Concurrent
requests for the same key wait for one decode instead of racing (one lock per key in flight).
Entries are evicted least-recently-used beyond ``max_items`` or ``max_bytes``. Cached arrays are
made read-only: a consumer that mutates its input would otherwise corrupt every later hit.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maple_bench.media.decode import _check_file, decode_audio, decode_frames
from maple_bench.media.spec import Audio, AudioSpec, Frames, VideoSpec
from maple_bench.media.subtitles import read_subtitles

__all__ = ["CacheStats", "MediaCache"]


@dataclass(frozen=True)
class CacheStats:
    """Counters since the cache was created (or :meth:`MediaCache.clear`)."""

    hits: int
    """Requests answered from the cache."""
    misses: int
    """Requests that had to decode."""
    decodes: int
    """Decodes that finished (misses that raised are not counted)."""
    by_kind: dict[str, int] = field(default_factory=dict)
    """Finished decodes per kind: ``frames``, ``audio``, ``subtitles``."""
    items: int = 0
    """Entries held now."""
    bytes: int = 0
    """Approximate bytes held now (array buffers and text)."""


def _nbytes(value: Any) -> int:
    if isinstance(value, Frames):
        return value.data.nbytes + value.timestamps.nbytes
    if isinstance(value, Audio):
        return value.data.nbytes
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def _freeze(value: Any) -> Any:
    for attr in ("data", "timestamps"):
        arr = getattr(value, attr, None)
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
    return value


class MediaCache:
    """LRU cache of decoded frames, audio and subtitle text (see module docstring)."""

    def __init__(self, max_items: int = 256, max_bytes: int | None = 2 * 1024**3) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._inflight: dict[tuple, threading.Lock] = {}
        self._hits = 0
        self._misses = 0
        self._decodes: Counter[str] = Counter()

    @staticmethod
    def _file_key(path: str | os.PathLike[str]) -> tuple[str, int, int]:
        p = _check_file(path)
        st = p.stat()
        return os.path.realpath(p), st.st_mtime_ns, st.st_size

    def _get(self, key: tuple, kind: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self._hits += 1
                return self._data[key][0]
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:  # one decode per key; latecomers wait here, then find the entry
            with self._lock:
                if key in self._data:
                    self._data.move_to_end(key)
                    self._hits += 1
                    return self._data[key][0]
                self._misses += 1
            try:
                value = _freeze(load())
                with self._lock:  # stored before the gate opens, so waiters find it
                    self._decodes[kind] += 1
                    size = _nbytes(value)
                    self._data[key] = (value, size)
                    self._bytes += size
                    self._evict()
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
            return value

    def _evict(self) -> None:
        while len(self._data) > self.max_items or (
            self.max_bytes is not None and self._bytes > self.max_bytes and len(self._data) > 1
        ):
            _, (_, size) = self._data.popitem(last=False)
            self._bytes -= size

    def get_frames(
        self,
        path: str | os.PathLike[str],
        spec: VideoSpec,
        start: float | None = None,
        end: float | None = None,
        *,
        backend: str | None = None,
    ) -> Frames:
        """:func:`decode_frames` through the cache (the arrays are read-only)."""
        key = ("frames", *self._file_key(path), spec.key(), backend, start, end)
        return self._get(
            key, "frames", lambda: decode_frames(path, spec, start=start, end=end, backend=backend)
        )

    def get_audio(
        self,
        path: str | os.PathLike[str],
        spec: AudioSpec,
        start: float | None = None,
        end: float | None = None,
        *,
        backend: str | None = None,
    ) -> Audio:
        """:func:`decode_audio` through the cache (the array is read-only)."""
        key = ("audio", *self._file_key(path), spec.key(), backend, start, end)
        return self._get(
            key, "audio", lambda: decode_audio(path, spec, start=start, end=end, backend=backend)
        )

    def get_subtitles(
        self, path: str | os.PathLike[str], start: float | None = None, end: float | None = None
    ) -> str:
        """:func:`read_subtitles` through the cache."""
        key = ("subtitles", *self._file_key(path), "", None, start, end)
        return self._get(key, "subtitles", lambda: read_subtitles(Path(path), start=start, end=end))

    @property
    def stats(self) -> CacheStats:
        """A snapshot of the counters."""
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                decodes=sum(self._decodes.values()),
                by_kind=dict(self._decodes),
                items=len(self._data),
                bytes=self._bytes,
            )

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._data.clear()
            self._bytes = 0
            self._hits = self._misses = 0
            self._decodes.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)
