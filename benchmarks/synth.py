"""Time MAPLE-Synth generation and the reference solver's per-clip decode + perception.

Usage::

    .venv/bin/python benchmarks/synth.py [--per-tag 100] [--clip-seconds 4] [--size 64x64]
                                         [--workers 1 2] [--solver-clips 20] [--backend NAME]

Prints one table row per worker count (wall time and the main process's CPU time (workers'
CPU not included) for 7 x per-tag questions, ratio to the
2-minute target, and whether the output bytes match the first run), then the solver's median
time per clip to decode all three streams through ``maple_bench.present.present`` (no cache) and
to perceive them, plus the solver's accuracy on the exact presentations of those clips.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 120.0


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    from maple_bench.cli.synth import _size
    from maple_bench.media.backends import backend_info
    from maple_bench.modality import VAS
    from maple_bench.present import MediaConfig, present
    from maple_bench.schema import MediaRef, Sample
    from maple_bench.synth import SynthConfig, generate
    from maple_bench.synth.solver import ReferenceSolver

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-tag", type=int, default=100)
    ap.add_argument("--clip-seconds", type=float, default=4.0)
    ap.add_argument("--size", type=_size, default=(64, 64))
    ap.add_argument("--fps", type=float, default=8.0)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--solver-clips", type=int, default=20)
    ap.add_argument("--backend", default=None, help="decoder backend (default: the project's)")
    args = ap.parse_args(argv)
    logging.getLogger("maple_bench.synth").setLevel(logging.ERROR)  # the star-design notice

    config = SynthConfig(
        per_tag=args.per_tag,
        clip_seconds=args.clip_seconds,
        width=args.size[0],
        height=args.size[1],
        fps=args.fps,
    )
    n_q = 7 * config.per_tag
    print(
        f"MAPLE-Synth: {n_q} questions, {config.per_tag} clips of {config.clip_seconds:g} s at "
        f"{config.width}x{config.height}, {config.fps:g} fps"
    )
    print()
    print(
        "| workers | generate wall (s) | main-process CPU (s) | per clip wall (ms) | "
        "wall vs 120 s target | output sha256[:16] | identical |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as tmp:
        first = None
        out = Path(tmp) / "set"
        for w in args.workers:
            start, cpu = time.perf_counter(), time.process_time()
            generate(out, config, workers=w, overwrite=True)
            took, cpu = time.perf_counter() - start, time.process_time() - cpu
            digest = _digest(out)
            first = first or digest
            print(
                f"| {w} | {took:.2f} | {cpu:.2f} | {1000 * took / config.per_tag:.1f} | "
                f"{took / TARGET_SECONDS:.3f}x | {digest} | {digest == first} |"
            )

        rows = [json.loads(line) for line in (out / "qa.jsonl").read_text().splitlines()]
        media = MediaConfig(media_root=out / "media", backend=args.backend)
        solver = ReferenceSolver(media)
        by_video: dict[str, list[dict]] = {}
        for r in rows:
            by_video.setdefault(r["video_id"], []).append(r)
        decode_ms, perceive_ms, correct, total = [], [], 0, 0
        for vid in sorted(by_video)[: args.solver_clips]:
            qs = by_video[vid]
            probe = Sample(
                id=f"{vid}-probe", video_id=vid, question="?", rmt=VAS, options=("x", "y"),
                answer="x", media=MediaRef(video=f"{vid}.mp4", subtitle=f"{vid}.srt"),
            )  # fmt: skip
            start = time.perf_counter()
            model_input = present(probe, media)
            decode_ms.append(1000 * (time.perf_counter() - start))
            start = time.perf_counter()
            solver.perceive(model_input)
            perceive_ms.append(1000 * (time.perf_counter() - start))
            for r in qs:
                s = Sample(
                    id=r["id"], video_id=vid, question=r["question"], rmt=r["rmt"],
                    options=tuple(r["options"]), answer=r["answer"],
                    media=MediaRef(video=r["video"], subtitle=r["subtitle"]),
                )  # fmt: skip
                total += 1
                correct += solver.answer(present(s, media)) == s.answer_letter
    print()
    print(f"decoder: {backend_info(args.backend)}")
    print("| solver step (per clip, all 3 streams) | median ms | max ms | clips |")
    print("|---|---|---|---|")
    print(
        f"| decode via present() | {statistics.median(decode_ms):.1f} | {max(decode_ms):.1f} | {len(decode_ms)} |"
    )
    print(
        f"| perceive (frames, audio, text) | {statistics.median(perceive_ms):.1f} | {max(perceive_ms):.1f} | {len(perceive_ms)} |"
    )
    print(f"\nsolver accuracy on exact presentations of those clips: {correct}/{total}")
    return 0 if correct == total else 1


if __name__ == "__main__":
    sys.exit(main())
