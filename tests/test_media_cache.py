"""MediaCache: keys, hit counts, invalidation, LRU bounds, thread safety, read-only arrays."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from maple_bench.media import (
    AudioSpec,
    MediaCache,
    MediaNotFoundError,
    VideoSpec,
    decode_frames,
    write_video,
)


def test_same_request_decodes_once(mp4_with_audio: Path, srt_file: Path) -> None:
    cache = MediaCache()
    spec = VideoSpec(num_frames=4)
    a = cache.get_frames(mp4_with_audio, spec)
    b = cache.get_frames(str(mp4_with_audio), spec)  # str or Path: same file, same entry
    assert a is b
    cache.get_audio(mp4_with_audio, AudioSpec())
    cache.get_audio(mp4_with_audio, AudioSpec())
    cache.get_subtitles(srt_file, 0.0, 1.0)
    cache.get_subtitles(srt_file, 0.0, 1.0)
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.decodes) == (3, 3, 3)
    assert stats.by_kind == {"frames": 1, "audio": 1, "subtitles": 1}
    assert stats.items == 3 and stats.bytes > a.data.nbytes


def test_spec_and_window_are_part_of_the_key(mp4_with_audio: Path) -> None:
    cache = MediaCache()
    cache.get_frames(mp4_with_audio, VideoSpec(num_frames=2))
    cache.get_frames(mp4_with_audio, VideoSpec(num_frames=3))
    cache.get_frames(mp4_with_audio, VideoSpec(num_frames=2), 1.0, 2.0)
    cache.get_audio(mp4_with_audio, AudioSpec(sample_rate=8000))
    cache.get_audio(mp4_with_audio, AudioSpec())
    assert cache.stats.by_kind == {"frames": 3, "audio": 2} and cache.stats.hits == 0


def test_cached_arrays_are_read_only(mp4_with_audio: Path) -> None:
    frames = MediaCache().get_frames(mp4_with_audio, VideoSpec(num_frames=2))
    with pytest.raises(ValueError):
        frames.data[0, 0, 0, 0] = 1


def test_changed_file_is_decoded_again(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", np.zeros((10, 16, 16, 3), np.uint8), 10)
    cache = MediaCache()
    first = cache.get_frames(path, VideoSpec(num_frames=1))
    write_video(path, np.full((10, 16, 16, 3), 200, np.uint8), 10)
    os.utime(path, ns=(1, 1))  # a new mtime even on coarse file-system clocks
    second = cache.get_frames(path, VideoSpec(num_frames=1))
    assert cache.stats.decodes == 2
    assert first.data.mean() < 20 and second.data.mean() > 180


def test_lru_eviction_by_items_and_bytes(mp4_with_audio: Path) -> None:
    cache = MediaCache(max_items=2)
    specs = [VideoSpec(num_frames=n) for n in (1, 2, 3)]
    for spec in specs:
        cache.get_frames(mp4_with_audio, spec)
    cache.get_frames(mp4_with_audio, specs[2])  # hit
    cache.get_frames(mp4_with_audio, specs[0])  # evicted -> decoded again
    assert len(cache) == 2 and cache.stats.decodes == 4 and cache.stats.hits == 1
    one = decode_frames(mp4_with_audio, specs[0]).data.nbytes
    small = MediaCache(max_bytes=int(one * 2.5))
    for spec in specs:
        small.get_frames(mp4_with_audio, spec)
    assert len(small) == 1 and small.stats.bytes <= one * 3 + 1024
    with pytest.raises(ValueError):
        MediaCache(max_items=0)


def test_threads_share_one_decode(mp4_with_audio: Path) -> None:
    cache = MediaCache()
    spec = VideoSpec(num_frames=8)
    results = []
    barrier = threading.Barrier(6)

    def work() -> None:
        barrier.wait()
        results.append(cache.get_frames(mp4_with_audio, spec))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.stats.by_kind == {"frames": 1} and cache.stats.hits == 5
    assert all(r is results[0] for r in results)


def test_missing_file_error_passes_through(tmp_path: Path, mp4_with_audio: Path) -> None:
    cache = MediaCache()
    with pytest.raises(MediaNotFoundError, match="gone.mp4"):
        cache.get_frames(tmp_path / "gone.mp4", VideoSpec())
    copy = shutil.copy(mp4_with_audio, tmp_path / "c.mp4")
    cache.get_frames(copy, VideoSpec(num_frames=1))
    cache.clear()
    assert cache.stats.decodes == 0 and len(cache) == 0
