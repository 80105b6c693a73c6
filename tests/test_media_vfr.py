"""Variable frame rate and odd sizes: every backend returns the frames the ffmpeg CLI returns.

Frame ``i`` means the ``i``-th frame in presentation order (decord, torchcodec and
``ffmpeg -fps_mode passthrough`` all number frames that way); its timestamp is its real
presentation time. The clips carry their frame index in their pixels
(:mod:`tests.fixtures.stamped`), so a test sees which frame came back. The comparisons with the
ffmpeg CLI are skipped when it is not installed (CI installs it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maple_bench.media import (
    VideoSpec,
    available_backends,
    decode_frames,
    frame_times,
    sample_indices_at,
    write_video,
)
from tests.fixtures.stamped import ffmpeg_frames, ffprobe_times, read_indices, stamp_indices

BACKENDS = available_backends()

VFR_TIMES = [i / 10 for i in range(10)] + [1.0 + i / 30 for i in range(30)]
"""The issue's clip: 10 frames at 10 fps (0.0 .. 0.9 s), then 30 frames at 30 fps (1.0 .. 1.97 s)."""

LONG_TIMES = [*VFR_TIMES, *(2.0 + i / 10 for i in range(24))]
"""64 frames: the same, then 24 more at 10 fps; long enough that PyAV seeks (gap > 48 frames)."""


def _noise(frames: int, height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return stamp_indices(rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("vfr")
    return {
        "vfr": write_video(root / "vfr.mp4", _noise(40, 32, 96, 0), 20, timestamps=VFR_TIMES),
        "long_vfr": write_video(
            root / "long.mp4", _noise(64, 32, 96, 1), 20, timestamps=LONG_TIMES, gop=10
        ),
        # 97 x 53: odd width and height (H.264 4:4:4; 4:2:0 needs even sizes), constant 10 fps
        "odd": write_video(root / "odd.mp4", _noise(30, 53, 97, 2), 10, pix_fmt="yuv444p"),
    }


# ---- without the CLI: the numbers, by hand ----------------------------------------------


def test_vfr_frame_times_are_the_written_presentation_times(clips: dict[str, Path]) -> None:
    assert frame_times(clips["vfr"]) == pytest.approx(VFR_TIMES, abs=1e-9)
    assert frame_times(clips["long_vfr"]) == pytest.approx(LONG_TIMES, abs=1e-9)
    assert frame_times(clips["odd"]).tolist() == [i / 10 for i in range(30)]  # exactly i / fps


@pytest.mark.parametrize("backend", BACKENDS)
def test_vfr_uniform_sampling_and_all_frames(clips: dict[str, Path], backend: str) -> None:
    # 40 frames, 8 wanted: segments of 5 frames, centres 2.5, 7.5, ... -> floor
    eight = decode_frames(clips["vfr"], VideoSpec(num_frames=8), backend=backend)
    assert read_indices(eight.data) == [2, 7, 12, 17, 22, 27, 32, 37]
    assert eight.timestamps == pytest.approx([VFR_TIMES[i] for i in (2, 7, 12, 17, 22, 27, 32, 37)])
    every = decode_frames(clips["vfr"], VideoSpec(num_frames=40, max_frames=40), backend=backend)
    assert read_indices(every.data) == list(range(40))
    assert every.timestamps == pytest.approx(VFR_TIMES)
    # window [0.55, 1.5): frames 6..9 (0.6 .. 0.9 s) and 10..24 (1.0 .. 1.467 s) -> first 6,
    # n = 19; 4 wanted: 6 + floor(2.375, 7.125, 11.875, 16.625) = 8, 13, 17, 22
    window = decode_frames(clips["vfr"], VideoSpec(num_frames=4), start=0.55, end=1.5,
                           backend=backend)  # fmt: skip
    assert read_indices(window.data) == [8, 13, 17, 22]
    assert all(0.55 <= t < 1.5 for t in window.timestamps)


def test_sample_indices_at_matches_the_constant_rate_rule() -> None:
    from maple_bench.media import sample_indices

    times = np.arange(30) / 10.0
    for spec, start, end in [(VideoSpec(num_frames=4), None, None),
                             (VideoSpec(num_frames=2), 1.0, 2.0),
                             (VideoSpec(fps=2.0), None, None),
                             (VideoSpec(fps=3.0), 0.35, 2.45),
                             (VideoSpec(num_frames=2), 5.0, 6.0)]:  # fmt: skip
        assert (
            sample_indices_at(times, 10.0, spec, start, end).tolist()
            == sample_indices(30, 10.0, spec, start, end).tolist()
        )


# ---- against the ffmpeg CLI ---------------------------------------------------------------------

SPECS = {
    "8 frames": (VideoSpec(num_frames=8), None, None),
    "all frames": (VideoSpec(num_frames=64, max_frames=64), None, None),
    "window": (VideoSpec(num_frames=5), 0.55, 1.5),
    "late window (PyAV seeks)": (VideoSpec(num_frames=3), 3.0, None),
    "fps spec": (VideoSpec(fps=4.0), None, None),
}


@pytest.mark.parametrize("clip", ["vfr", "long_vfr", "odd"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_match_the_ffmpeg_cli(clips: dict[str, Path], clip: str, backend: str) -> None:
    path = clips[clip]
    reference = ffmpeg_frames(path)  # skips without the CLI
    times = ffprobe_times(path)
    assert len(reference) == len(times) == len(frame_times(path))
    assert read_indices(reference) == list(range(len(reference)))  # the CLI drops nothing
    assert frame_times(path) == pytest.approx(times, abs=1e-6)  # ffprobe prints microseconds
    checked = 0
    for name, (spec, start, end) in SPECS.items():
        if start is not None and start >= times[-1]:
            continue
        frames = decode_frames(path, spec, start=start, end=end, backend=backend)
        got = read_indices(frames.data)
        if spec.fps is None:  # the rule on ffprobe's times (the fps rule also needs the header)
            assert got == sample_indices_at(times, 1.0, spec, start, end).tolist(), name
        assert np.array_equal(frames.data, reference[got]), name  # same pixels as the CLI
        assert frames.timestamps == pytest.approx(times[got], abs=1e-6), name
        checked += 1
    assert checked >= 4


def test_one_decode_demuxes_the_frame_table_once(tmp_path: Path) -> None:
    from maple_bench.media.backends import pyav

    path = write_video(tmp_path / "once.mp4", _noise(12, 16, 96, 3), 10)
    pyav._frame_table.cache_clear()
    decode_frames(path, VideoSpec(num_frames=4), backend="pyav")
    decode_frames(path, VideoSpec(num_frames=2), backend="pyav")  # another sample, same video
    assert pyav._frame_table.cache_info().misses == 1
    write_video(path, _noise(20, 16, 96, 4), 10)  # the file changes: the table is read again
    assert len(frame_times(path)) == 20 and pyav._frame_table.cache_info().misses == 2
