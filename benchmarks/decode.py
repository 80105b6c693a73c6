"""Decode speed: backends on two clips, and seven presentations with vs without MediaCache.

Writes its own clips (PyAV) into a temporary folder, so it needs no data:

1. decord vs PyAV vs torchcodec (when it imports) for 8 uniformly spaced frames and for 16 kHz
   mono audio, on a ~30 s 224x224 25 fps clip and a ~60 s 640x360 30 fps clip, both with 44.1 kHz
   stereo AAC audio. Median of ``--repeats`` warm runs through the public API
   (``decode_frames`` / ``decode_audio``, header probe included).
2. The seven presentations (V, A, S, VA, VS, AS, VAS) of ``--videos`` short clips through
   ``present``: naively (every presentation decodes the video's streams and then masks, the
   usual load-then-drop pipeline), "presented only" (no cache, but only presented streams are
   decoded), and through one ``MediaCache``. Ratios are naive / cached.

    python benchmarks/decode.py [--repeats 5] [--videos 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from maple_bench.media import (
    AudioSpec,
    MediaCache,
    VideoSpec,
    available_backends,
    backend_info,
    decode_audio,
    decode_frames,
    write_srt,
    write_video,
)
from maple_bench.modality import PRESENTATIONS, VAS
from maple_bench.present import MediaConfig, present
from maple_bench.schema import MediaRef, Sample

CLIPS = {  # name: (seconds, height, width, fps)
    "30 s 224x224 25 fps": (30, 224, 224, 25),
    "60 s 640x360 30 fps": (60, 360, 640, 30),
}
AUDIO_RATE = 44100


def _frames(seconds: int, height: int, width: int, fps: int, seed: int) -> Iterator[np.ndarray]:
    """A moving gradient with a little noise: cheap to make, not trivially compressible."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-8, 9, (7, height, width, 3), dtype=np.int16)  # a small cycled bank
    y = np.linspace(0, 255, height)[:, None]
    x = np.linspace(0, 255, width)[None, :]
    for i in range(seconds * fps):
        frame = np.empty((height, width, 3), dtype=np.int16)
        frame[..., 0] = (x + 4 * i) % 256
        frame[..., 1] = (y + 2 * i) % 256
        frame[..., 2] = (3 * i) % 256
        yield np.clip(frame + noise[i % 7], 0, 255).astype(np.uint8)


def _audio(seconds: float, seed: int) -> np.ndarray:
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    rng = np.random.default_rng(seed)
    left = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(t.size)
    return np.stack([left, right]).astype(np.float32)


def write_clip(path: Path, seconds: int, height: int, width: int, fps: int, seed: int) -> Path:
    return write_video(
        path,
        _frames(seconds, height, width, fps, seed),
        fps,
        audio=_audio(seconds, seed),
        sample_rate=AUDIO_RATE,
        preset="ultrafast",
    )


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time in ms over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_backends(folder: Path, repeats: int) -> None:
    backends = available_backends()
    print("\n### Backends: 8 frames / 16 kHz mono audio (median ms, warm)\n")
    print("| clip | stream | " + " | ".join(backends) + " | decord / fastest |")
    print("|---|---|" + "---|" * len(backends) + "---|")
    identical = {}
    for seed, (name, (seconds, h, w, fps)) in enumerate(CLIPS.items()):
        path = write_clip(folder / f"bench_{h}p.mp4", seconds, h, w, fps, seed)
        for stream in ("8 frames", "audio 16k mono"):
            row = {}
            decode = decode_frames if stream == "8 frames" else decode_audio
            spec = VideoSpec() if stream == "8 frames" else AudioSpec()
            for b in backends:
                row[b] = median_ms(
                    lambda b=b, d=decode, p=path, s=spec: d(p, s, backend=b), repeats
                )
            ratio = row.get("decord", float("nan")) / min(row.values())
            cells = " | ".join(f"{row[b]:.1f}" for b in backends)
            print(f"| {name} | {stream} | {cells} | {ratio:.2f}x |")
        outs = [decode_frames(path, VideoSpec(), backend=b).data for b in backends]
        identical[name] = all(np.array_equal(outs[0], o) for o in outs[1:])
    print(f"\n8 sampled frames bit-identical across {backends}: {identical}")


def _samples(folder: Path, n: int, seconds: int) -> list[Sample]:
    samples = []
    cues = [
        (float(t), t + 0.9, f"Line {t}: the light is {'red' if t % 2 else 'green'}.")
        for t in range(seconds)
    ]
    for i in range(n):
        video = write_clip(folder / f"v{i:02d}.mp4", seconds, 224, 224, 25, 100 + i)
        write_srt(folder / f"v{i:02d}.srt", cues)
        samples.append(
            Sample(
                id=f"q{i}",
                video_id=f"v{i:02d}",
                question="What colour is the light?",
                rmt=VAS,
                options=("red", "green"),
                answer="red",
                media=MediaRef(video=video.name, subtitle=f"v{i:02d}.srt"),
            )
        )
    return samples


def bench_cache(folder: Path, n: int, seconds: int, repeats: int) -> None:
    samples = _samples(folder, n, seconds)
    config = MediaConfig(media_root=folder, video=VideoSpec(num_frames=8))

    def naive_all() -> None:  # load every stream, then mask: what a cache-less pipeline does
        for s in samples:
            for _tag in PRESENTATIONS:
                present(s, config, presentation=VAS)

    def presented_only() -> None:
        for s in samples:
            for tag in PRESENTATIONS:
                present(s, config, presentation=tag)

    stats = {}

    def cached() -> None:
        cache = MediaCache()
        for s in samples:
            for tag in PRESENTATIONS:
                present(s, config, presentation=tag, cache=cache)
        stats["last"] = cache.stats

    rows = {
        "naive: decode all streams per presentation, then mask": median_ms(naive_all, repeats),
        "no cache, decode presented streams only": median_ms(presented_only, repeats),
        "MediaCache (fresh per run)": median_ms(cached, repeats),
    }
    base = rows["naive: decode all streams per presentation, then mask"]
    cache_stats = stats["last"]
    print(
        f"\n### Seven presentations of {n} videos ({seconds} s 224x224 25 fps + 44.1 kHz "
        f"stereo + srt; 8 frames, 16 kHz mono) (median ms, warm)\n"
    )
    print("| strategy | total ms | ms per video | naive / this |")
    print("|---|---|---|---|")
    for name, ms in rows.items():
        print(f"| {name} | {ms:.0f} | {ms / n:.1f} | {base / ms:.2f}x |")
    print(
        f"\nMediaCache per run: {cache_stats.decodes} decodes {cache_stats.by_kind}, "
        f"{cache_stats.hits} hits, {cache_stats.misses} misses"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per cell (median)")
    parser.add_argument("--videos", type=int, default=10, help="videos in the presentation test")
    parser.add_argument("--video-seconds", type=int, default=8, help="length of those videos")
    parser.add_argument(
        "--keep", type=Path, default=None, help="write the clips here and keep them"
    )
    parser.add_argument("--skip-backends", action="store_true", help="only the cache table")
    args = parser.parse_args(argv)
    info = {b: backend_info(b)["version"] for b in available_backends()}
    print(f"backends: {info}; cpus: {os.cpu_count()}; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="maple-decode-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        if not args.skip_backends:
            bench_backends(folder, args.repeats)
        bench_cache(folder, args.videos, args.video_seconds, args.repeats)
        print(f"\n(total {time.perf_counter() - t0:.0f} s including writing the clips)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
