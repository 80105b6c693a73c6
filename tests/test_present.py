"""Presentations and masking: only the presented streams reach the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import maple_bench.media.backends.decord as decord_backend
import maple_bench.media.backends.pyav as pyav_backend
from maple_bench.media import (
    AudioSpec,
    MediaCache,
    MediaError,
    MediaNotFoundError,
    NoAudioStreamError,
    UnsafePathError,
    VideoSpec,
)
from maple_bench.modality import BLIND, PRESENTATIONS, parse_tag
from maple_bench.present import Delivered, MediaConfig, present
from maple_bench.schema import MediaRef, Sample
from tests.fixtures.media import CLIP_SECONDS, CLIP_TONE_HZ, WAV_TONE_HZ, dominant_hz

SUBS = "Hello there.\nThe red light turns green.\nGoodbye."
"""The fixture subtitles as delivered (48 characters)."""


def _sample(rmt: str = "VAS", **media: object) -> Sample:
    ref = {"video": "clip.mp4", "subtitle": "subs.srt", **media}
    return Sample(
        id="q1",
        video_id="clip",
        question="What colour is the light?",
        rmt=rmt,
        options=("red", "green"),
        answer="red",
        media=MediaRef(**ref),
    )


@pytest.fixture
def config(media_dir: Path) -> MediaConfig:
    return MediaConfig(media_root=media_dir, video=VideoSpec(num_frames=4))


class AudioLeak(BaseException):
    """Raised by the patched audio readers; a BaseException so no error handler swallows it."""


@pytest.fixture
def no_audio_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every backend's audio reader fail loudly: any audio decode is a leak."""

    def leak(*args: object, **kwargs: object) -> None:
        raise AudioLeak("audio was decoded although A is not presented")

    monkeypatch.setattr(pyav_backend, "read_audio", leak)
    monkeypatch.setattr(decord_backend, "read_audio", leak)


def test_seven_presentations_decode_each_stream_once(config: MediaConfig) -> None:
    cache = MediaCache()
    sample = _sample()
    inputs = {
        tag.name: present(sample, config, presentation=tag, cache=cache) for tag in PRESENTATIONS
    }
    assert cache.stats.by_kind == {"frames": 1, "audio": 1, "subtitles": 1}
    assert cache.stats.misses == 3 and cache.stats.hits == 4 * 3 - 3
    for name, mi in inputs.items():
        tag = parse_tag(name)
        assert mi.presentation == tag and mi.policy == "drop"
        assert (mi.frames is not None) == tag.has_video
        assert (mi.audio is not None) == tag.has_audio
        assert (mi.subtitles is not None) == tag.has_subtitles
        assert mi.use_audio_in_video == (tag.has_audio and tag.has_video)
    full = inputs["VAS"]
    assert full.delivered == Delivered(
        frames=4, audio_seconds=pytest.approx(CLIP_SECONDS, abs=0.01), subtitle_chars=len(SUBS)
    )
    assert full.subtitles == SUBS and len(SUBS) == 48
    assert inputs["V"].delivered == Delivered(4, 0.0, 0)


def test_video_without_audio_never_decodes_the_soundtrack(
    config: MediaConfig, no_audio_decoding: None
) -> None:
    for policy in ("drop", "blank"):
        cfg = MediaConfig(media_root=config.media_root, video=config.video, policy=policy)
        cache = MediaCache()
        for tag in ("V", "VS"):
            mi = present(_sample(), cfg, presentation=tag, cache=cache)
            assert mi.use_audio_in_video is False
            assert mi.frames is not None and len(mi.frames) == 4
            assert mi.delivered.audio_seconds == 0.0
            if policy == "drop":
                assert mi.audio is None
            else:  # silence of the right length, computed from the header only
                assert mi.audio is not None and not mi.audio.data.any()
                assert mi.audio.seconds == pytest.approx(CLIP_SECONDS, abs=0.01)
        assert "audio" not in cache.stats.by_kind


def test_leak_guard_is_real(config: MediaConfig, no_audio_decoding: None) -> None:
    # the guard above would catch a leak: presenting A does hit the patched readers
    with pytest.raises(AudioLeak, match="audio was decoded"):
        present(_sample(), config, presentation="VA")


def test_blank_policy_shapes_like_the_real_streams(config: MediaConfig) -> None:
    blank = MediaConfig(media_root=config.media_root, video=config.video, policy="blank")
    real = present(_sample(), config, presentation="VAS")
    only_s = present(_sample(), blank, presentation="S")
    assert only_s.frames is not None and only_s.frames.data.shape == real.frames.data.shape
    assert not only_s.frames.data.any()
    assert only_s.audio is not None and only_s.audio.data.shape == real.audio.data.shape
    assert only_s.subtitles == real.subtitles
    assert only_s.delivered == Delivered(0, 0.0, len(SUBS))
    only_v = present(_sample(), blank, presentation="V")
    assert only_v.subtitles == "" and only_v.delivered.subtitle_chars == 0
    nothing = present(_sample(), config, presentation=BLIND)
    assert (nothing.frames, nothing.audio, nothing.subtitles) == (None, None, None)


def test_window_applies_to_every_stream(config: MediaConfig) -> None:
    mi = present(_sample(start=1.0, end=2.0), config, presentation="VAS")
    assert all(1.0 <= t < 2.0 for t in mi.frames.timestamps)
    assert mi.audio.seconds == pytest.approx(1.0)
    assert mi.subtitles == "The red light turns green."


def test_inline_subtitle_text_wins(config: MediaConfig) -> None:
    plain = _sample().replace(subtitle_text="  spoken words  ")
    assert present(plain, config, presentation="S").subtitles == "spoken words"
    cues = "1\n00:00:00,000 --> 00:00:01,000\nearly\n\n2\n00:00:05,000 --> 00:00:06,000\nlate\n"
    timed = _sample(start=4.0, end=7.0).replace(subtitle_text=cues)
    assert present(timed, config, presentation="S").subtitles == "late"
    no_subs = _sample(subtitle=None)
    assert present(no_subs, config, presentation="S").subtitles == ""


def test_separate_audio_file(config: MediaConfig) -> None:
    mi = present(_sample(audio="tone.wav"), config, presentation="VA")
    assert mi.use_audio_in_video is False
    assert dominant_hz(mi.audio.data, 16000) == pytest.approx(WAV_TONE_HZ, abs=2)
    own = present(_sample(), config, presentation="A")
    assert dominant_hz(own.audio.data, 16000) == pytest.approx(CLIP_TONE_HZ, abs=2)
    assert own.use_audio_in_video is False  # no frames to interleave with under drop


def test_errors_name_the_sample_and_the_file(config: MediaConfig) -> None:
    with pytest.raises(MediaNotFoundError) as info:
        present(_sample(video="missing.mp4"), config, presentation="V")
    assert "'q1'" in str(info.value) and "missing.mp4" in str(info.value)
    with pytest.raises(NoAudioStreamError) as info2:
        present(_sample(video="silent.mp4"), config, presentation="VA")
    assert "'q1'" in str(info2.value) and "silent.mp4" in str(info2.value)
    # the silent video is fine when A is not presented
    assert present(_sample(video="silent.mp4"), config, presentation="VS").frames is not None
    with pytest.raises(MediaError, match="presents video but has no video file"):
        present(_sample(video=None), config, presentation="V")


@pytest.mark.parametrize(
    "field, bad", [("video", "../escape.mp4"), ("subtitle", "/etc/passwd"), ("audio", "../a.wav")]
)
def test_paths_escaping_the_media_root_are_refused(
    config: MediaConfig, field: str, bad: str
) -> None:
    with pytest.raises(UnsafePathError) as info:
        present(_sample(**{field: bad}), config, presentation="VAS")
    assert bad in str(info.value) and "'q1'" in str(info.value)


def test_config_validation_and_provenance(media_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown masking policy 'hide'"):
        MediaConfig(policy="hide")
    cfg = MediaConfig(media_root=str(media_dir), audio=AudioSpec(sample_rate=8000))
    assert cfg.media_root == media_dir
    prov = cfg.provenance()
    assert prov["policy"] == "drop" and prov["audio"]["sample_rate"] == 8000
    assert prov["video"]["key"] == "video:n8-max32-src"
    assert set(prov["backend"]) == {"name", "version"} and prov["backend"]["version"]
    assert prov["audio_backend"]["name"] == "pyav"
    assert np.asarray(list(prov["video"].values()), dtype=object).size == 6
