"""torchcodec backend: the fastest decoder measured here, used when it imports.

It needs the system FFmpeg shared libraries (``apt-get install ffmpeg``) and a torch-matching
wheel (0.13.0 is the last CPU build). Frames are read with exact seeking, so indices mean the
same frames as in decord and PyAV.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path

import numpy as np

NAME = "torchcodec"


def importable() -> bool:
    try:
        from torchcodec.decoders import AudioDecoder, VideoDecoder  # noqa: F401
    except Exception:  # ImportError, or OSError/RuntimeError when FFmpeg libraries are missing
        return False
    return True


def version() -> str:
    try:
        return _dist_version("torchcodec")
    except PackageNotFoundError:  # pragma: no cover
        import torchcodec

        return str(torchcodec.__version__)


def read_frames(path: Path, indices: np.ndarray) -> np.ndarray:
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(str(path), seek_mode="exact", dimension_order="NHWC")
    batch = decoder.get_frames_at(indices=[int(i) for i in indices])
    return batch.data.numpy()


def read_audio(path: Path, sample_rate: int, mono: bool, start: float, end: float) -> np.ndarray:
    from torchcodec.decoders import AudioDecoder

    decoder = AudioDecoder(str(path), sample_rate=sample_rate, num_channels=1 if mono else None)
    samples = decoder.get_samples_played_in_range(start_seconds=start, stop_seconds=end)
    return np.ascontiguousarray(samples.data.numpy(), dtype=np.float32)
