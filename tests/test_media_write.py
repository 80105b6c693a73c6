"""The writers produce real, decodable, deterministic media (checked with PyAV directly)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from maple_bench.media.write import write_audio, write_srt, write_video, write_vtt
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
