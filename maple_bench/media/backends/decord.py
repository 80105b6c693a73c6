"""decord backend: the default decoder (bundles its own FFmpeg; accurate batch seeking)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path

import numpy as np

NAME = "decord"


def importable() -> bool:
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


def version() -> str:
    import decord

    try:
        return _dist_version("decord")
    except PackageNotFoundError:  # pragma: no cover
        return str(decord.__version__)


def read_frames(path: Path, indices: np.ndarray) -> np.ndarray:
    from decord import VideoReader, cpu

    reader = VideoReader(str(path), ctx=cpu(0))
    if len(indices) and int(max(indices)) >= len(reader):
        raise RuntimeError(f"frame {int(max(indices))} is past the last frame ({len(reader)})")
    try:
        return reader.get_batch([int(i) for i in indices]).asnumpy()
    except Exception as e:
        # decord 0.6.0 cannot copy out frames of some tiny widths (16 or 48 px: padded rows);
        # PyAV returns the same pixels for the same indices, so read those files with it.
        if "DECORDArrayCopyFromTo" not in str(e):
            raise
        from maple_bench.media.backends import pyav

        return pyav.read_frames(path, indices)


def read_audio(path: Path, sample_rate: int, mono: bool, start: float, end: float) -> np.ndarray:
    from decord import AudioReader, cpu

    reader = AudioReader(str(path), ctx=cpu(0), sample_rate=sample_rate, mono=mono)
    data = reader[:].asnumpy()
    first, stop = round(start * sample_rate), round(end * sample_rate)
    return np.ascontiguousarray(data[:, first:stop], dtype=np.float32)
