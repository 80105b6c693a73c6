"""Write real media files purely from Python (PyAV's bundled FFmpeg; no system ffmpeg).

Used by the test fixtures, the synthetic benchmark and the benchmarks. Every writer is atomic:
the file is written to a temporary sibling (created with the user's umask) and moved into place
with :func:`os.replace`, so a reader never sees a half-written file.

**Byte-for-byte determinism.** The bytes of an mp4 depend only on the frames, audio and
arguments, not on the process, machine load or earlier work in the process:

- x264 runs with ``asm=0`` (its portable C code) by default. Root cause, measured on an AVX-512
  machine with the x264 (core 165) bundled in PyAV 18: the AVX-512 assembly reads heap memory
  it never initialised, so the encoded bytes depended on what earlier allocations had left
  there (``MALLOC_PERTURB_=85`` and ``=170`` gave different files from identical YUV input,
  and repeated encodes in one process differed now and then). Capping x264 at AVX2 or
  disabling its assembly removes the dependence. The C path also does not depend on which
  SIMD extensions a CPU has, whereas each assembly level may pick a different (valid)
  bitstream (the C and AVX2 outputs differ here). It costs about 12 ms of CPU per 4 s 64x64
  clip (21 vs 9 ms measured). ``bitexact=False`` restores the assembly for large, throwaway
  files.
- x264 is single-threaded (``threads=1``: frame and slice threads change the bitstream with the
  thread count), and RGB -> YUV 4:2:0 is done by swscale single-threaded with its ``BITEXACT``
  and ``ACCURATE_RND`` flags, before the encoder sees the frame (PyAV would otherwise convert
  inside ``encode`` with an automatic thread count).
- The muxer and encoders run with FFmpeg's ``bitexact`` flags (no library version strings, no
  creation time in the file).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from maple_bench.fileio import atomic_path

__all__ = ["VFR_TIME_BASE", "write_audio", "write_srt", "write_video", "write_vtt"]

_AAC_FRAME = 1024

VFR_TIME_BASE = Fraction(1, 90000)
"""Time base of a video written with explicit ``timestamps`` (the MPEG 90 kHz clock: exact for
every integer frame rate up to 90000 and for 30000/1001)."""

_PIX_FMTS = ("yuv420p", "yuv444p")


def _as_channels(audio: np.ndarray) -> np.ndarray:
    """float32 audio as ``[C, n]`` (a 1-D array is mono), clipped to [-1, 1]."""
    arr = np.asarray(audio, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] not in (1, 2):
        raise ValueError(f"audio must be [n] (mono) or [C, n] with C in (1, 2); got {arr.shape}")
    return np.ascontiguousarray(np.clip(arr, -1.0, 1.0))


def _check_frame(frame: np.ndarray, pix_fmt: str) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"frames must be uint8 [H, W, 3]; got {arr.dtype} {arr.shape}")
    if pix_fmt == "yuv420p" and (arr.shape[0] % 2 or arr.shape[1] % 2):
        raise ValueError(
            f"h264 with yuv420p needs even height and width; got {arr.shape[:2]} "
            "(pass pix_fmt='yuv444p' for odd sizes)"
        )
    return np.ascontiguousarray(arr)


def _check_timestamps(timestamps: Sequence[float]) -> list[int]:
    """Seconds -> strictly increasing pts in :data:`VFR_TIME_BASE` units, starting at >= 0."""
    pts = [round(float(t) / VFR_TIME_BASE) for t in timestamps]
    if pts and pts[0] < 0:
        raise ValueError(f"timestamps must start at >= 0 s; got {timestamps[0]}")
    for i in range(1, len(pts)):
        if pts[i] <= pts[i - 1]:
            raise ValueError(
                f"timestamps must increase strictly (at 1/90000 s resolution); frame {i} at "
                f"{timestamps[i]} s follows {timestamps[i - 1]} s"
            )
    return pts


def _to_yuv(arr: np.ndarray, pix_fmt: str) -> Any:
    """RGB -> YUV frame by swscale, single-threaded and bit-exact (see the module docstring)."""
    import av
    from av.video.reformatter import Interpolation

    flags = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.BITEXACT
    rgb = av.VideoFrame.from_ndarray(arr, format="rgb24")
    return rgb.reformat(format=pix_fmt, interpolation=flags, threads=1)


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
    timestamps: Sequence[float] | None = None,
    pix_fmt: str = "yuv420p",
    bitexact: bool = True,
) -> Path:
    """Encode ``frames`` (uint8 ``[T, H, W, 3]`` RGB, or an iterable of ``[H, W, 3]``) to a file.

    ``audio`` (float32 in [-1, 1], ``[n]`` mono or ``[C, n]``) becomes an ``audio_codec`` stream
    at ``sample_rate``; with ``audio=None`` the file has no audio stream at all. ``gop`` is the
    keyframe interval in frames (default: one per second of ``fps``).

    ``timestamps`` (seconds, one per frame, strictly increasing) writes a variable-frame-rate
    video: each frame is presented at its own time (in :data:`VFR_TIME_BASE` units) instead of
    ``index / fps``; ``fps`` then only sets the default keyframe interval and the rate hint.
    ``pix_fmt="yuv444p"`` (H.264 High 4:4:4) allows odd widths and heights. ``bitexact=False``
    lets x264 use its assembly (faster, but see the module docstring). Returns the final path.
    """
    import av

    if pix_fmt not in _PIX_FMTS:
        raise ValueError(f"pix_fmt must be one of {_PIX_FMTS}; got {pix_fmt!r}")
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    pts = None if timestamps is None else _check_timestamps(timestamps)
    time_base = VFR_TIME_BASE if pts is not None else 1 / rate
    with atomic_path(path) as tmp:
        container = av.open(
            str(tmp), mode="w", format=_container_format(path), options={"fflags": "+bitexact"}
        )
        try:
            astream: Any = None
            frame_iter = iter(frames)
            first = next(frame_iter, None)
            if first is None:
                raise ValueError(f"{path}: no frames to write")
            first = _check_frame(first, pix_fmt)
            height, width = first.shape[:2]
            vstream: Any = container.add_stream(codec, rate=rate)
            vstream.width, vstream.height = width, height
            vstream.pix_fmt = pix_fmt
            if pts is not None:
                vstream.time_base = time_base  # the mp4 timescale becomes 90000
            vstream.codec_context.time_base = time_base
            vstream.codec_context.thread_count = 1
            vstream.codec_context.flags |= av.codec.context.Flags.bitexact
            if codec in ("h264", "libx264"):
                vstream.codec_context.options = {
                    "crf": str(crf),
                    "preset": preset,
                    "threads": "1",
                    "g": str(gop or max(1, round(float(rate)))),
                    **({"x264-params": "asm=0"} if bitexact else {}),
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
                if pts is not None and index >= len(pts):
                    raise ValueError(f"{path}: more frames than the {len(pts)} timestamps")
                vf = _to_yuv(arr, pix_fmt)
                vf.pts = index if pts is None else pts[index]
                vf.time_base = time_base
                container.mux(vstream.encode(vf))
                shown_until = (
                    (index + 1) / float(rate)
                    if pts is None or index + 1 >= len(pts)
                    else float(pts[index + 1] * time_base)
                )
                encode_audio(int(shown_until * sample_rate))

            encode_video(first, 0)
            count = 1
            for i, arr in enumerate(frame_iter, start=1):
                encode_video(_check_frame(arr, pix_fmt), i)
                count += 1
            if pts is not None and count != len(pts):
                raise ValueError(f"{path}: {count} frames but {len(pts)} timestamps")
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
    with atomic_path(path) as tmp:
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
    with atomic_path(path) as tmp:
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
