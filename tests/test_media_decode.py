"""Frame and audio decoding: the sampling rule, content, backends agreeing, typed errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maple_bench.media import (
    AudioSpec,
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaNotFoundError,
    NoAudioStreamError,
    NoVideoStreamError,
    VideoSpec,
    available_backends,
    backend_info,
    blank_audio,
    blank_frames,
    decode_audio,
    decode_frames,
    probe,
    sample_indices,
    write_video,
)
from tests.fixtures.media import (
    CLIP_COLORS,
    CLIP_FPS,
    CLIP_SECONDS,
    CLIP_SIZE,
    CLIP_TONE_HZ,
    COLOR_TOLERANCE,
    WAV_SECONDS,
    WAV_TONE_HZ,
    dominant_hz,
    tone,
)
from tests.fixtures.stamped import read_indices, stamp_indices

BACKENDS = available_backends()


def _colour_of(frame: np.ndarray) -> int:
    """Index into CLIP_COLORS of a solid frame's colour."""
    mean = frame.reshape(-1, 3).mean(axis=0)
    return int(np.argmin([np.abs(mean - c).max() for c in CLIP_COLORS]))


# ---- the sampling rule, by hand ---------------------------------------------------------------


def test_sample_indices_segment_centres() -> None:
    # 30 frames, 4 wanted: segments of 7.5 frames, centres at 3.75, 11.25, 18.75, 26.25 -> floor
    assert sample_indices(30, 10.0, VideoSpec(num_frames=4)).tolist() == [3, 11, 18, 26]
    # window [1.0, 2.0) at 10 fps = frames 10..19; 2 wanted -> 10 + floor(2.5), 10 + floor(7.5)
    assert sample_indices(30, 10.0, VideoSpec(num_frames=2), 1.0, 2.0).tolist() == [12, 17]
    # more wanted than available -> every frame once
    assert sample_indices(5, 10.0, VideoSpec(num_frames=8)).tolist() == [0, 1, 2, 3, 4]
    # fps spec: 3 s window at 2 fps -> 6 frames, capped by max_frames=4
    assert len(sample_indices(30, 10.0, VideoSpec(fps=2.0))) == 6
    assert len(sample_indices(30, 10.0, VideoSpec(fps=2.0, max_frames=4))) == 4
    assert sample_indices(30, 10.0, VideoSpec(num_frames=2), 5.0, 6.0).tolist() == []


def test_video_spec_validation_and_key() -> None:
    with pytest.raises(ValueError, match="num_frames or fps"):
        VideoSpec(num_frames=None)
    with pytest.raises(ValueError, match="max_frames"):
        VideoSpec(max_frames=0)
    assert VideoSpec().key() == "video:n8-max32-src"
    assert VideoSpec(fps=1.5, resize=(32, 48)).key() == "video:fps1.5-max32-32x48"
    assert AudioSpec(max_seconds=2).key() == "audio:16000hz-mono-max2s"


# ---- content ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_frames_show_the_colour_of_their_second(mp4_with_audio: Path, backend: str) -> None:
    frames = decode_frames(mp4_with_audio, VideoSpec(num_frames=6), backend=backend)
    assert frames.data.shape == (6, *CLIP_SIZE, 3) and frames.data.dtype == np.uint8
    assert frames.fps == CLIP_FPS and frames.source_size == CLIP_SIZE
    assert frames.timestamps.tolist() == pytest.approx([0.2, 0.7, 1.2, 1.7, 2.2, 2.7])
    for frame, ts in zip(frames.data, frames.timestamps):
        colour = CLIP_COLORS[int(ts)]
        assert np.abs(frame.astype(int) - colour).max() <= COLOR_TOLERANCE


def test_window_selects_frames_inside_it(mp4_with_audio: Path) -> None:
    frames = decode_frames(mp4_with_audio, VideoSpec(num_frames=4), start=1.0, end=2.0)
    assert all(1.0 <= t < 2.0 for t in frames.timestamps)
    assert {_colour_of(f) for f in frames.data} == {1}


def test_backends_return_bit_identical_frames(tmp_path: Path) -> None:
    if len(BACKENDS) < 2:
        pytest.skip("only one backend available")
    rng = np.random.default_rng(0)
    video = stamp_indices(rng.integers(0, 256, (60, 32, 96, 3), dtype=np.uint8))
    path = write_video(tmp_path / "noise.mp4", video, 20, gop=10)
    spec = VideoSpec(num_frames=7)
    decoded = {b: decode_frames(path, spec, start=0.3, end=2.9, backend=b) for b in BACKENDS}
    first = decoded[BACKENDS[0]]
    for name, frames in decoded.items():
        assert np.array_equal(frames.data, first.data), name
        assert np.array_equal(frames.timestamps, first.timestamps), name
    assert read_indices(first.data) == np.round(first.timestamps * 20).astype(int).tolist()


def test_tiny_width_decord_quirk_is_covered(tmp_path: Path) -> None:
    # decord 0.6.0 cannot copy out 48-px-wide frames; its backend hands those files to PyAV
    rng = np.random.default_rng(2)
    path = write_video(tmp_path / "w48.mp4", rng.integers(0, 256, (20, 16, 48, 3), np.uint8), 10)
    outs = [decode_frames(path, VideoSpec(num_frames=3), backend=b).data for b in BACKENDS]
    assert all(np.array_equal(outs[0], o) for o in outs[1:]) and outs[0].shape == (3, 16, 48, 3)


def test_missing_optional_backend_says_how_to_install() -> None:
    if "torchcodec" in BACKENDS:
        pytest.skip("torchcodec imports here")
    with pytest.raises(RuntimeError, match="apt-get install ffmpeg"):
        backend_info("torchcodec")


def test_resize_and_max_pixels(mp4_with_audio: Path) -> None:
    frames = decode_frames(mp4_with_audio, VideoSpec(num_frames=2, resize=(24, 40)))
    assert frames.data.shape == (2, 24, 40, 3) and frames.source_size == CLIP_SIZE
    small = decode_frames(mp4_with_audio, VideoSpec(num_frames=2, max_pixels=48 * 64 // 4))
    assert small.data.shape == (2, 24, 32, 3)
    assert np.abs(small.data[0].astype(int) - CLIP_COLORS[0]).max() <= COLOR_TOLERANCE


@pytest.mark.parametrize("backend", BACKENDS)
def test_audio_from_container_resampled(mp4_with_audio: Path, backend: str) -> None:
    audio = decode_audio(mp4_with_audio, AudioSpec(), backend=backend)
    assert audio.sample_rate == 16000 and audio.data.ndim == 1 and audio.data.dtype == np.float32
    assert audio.seconds == pytest.approx(CLIP_SECONDS, abs=0.01)
    assert dominant_hz(audio.data, 16000) == pytest.approx(CLIP_TONE_HZ, abs=2)
    window = decode_audio(mp4_with_audio, AudioSpec(sample_rate=8000), start=1.0, end=1.5)
    assert window.data.shape == (4000,)
    capped = decode_audio(mp4_with_audio, AudioSpec(max_seconds=0.5), start=2.0, backend=backend)
    assert capped.seconds == pytest.approx(0.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_audio_from_separate_wav(wav_file: Path, backend: str) -> None:
    mono = decode_audio(wav_file, AudioSpec(), backend=backend)
    assert mono.seconds == pytest.approx(WAV_SECONDS, abs=0.01)
    assert dominant_hz(mono.data, 16000) == pytest.approx(WAV_TONE_HZ, abs=2)
    stereo = decode_audio(wav_file, AudioSpec(mono=False, sample_rate=8000), backend=backend)
    assert stereo.data.shape == (2, int(WAV_SECONDS * 8000))


def test_backends_agree_on_audio_at_the_native_rate(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noise = (0.3 * rng.standard_normal(2 * 22050)).astype(np.float32)
    path = write_video(
        tmp_path / "n.mp4", np.zeros((20, 32, 32, 3), np.uint8), 10, audio=noise, sample_rate=22050
    )
    outs = [decode_audio(path, AudioSpec(sample_rate=22050), backend=b).data for b in BACKENDS]
    for other in outs[1:]:
        assert other.shape == outs[0].shape
        assert np.abs(other - outs[0]).max() < 1e-4


def test_default_audio_backend_is_aligned(tmp_path: Path) -> None:
    # A click at exactly 1.0 s must come out at sample 16000 after resampling 48 kHz -> 16 kHz.
    click = np.zeros(2 * 48000, np.float32)
    click[48000:48048] = 0.8
    path = write_video(
        tmp_path / "c.mp4", np.zeros((20, 32, 32, 3), np.uint8), 10, audio=click, sample_rate=48000
    )
    audio = decode_audio(path, AudioSpec())
    assert backend_info(kind="audio")["name"] == "pyav"
    assert abs(int(np.argmax(np.abs(audio.data))) - 16008) <= 16


def test_blank_shapes_match_real(mp4_with_audio: Path) -> None:
    spec = VideoSpec(num_frames=5, resize=(16, 16))
    real, black = (
        f(mp4_with_audio, spec, start=0.5, end=2.5) for f in (decode_frames, blank_frames)
    )
    assert black.data.shape == real.data.shape and not black.data.any()
    assert np.array_equal(black.timestamps, real.timestamps)
    for aspec in (AudioSpec(), AudioSpec(mono=False, sample_rate=8000)):
        real_a = decode_audio(mp4_with_audio, aspec, start=0.5, end=2.5)
        silent = blank_audio(mp4_with_audio, aspec, start=0.5, end=2.5)
        assert silent.data.shape == real_a.data.shape and not silent.data.any()


def test_backend_info_and_unknown_backend(mp4_with_audio: Path) -> None:
    assert "pyav" in BACKENDS
    info = backend_info()
    assert info["name"] == BACKENDS[0] and info["version"]
    assert backend_info("av") == backend_info("pyav")
    with pytest.raises(ValueError, match="unknown media backend 'ffmpegx'"):
        decode_frames(mp4_with_audio, VideoSpec(), backend="ffmpegx")


def test_torchcodec_backend_matches_pyav(mp4_with_audio: Path) -> None:
    if "torchcodec" not in BACKENDS:
        pytest.skip("torchcodec does not import here (needs system FFmpeg libraries)")
    spec = VideoSpec(num_frames=6)
    a = decode_frames(mp4_with_audio, spec, backend="torchcodec")
    b = decode_frames(mp4_with_audio, spec, backend="pyav")
    assert np.array_equal(a.data, b.data)
    audio = decode_audio(mp4_with_audio, AudioSpec(), backend="torchcodec")
    assert dominant_hz(audio.data, 16000) == pytest.approx(CLIP_TONE_HZ, abs=2)


def test_probe(mp4_with_audio: Path, mp4_no_audio: Path, wav_file: Path) -> None:
    info = probe(mp4_with_audio)
    assert (info.has_video, info.has_audio, info.num_frames) == (True, True, CLIP_SECONDS * 10)
    assert (info.height, info.width, info.fps) == (*CLIP_SIZE, CLIP_FPS)
    assert probe(mp4_no_audio).has_audio is False
    assert probe(wav_file).has_video is False and probe(wav_file).audio_channels == 2


# ---- errors name the file and say what to do ----------------------------------------------------


def _decode_both(path: Path) -> list[MediaError]:
    errors = []
    for call in (
        lambda: decode_frames(path, VideoSpec()),
        lambda: decode_audio(path, AudioSpec()),
    ):
        with pytest.raises(MediaError) as info:
            call()
        errors.append(info.value)
    return errors


def test_missing_file(media_dir: Path) -> None:
    for err in _decode_both(media_dir / "nope.mp4"):
        assert isinstance(err, MediaNotFoundError) and isinstance(err, FileNotFoundError)
        assert "nope.mp4" in str(err) and "not found" in str(err) and "media root" in str(err)
        assert err.path == media_dir / "nope.mp4"


def test_zero_byte_file(empty_file: Path) -> None:
    for err in _decode_both(empty_file):
        assert isinstance(err, EmptyMediaError)
        assert str(empty_file) in str(err) and "0 bytes" in str(err)


def test_truncated_file(truncated_mp4: Path) -> None:
    for err in _decode_both(truncated_mp4):
        assert isinstance(err, CorruptMediaError)
        assert str(truncated_mp4) in str(err) and "re-download" in str(err)


@pytest.mark.parametrize("backend", BACKENDS)
def test_truncated_data_after_a_valid_header(tmp_path: Path, backend: str) -> None:
    # faststart-like damage: the index survives but the frame data is cut short
    path = write_video(tmp_path / "cut.mp4", np.zeros((40, 16, 16, 3), np.uint8), 10)
    data = path.read_bytes()
    moov = data.find(b"moov") - 4
    mdat = data.find(b"mdat") - 4
    assert 0 < mdat < moov  # PyAV writes mdat first, the index (moov) last
    cut = tmp_path / "damaged.mp4"
    cut.write_bytes(data[:mdat] + data[moov:])  # keep the index, drop every frame
    with pytest.raises(CorruptMediaError) as info:
        decode_frames(cut, VideoSpec(num_frames=4), backend=backend)
    assert "damaged.mp4" in str(info.value)


def test_no_video_stream(wav_file: Path) -> None:
    with pytest.raises(NoVideoStreamError) as info:
        decode_frames(wav_file, VideoSpec())
    assert str(wav_file) in str(info.value) and "no video stream" in str(info.value)
    with pytest.raises(NoVideoStreamError):
        blank_frames(wav_file, VideoSpec())


def test_no_audio_stream_when_required(mp4_no_audio: Path) -> None:
    with pytest.raises(NoAudioStreamError) as info:
        decode_audio(mp4_no_audio, AudioSpec())
    assert str(mp4_no_audio) in str(info.value) and "separate audio file" in str(info.value)
    # blanking needs no stream: silence as long as the file
    assert blank_audio(mp4_no_audio, AudioSpec()).seconds == pytest.approx(CLIP_SECONDS)


def test_window_outside_the_file(mp4_with_audio: Path) -> None:
    with pytest.raises(MediaError, match="holds no frames") as info:
        decode_frames(mp4_with_audio, VideoSpec(), start=10.0, end=11.0)
    assert "clip.mp4" in str(info.value)
    with pytest.raises(MediaError, match="holds no audio"):
        decode_audio(mp4_with_audio, AudioSpec(), start=10.0)


def test_errors_pickle(truncated_mp4: Path) -> None:
    import pickle

    err = CorruptMediaError("bad", path=truncated_mp4)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is CorruptMediaError and back.path == truncated_mp4 and str(back) == str(err)


def test_write_then_decode_tone_roundtrip(tmp_path: Path) -> None:
    path = write_video(
        tmp_path / "t.mp4",
        np.zeros((10, 16, 16, 3), np.uint8),
        10,
        audio=tone(1.0, 48000, 1000, channels=2),
        sample_rate=48000,
    )
    audio = decode_audio(path, AudioSpec(sample_rate=16000))
    assert dominant_hz(audio.data, 16000) == pytest.approx(1000, abs=2)
