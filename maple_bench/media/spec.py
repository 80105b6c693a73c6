"""What to decode (``VideoSpec``, ``AudioSpec``), what comes back (``Frames``, ``Audio``), and
the frame-sampling rule every backend shares.

Sampling rule (the same for every backend, so they return the same frames). Frame ``i`` is the
``i``-th frame in presentation order (as in decord, torchcodec and the ffmpeg CLI with
``-fps_mode passthrough``) and ``t_i`` its presentation time in seconds from the video stream's
start, read from the container's packet timestamps (on a constant-rate file ``t_i = i / fps``):

1. The window ``[start, end)`` (seconds; defaults: the whole file) selects the frames with
   ``start <= t_i < end``: indices ``first .. stop - 1``, ``n = stop - first`` frames. Its length
   in seconds is ``t_stop - t_first`` (``t_stop``: the next frame's time, or one average frame
   period after the last frame).
2. The number of frames to take is ``k = min(num_frames_spec, max_frames, n)`` for a
   ``num_frames`` spec, or ``k = min(max(1, round(window_seconds * fps_spec)), max_frames, n)``
   for an ``fps`` spec.
3. The index range is cut into ``k`` equal segments and the frame at each segment's centre is
   taken: ``index_j = first + floor((j + 0.5) * n / k)`` for ``j = 0 .. k-1``.

:func:`sample_indices` is the rule for a constant-rate file (``t_i = i / fps``);
:func:`sample_indices_at` takes the real frame times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Audio",
    "AudioSpec",
    "Frames",
    "VideoSpec",
    "sample_indices",
    "sample_indices_at",
    "target_size",
    "time_window",
]


@dataclass(frozen=True)
class VideoSpec:
    """How many frames to sample from a video and at what size."""

    num_frames: int | None = 8
    """Frames sampled uniformly over the window (used when ``fps`` is None)."""
    fps: float | None = None
    """Sample at this rate instead of a fixed count (when set, ``num_frames`` is ignored)."""
    max_frames: int = 32
    """Upper bound on the frames returned, whatever the rate or count says."""
    resize: tuple[int, int] | None = None
    """Exact output size ``(height, width)``; None keeps the source size."""
    max_pixels: int | None = None
    """Downscale (keeping aspect, even sides) so ``height * width <= max_pixels``."""

    def __post_init__(self) -> None:
        if self.num_frames is None and self.fps is None:
            raise ValueError("VideoSpec needs num_frames or fps")
        if self.num_frames is not None and self.num_frames < 1:
            raise ValueError(f"VideoSpec.num_frames must be >= 1, got {self.num_frames}")
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"VideoSpec.fps must be > 0, got {self.fps}")
        if self.max_frames < 1:
            raise ValueError(f"VideoSpec.max_frames must be >= 1, got {self.max_frames}")
        if self.resize is not None:
            h, w = self.resize
            if h < 1 or w < 1:
                raise ValueError(f"VideoSpec.resize must be positive (height, width), got {h, w}")
            object.__setattr__(self, "resize", (int(h), int(w)))
        if self.max_pixels is not None and self.max_pixels < 4:
            raise ValueError(f"VideoSpec.max_pixels must be >= 4, got {self.max_pixels}")

    def key(self) -> str:
        """A stable string naming this spec (cache keys, provenance)."""
        count = f"n{self.num_frames}" if self.fps is None else f"fps{self.fps:g}"
        size = "src" if self.resize is None else f"{self.resize[0]}x{self.resize[1]}"
        px = "" if self.max_pixels is None else f"-px{self.max_pixels}"
        return f"video:{count}-max{self.max_frames}-{size}{px}"


@dataclass(frozen=True)
class AudioSpec:
    """How to decode an audio stream."""

    sample_rate: int = 16000
    """Output rate in Hz; the decoder resamples (no torchaudio)."""
    mono: bool = True
    """Downmix to one channel (``[n]``); otherwise keep the source channels (``[C, n]``)."""
    max_seconds: float | None = None
    """Keep at most this many seconds from the window start."""

    def __post_init__(self) -> None:
        if self.sample_rate < 1:
            raise ValueError(f"AudioSpec.sample_rate must be >= 1, got {self.sample_rate}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"AudioSpec.max_seconds must be > 0, got {self.max_seconds}")

    def key(self) -> str:
        """A stable string naming this spec (cache keys, provenance)."""
        cap = "" if self.max_seconds is None else f"-max{self.max_seconds:g}s"
        return f"audio:{self.sample_rate}hz-{'mono' if self.mono else 'native'}{cap}"


@dataclass(frozen=True, eq=False)
class Frames:
    """Sampled video frames (compared by identity: arrays have no single truth value)."""

    data: np.ndarray
    """uint8 RGB, ``[T, H, W, 3]``."""
    timestamps: np.ndarray
    """float64 presentation time of each frame in seconds from the video stream's start, ``[T]``
    (from the container's timestamps, so also right on variable-frame-rate video)."""
    fps: float
    """The source video's average frame rate."""
    source_size: tuple[int, int]
    """The source ``(height, width)`` before any resize."""
    window_frames: int | None = None
    """Source frames in the sampled window (``n`` of the sampling rule); None when unknown.
    Model input builders derive the sampling rate from it as the Qwen utilities do:
    ``len(frames) / window_frames * fps``."""

    def __len__(self) -> int:
        return int(self.data.shape[0])


@dataclass(frozen=True, eq=False)
class Audio:
    """Decoded audio samples (compared by identity)."""

    data: np.ndarray
    """float32 in [-1, 1]: ``[n]`` mono or ``[C, n]``."""
    sample_rate: int
    """Samples per second of ``data``."""

    @property
    def seconds(self) -> float:
        """Duration of ``data`` in seconds."""
        return float(self.data.shape[-1]) / self.sample_rate


def sample_indices(
    num_frames: int,
    fps: float,
    spec: VideoSpec,
    start: float | None = None,
    end: float | None = None,
) -> np.ndarray:
    """:func:`sample_indices_at` for a constant-rate file (frame ``i`` at ``i / fps``)."""
    return sample_indices_at(np.arange(num_frames) / fps, fps, spec, start, end)


def time_window(times: np.ndarray, start: float | None, end: float | None) -> tuple[int, int]:
    """(first, stop) indices of the frames whose presentation time lies in ``[start, end)``."""
    times = np.asarray(times, dtype=np.float64)
    eps = 1e-6
    first = 0 if start is None else int(np.searchsorted(times, start - eps, side="left"))
    stop = len(times) if end is None else int(np.searchsorted(times, end - eps, side="left"))
    return first, stop


def sample_indices_at(
    times: np.ndarray,
    fps: float,
    spec: VideoSpec,
    start: float | None = None,
    end: float | None = None,
) -> np.ndarray:
    """Frame indices chosen by the module's sampling rule from every frame's presentation time
    (``times``: sorted seconds; ``fps``: the average rate, for the last frame's duration)."""
    times = np.asarray(times, dtype=np.float64)
    total = len(times)
    first, stop = time_window(times, start, end)
    n = stop - first
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if spec.fps is None:
        k = min(int(spec.num_frames or 1), spec.max_frames, n)
    else:
        t_stop = times[stop] if stop < total else times[-1] + 1.0 / fps
        k = min(max(1, round((t_stop - times[first]) * spec.fps)), spec.max_frames, n)
    j = np.arange(k, dtype=np.float64)
    return (first + np.floor((j + 0.5) * n / k)).astype(np.int64)


def target_size(height: int, width: int, spec: VideoSpec) -> tuple[int, int]:
    """Output ``(height, width)`` for a source size: ``resize`` wins, then ``max_pixels``."""
    if spec.resize is not None:
        return spec.resize
    if spec.max_pixels is not None and height * width > spec.max_pixels:
        scale = math.sqrt(spec.max_pixels / (height * width))
        return max(2, int(height * scale) // 2 * 2), max(2, int(width * scale) // 2 * 2)
    return height, width
