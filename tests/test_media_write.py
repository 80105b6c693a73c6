"""The writers produce real, decodable, deterministic media (checked with PyAV directly)."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from maple_bench.fileio import atomic_write_text, make_temp_dir
from maple_bench.media.write import (
    VFR_TIME_BASE,
    write_audio,
    write_srt,
    write_video,
    write_vtt,
)
from tests.fixtures.media import (
    CLIP_AUDIO_RATE,
    CLIP_COLORS,
    CLIP_FPS,
    CLIP_SECONDS,
    CLIP_SIZE,
    CLIP_TONE_HZ,
    COLOR_TOLERANCE,
    WAV_RATE,
    clip_frames,
    dominant_hz,
    tone,
)


def test_mp4_streams_and_content(mp4_with_audio: Path) -> None:
    with av.open(str(mp4_with_audio)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.audio[0].codec_context.name == "aac"
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == CLIP_SECONDS * CLIP_FPS
    assert frames[0].shape == (*CLIP_SIZE, 3)
    for k, colour in enumerate(CLIP_COLORS):
        mid = frames[k * CLIP_FPS + CLIP_FPS // 2]
        assert np.abs(mid.astype(int) - colour).max() <= COLOR_TOLERANCE
    with av.open(str(mp4_with_audio)) as c:
        audio = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    assert dominant_hz(audio, CLIP_AUDIO_RATE) == pytest.approx(CLIP_TONE_HZ, abs=2)


def test_no_audio_mp4_has_no_audio_stream(mp4_no_audio: Path) -> None:
    with av.open(str(mp4_no_audio)) as c:
        assert len(c.streams.audio) == 0
        assert len(c.streams.video) == 1


def test_write_video_is_deterministic_and_atomic(tmp_path: Path) -> None:
    frames = clip_frames(seconds=1)
    audio = tone(1, 16000, 300)
    a = write_video(tmp_path / "a.mp4", frames, CLIP_FPS, audio=audio)
    b = write_video(tmp_path / "b.mp4", iter(list(frames)), CLIP_FPS, audio=audio)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b)]
    assert digest[0] == digest[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4"]  # no temp leftovers


def test_write_video_rejects_bad_frames_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even height and width"):
        write_video(tmp_path / "odd.mp4", np.zeros((2, 5, 6, 3), np.uint8), 10)
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "f.mp4", np.zeros((2, 4, 4, 3), np.float32), 10)
    assert list(tmp_path.iterdir()) == []


def test_wav_round_trip(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "t.wav", tone(0.5, WAV_RATE, 500, channels=2), WAV_RATE)
    data, rate = sf.read(str(path), dtype="float32")
    assert rate == WAV_RATE and data.shape == (WAV_RATE // 2, 2)
    assert dominant_hz(data[:, 0], rate) == pytest.approx(500, abs=3)


def test_subtitle_writers(tmp_path: Path) -> None:
    cues = [(0.0, 1.5, "one"), (61.25, 3723.004, "two\nlines")]
    srt = write_srt(tmp_path / "s.srt", cues).read_text()
    assert "1\n00:00:00,000 --> 00:00:01,500\none\n" in srt
    assert "2\n00:01:01,250 --> 01:02:03,004\ntwo\nlines\n" in srt
    vtt = write_vtt(tmp_path / "s.vtt", cues).read_text()
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\none\n")


def test_write_video_vfr_timestamps_and_odd_sizes(tmp_path: Path) -> None:
    frames = np.zeros((5, 16, 16, 3), np.uint8)
    times = [0.0, 0.1, 0.2, 0.2 + 1 / 30, 0.2 + 2 / 30]
    path = write_video(tmp_path / "vfr.mp4", frames, 10, timestamps=times)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        pts = sorted(p.pts for p in c.demux(stream) if p.size)
        assert stream.time_base == VFR_TIME_BASE
    assert pts == [0, 9000, 18000, 21000, 24000]  # 90 kHz ticks
    odd = write_video(tmp_path / "odd.mp4", np.zeros((3, 7, 9, 3), np.uint8), 10, pix_fmt="yuv444p")
    with av.open(str(odd)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (9, 7)
    for bad, match in (([0.0, 0.1, 0.1, 0.3, 0.4], "increase strictly"),
                       ([0.0, 0.1], "more frames than the 2 timestamps"),
                       ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], "5 frames but 6 timestamps"),
                       ([-0.1, 0.0, 0.1, 0.2, 0.3], "start at >= 0")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            write_video(tmp_path / "bad.mp4", frames, 10, timestamps=bad)
    with pytest.raises(ValueError, match="pix_fmt"):
        write_video(tmp_path / "bad.mp4", frames, 10, pix_fmt="rgb24")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.mp4", "vfr.mp4"]


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        paths = [
            write_video(tmp_path / "v.mp4", clip_frames(seconds=1), CLIP_FPS),
            write_audio(tmp_path / "a.wav", tone(0.2, WAV_RATE, 500), WAV_RATE),
            write_srt(tmp_path / "s.srt", [(0.0, 1.0, "hi")]),
            atomic_write_text(tmp_path / "t.txt", "x"),
            make_temp_dir(tmp_path / "folder"),
        ]
    finally:
        os.umask(old)
    modes = [stat.S_IMODE(p.stat().st_mode) for p in paths]
    assert modes == [0o640, 0o640, 0o640, 0o640, 0o750]


_WRITE_ONE = """
import sys
import numpy as np
from maple_bench.media.write import write_video
rng = np.random.default_rng(0)
frames = rng.integers(0, 256, (24, 48, 64, 3), dtype=np.uint8)
frames[:, 8:24, 8:40] = 200  # flat areas and noise: many encoder decisions
audio = (0.3 * np.sin(np.arange(48000) / 16000 * 2 * np.pi * 440)).astype(np.float32)
write_video(sys.argv[1], frames, 8, audio=audio)
"""


def test_write_video_bytes_do_not_depend_on_uninitialised_memory(tmp_path: Path) -> None:
    # glibc fills fresh heap memory with the complement of MALLOC_PERTURB_: an encoder reading
    # memory it never wrote would give different bytes for 85 and 170 (x264's AVX-512 code did)
    digests = []
    for perturb in ("85", "170"):
        out = tmp_path / f"p{perturb}.mp4"
        env = {**os.environ, "MALLOC_PERTURB_": perturb}
        subprocess.run([sys.executable, "-c", _WRITE_ONE, str(out)], env=env, check=True)
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
