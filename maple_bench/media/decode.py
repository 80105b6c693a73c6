"""Decode frames and audio from a file into :class:`Frames` / :class:`Audio`.

Every call first checks the file (exists, non-empty) and reads its header with PyAV (cheap: no
decoding) to raise a typed error before any backend runs: missing, empty, corrupt, no video
stream, no audio stream. The frames' presentation times come from the container's packet
table (:func:`frame_times`: PyAV demuxing, no decoding); the frame indices are chosen from them
(see :mod:`maple_bench.media.spec`), so every backend is asked for the same frames, and the
timestamps returned are those real times, also on variable-frame-rate video. Backend failures
while decoding become :class:`CorruptMediaError` naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maple_bench.media.backends import get_backend
from maple_bench.media.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaNotFoundError,
    NoAudioStreamError,
    NoVideoStreamError,
)
from maple_bench.media.spec import (
    Audio,
    AudioSpec,
    Frames,
    VideoSpec,
    sample_indices_at,
    target_size,
    time_window,
)

__all__ = [
    "MediaInfo",
    "blank_audio",
    "blank_frames",
    "decode_audio",
    "decode_frames",
    "frame_times",
    "probe",
]


@dataclass(frozen=True)
class MediaInfo:
    """What a container's header says (no decoding)."""

    path: Path
    """The file probed."""
    has_video: bool
    """Whether there is a video stream."""
    has_audio: bool
    """Whether there is an audio stream."""
    num_frames: int
    """Frames in the first video stream (0 without video; -1 when the header omits it)."""
    fps: float
    """Average frame rate of the video stream (0.0 without video)."""
    height: int
    """Frame height in pixels (0 without video)."""
    width: int
    """Frame width in pixels (0 without video)."""
    duration: float
    """Container duration in seconds (0.0 when unknown)."""
    audio_duration: float
    """Audio stream duration in seconds (falls back to ``duration``; 0.0 without audio)."""
    audio_channels: int = 0
    """Channels of the audio stream (0 without audio)."""


def _check_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise MediaNotFoundError("media file not found", path=p)
    if not p.is_file():
        raise MediaNotFoundError("media path is not a regular file", path=p)
    if p.stat().st_size == 0:
        raise EmptyMediaError("media file is empty (0 bytes)", path=p)
    return p


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Header facts of a media file, or a typed :class:`MediaError` naming it."""
    import av

    p = _check_file(path)
    try:
        with av.open(str(p)) as container:
            duration = (container.duration or 0) / 1_000_000
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            num, fps, height, width = 0, 0.0, 0, 0
            if video is not None:
                rate = video.average_rate or video.guessed_rate or video.base_rate
                fps = float(rate) if rate else 0.0
                num = int(video.frames) if video.frames else -1
                height, width = int(video.height), int(video.width)
                if not fps or not height:
                    raise CorruptMediaError("the video stream has no frame rate or size", path=p)
            audio_duration, channels = 0.0, 0
            if audio is not None:
                channels = int(audio.layout.nb_channels)
                audio_duration = (
                    float(audio.duration * audio.time_base)
                    if audio.duration and audio.time_base
                    else duration
                )
    except MediaError:
        raise
    except (av.FFmpegError, OSError, ValueError) as e:
        raise CorruptMediaError(f"cannot open the container: {e}", path=p) from e
    return MediaInfo(p, video is not None, audio is not None, num, fps, height, width,
                     duration, audio_duration, channels)  # fmt: skip


def frame_times(path: str | os.PathLike[str]) -> np.ndarray:
    """Presentation time (seconds from the video stream's start) of every frame, in order.

    Frame ``i`` of every backend is the frame at ``frame_times(path)[i]``.
    """

    info = probe(path)
    if not info.has_video:
        raise NoVideoStreamError("the file has no video stream", path=info.path)
    return _times(info)


def _times(info: MediaInfo) -> np.ndarray:
    from maple_bench.media.backends import pyav

    try:
        return pyav.frame_table(info.path).seconds(info.fps)
    except Exception as e:
        raise CorruptMediaError(f"cannot read the frame table: {e}", path=info.path) from e


def _frame_indices(
    info: MediaInfo, spec: VideoSpec, start: float | None, end: float | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """The sampled indices, their presentation times, and the number of source frames in the
    window (``total_frames`` of the Qwen utilities' fps rule)."""
    times = _times(info)
    indices = sample_indices_at(times, info.fps, spec, start, end)
    if len(indices) == 0:
        span = f"{times[-1]:.2f} s" if len(times) else "no frames"
        raise MediaError(
            f"the window [{start}, {end}] s holds no frames "
            f"(the video has {len(times)} frames, the last at {span})",
            path=info.path,
            hint="fix the sample's start/end",
        )
    first, stop = time_window(times, start, end)
    return indices, times[indices], max(0, stop - first)


def _resize(data: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize with antialiasing (Pillow); backend-independent, so outputs agree."""
    if data.shape[1:3] == size:
        return data
    from PIL import Image

    h, w = size
    return np.stack(
        [np.asarray(Image.fromarray(f).resize((w, h), Image.Resampling.BICUBIC)) for f in data]
    )


def decode_frames(
    path: str | os.PathLike[str],
    spec: VideoSpec,
    *,
    start: float | None = None,
    end: float | None = None,
    backend: str | None = None,
) -> Frames:
    """Uniformly sampled RGB frames of ``[start, end)`` (seconds) per ``spec``."""
    info = probe(path)
    if not info.has_video:
        raise NoVideoStreamError("the file has no video stream", path=info.path)
    impl = get_backend(backend)
    indices, stamps, window = _frame_indices(info, spec, start, end)
    try:
        data = impl.read_frames(info.path, indices)
    except MediaError:
        raise
    except Exception as e:
        raise CorruptMediaError(
            f"{impl.NAME} could not decode frames {indices.tolist()}: {e}", path=info.path
        ) from e
    height, width = int(data.shape[1]), int(data.shape[2])
    data = _resize(np.ascontiguousarray(data, dtype=np.uint8), target_size(height, width, spec))
    return Frames(
        data=data,
        timestamps=stamps,
        fps=info.fps,
        source_size=(info.height, info.width),
        window_frames=window,
    )


def _audio_window(
    info: MediaInfo, spec: AudioSpec, start: float | None, end: float | None
) -> tuple[float, float]:
    total = info.audio_duration or info.duration
    lo = max(0.0, start or 0.0)
    hi = total if end is None else min(end, total) if total else end
    if spec.max_seconds is not None:
        hi = min(hi, lo + spec.max_seconds)
    if hi <= lo:
        raise MediaError(
            f"the window [{start}, {end}] s holds no audio (the audio lasts {total:.2f} s)",
            path=info.path,
            hint="fix the sample's start/end",
        )
    return lo, hi


def decode_audio(
    path: str | os.PathLike[str],
    spec: AudioSpec,
    *,
    start: float | None = None,
    end: float | None = None,
    backend: str | None = None,
) -> Audio:
    """Audio of ``[start, end)`` resampled by the decoder to ``spec.sample_rate``."""
    info = probe(path)
    if not info.has_audio:
        raise NoAudioStreamError("audio is required but the file has no audio stream",
                                 path=info.path)  # fmt: skip
    lo, hi = _audio_window(info, spec, start, end)
    impl = get_backend(backend, kind="audio")
    try:
        data = impl.read_audio(info.path, spec.sample_rate, spec.mono, lo, hi)
    except MediaError:
        raise
    except Exception as e:
        raise CorruptMediaError(f"{impl.NAME} could not decode audio: {e}", path=info.path) from e
    if data.shape[-1] == 0:
        raise CorruptMediaError("the audio stream decoded to no samples", path=info.path)
    if spec.mono:
        data = data.mean(axis=0) if data.ndim == 2 else data
    return Audio(data=np.ascontiguousarray(data, dtype=np.float32), sample_rate=spec.sample_rate)


def blank_frames(path: str | os.PathLike[str], spec: VideoSpec, *, start=None, end=None) -> Frames:
    """Black frames shaped exactly like :func:`decode_frames`' output, from the header and the
    frame table only (no decoding)."""
    info = probe(path)
    if not info.has_video:
        raise NoVideoStreamError("the file has no video stream", path=info.path)
    indices, stamps, window = _frame_indices(info, spec, start, end)
    h, w = target_size(info.height, info.width, spec)
    return Frames(
        data=np.zeros((len(indices), h, w, 3), dtype=np.uint8),
        timestamps=stamps,
        fps=info.fps,
        source_size=(info.height, info.width),
        window_frames=window,
    )


def blank_audio(path: str | os.PathLike[str], spec: AudioSpec, *, start=None, end=None) -> Audio:
    """Silence as long as :func:`decode_audio`' output would be, from the header only.

    Without an audio stream the window length comes from the container duration, so a silent
    file still yields silence of its own length.
    """
    info = probe(path)
    if not info.has_audio:
        info = MediaInfo(**{**info.__dict__, "audio_duration": info.duration})
    lo, hi = _audio_window(info, spec, start, end)
    n = round(hi * spec.sample_rate) - round(lo * spec.sample_rate)
    shape = (n,) if spec.mono else (max(1, info.audio_channels), n)
    return Audio(data=np.zeros(shape, dtype=np.float32), sample_rate=spec.sample_rate)
