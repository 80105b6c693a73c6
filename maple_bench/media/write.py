"""Write real media files purely from Python (PyAV's bundled FFmpeg; no system ffmpeg).

Used by the test fixtures, the synthetic benchmark and the benchmarks. Every writer is atomic:
the file is written to a temporary sibling and moved into place with :func:`os.replace`, so a
reader never sees a half-written file. Output is deterministic for identical inputs: the muxer
and encoders run with FFmpeg's ``bitexact`` flags and x264 runs single-threaded (its threaded
mode is deterministic too, but one thread keeps the byte stream independent of the machine).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_audio", "write_srt", "write_video", "write_vtt"]

_AAC_FRAME = 1024


@contextmanager
def _atomic_target(path: Path):
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _as_channels(audio: np.ndarray) -> np.ndarray:
    """float32 audio as ``[C, n]`` (a 1-D array is mono), clipped to [-1, 1]."""
    arr = np.asarray(audio, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] not in (1, 2):
        raise ValueError(f"audio must be [n] (mono) or [C, n] with C in (1, 2); got {arr.shape}")
    return np.ascontiguousarray(np.clip(arr, -1.0, 1.0))


def _check_frame(frame: np.ndarray) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"frames must be uint8 [H, W, 3]; got {arr.dtype} {arr.shape}")
    if arr.shape[0] % 2 or arr.shape[1] % 2:
        raise ValueError(f"h264 with yuv420p needs even height and width; got {arr.shape[:2]}")
    return np.ascontiguousarray(arr)


def write_video(
    path: str | os.PathLike[str],
    frames: np.ndarray | Iterable[np.ndarray],
    fps: float,
    *,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
    codec: str = "h264",
    audio_codec: str = "aac",
    crf: int = 18,
    preset: str = "veryfast",
    gop: int | None = None,
) -> Path:
    """Encode ``frames`` (uint8 ``[T, H, W, 3]`` RGB, or an iterable of ``[H, W, 3]``) to a file.

    ``audio`` (float32 in [-1, 1], ``[n]`` mono or ``[C, n]``) becomes an ``audio_codec`` stream
    at ``sample_rate``; with ``audio=None`` the file has no audio stream at all. ``gop`` is the
    keyframe interval in frames (default: one per second). Returns the final path.
    """
    import av

    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    with _atomic_target(path) as tmp:
        container = av.open(
            str(tmp), mode="w", format=_container_format(path), options={"fflags": "+bitexact"}
        )
        try:
            astream: Any = None
            frame_iter = iter(frames)
            first = next(frame_iter, None)
            if first is None:
                raise ValueError(f"{path}: no frames to write")
            first = _check_frame(first)
            height, width = first.shape[:2]
            vstream: Any = container.add_stream(codec, rate=rate)
            vstream.width, vstream.height = width, height
            vstream.pix_fmt = "yuv420p"
            vstream.codec_context.time_base = 1 / rate
            vstream.codec_context.flags |= av.codec.context.Flags.bitexact
            if codec in ("h264", "libx264"):
                vstream.codec_context.options = {
                    "crf": str(crf),
                    "preset": preset,
                    "threads": "1",
                    "g": str(gop or max(1, round(float(rate)))),
                }
            if audio is not None:
                chans = _as_channels(audio)
                astream = container.add_stream(audio_codec, rate=sample_rate)
                astream.layout = "mono" if chans.shape[0] == 1 else "stereo"
                astream.codec_context.time_base = Fraction(1, sample_rate)
                astream.codec_context.flags |= av.codec.context.Flags.bitexact

            audio_pos = 0

            def encode_audio(until: int) -> None:
                # Interleave: push audio up to sample ``until`` (chunks of one AAC frame).
                nonlocal audio_pos
                while astream is not None and audio_pos < min(until, chans.shape[1]):
                    chunk = np.ascontiguousarray(chans[:, audio_pos : audio_pos + _AAC_FRAME])
                    af = av.AudioFrame.from_ndarray(
                        chunk, format="fltp", layout=astream.layout.name
                    )
                    af.sample_rate = sample_rate
                    af.pts = audio_pos
                    af.time_base = astream.codec_context.time_base
                    container.mux(astream.encode(af))
                    audio_pos += chunk.shape[1]

            def encode_video(arr: np.ndarray, index: int) -> None:
                vf = av.VideoFrame.from_ndarray(arr, format="rgb24")
                vf.pts = index
                vf.time_base = vstream.codec_context.time_base
                container.mux(vstream.encode(vf))
                encode_audio(int((index + 1) / float(rate) * sample_rate))

            encode_video(first, 0)
            for i, arr in enumerate(frame_iter, start=1):
                encode_video(_check_frame(arr), i)
            container.mux(vstream.encode(None))
            if astream is not None:
                encode_audio(chans.shape[1])
                container.mux(astream.encode(None))
        finally:
            container.close()
    return path


def _container_format(path: Path) -> str | None:
    """FFmpeg muxer for a suffix (the temp file keeps the suffix, but be explicit)."""
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}.get(
        path.suffix.lower()
    )


def write_audio(path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int = 16000) -> Path:
    """Write float32 audio (``[n]`` mono or ``[C, n]``) as 16-bit PCM (wav/flac by suffix)."""
    import soundfile as sf

    path = Path(path)
    chans = _as_channels(audio)
    with _atomic_target(path) as tmp:
        sf.write(str(tmp), chans.T, sample_rate, subtype="PCM_16", format=_sf_format(path))
    return path


def _sf_format(path: Path) -> str:
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: write_audio writes .wav, .flac or .ogg")
    return fmt


def _timestamp(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _write_text(path: Path, text: str) -> Path:
    with _atomic_target(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_srt(path: str | os.PathLike[str], cues: Sequence[tuple[float, float, str]]) -> Path:
    """Write SubRip cues ``(start_s, end_s, text)``; text may span lines."""
    blocks = [
        f"{i}\n{_timestamp(s, ',')} --> {_timestamp(e, ',')}\n{text.strip()}\n"
        for i, (s, e, text) in enumerate(cues, start=1)
    ]
    return _write_text(Path(path), "\n".join(blocks))


def write_vtt(path: str | os.PathLike[str], cues: Sequence[tuple[float, float, str]]) -> Path:
    """Write WebVTT cues ``(start_s, end_s, text)`` after the ``WEBVTT`` header."""
    blocks = [
        f"{_timestamp(s, '.')} --> {_timestamp(e, '.')}\n{text.strip()}\n" for s, e, text in cues
    ]
    return _write_text(Path(path), "WEBVTT\n\n" + "\n".join(blocks))
