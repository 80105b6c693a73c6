"""``maple-bench synth``: write a MAPLE-Synth set (media + raw annotations + attribute truth)."""

from __future__ import annotations

import argparse
import sys

from maple_bench.cli.options import add_deprecated_alias


def _size(text: str) -> tuple[int, int]:
    """``"64x48"`` -> (64, 48) as (width, height); a single number means a square."""
    parts = text.lower().split("x")
    try:
        if len(parts) == 1:
            return int(parts[0]), int(parts[0])
        if len(parts) == 2:
            return int(parts[0]), int(parts[1])
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"size {text!r}: expected WIDTHxHEIGHT, e.g. 64x64")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "synth",
        help="generate a synthetic MAPLE benchmark with known required modalities",
        description=(
            "Write DIR/qa.jsonl, DIR/captions.jsonl, DIR/media/<video_id>.mp4 (h264 + aac) and "
            ".srt, and DIR/synth.json (config + attribute truth). Each video carries one "
            "question per tag, so --per-tag N makes N videos and 7 N questions."
        ),
    )
    p.add_argument("--out", required=True, help="output folder (built in a temp dir, then renamed)")
    p.add_argument("--per-tag", type=int, default=10, help="questions per tag")
    p.add_argument("--seed", type=int, default=0, help="master seed")
    p.add_argument("--clip-seconds", type=float, default=4.0, help="clip length in seconds")
    p.add_argument(
        "--size", type=_size, default=(64, 64), help="frame size WIDTHxHEIGHT (default: 64x64)"
    )
    p.add_argument("--fps", type=float, default=8.0, help="frame rate")
    p.add_argument(
        "--num-options",
        type=int,
        default=4,
        help="options per question (default: 4; 8 makes every tag's options balanced)",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=1.0,
        help="share of videos in the test split, the rest are train",
    )
    p.add_argument("--num-workers", type=int, default=1, help="media encoding processes")
    add_deprecated_alias(p, "--workers", "--num-workers", dest="num_workers", type=int)
    p.add_argument("--overwrite", action="store_true", help="replace DIR if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from maple_bench.synth import SynthConfig, generate

    try:
        config = SynthConfig(
            per_tag=args.per_tag,
            seed=args.seed,
            clip_seconds=args.clip_seconds,
            width=args.size[0],
            height=args.size[1],
            fps=args.fps,
            num_options=args.num_options,
            test_fraction=args.test_fraction,
        )
    except ValueError as e:
        print(f"maple-bench synth: {e}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        out = generate(args.out, config, workers=args.num_workers, overwrite=args.overwrite)
    except FileExistsError as e:
        print(f"maple-bench synth: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {7 * config.per_tag} questions, {7 * config.per_tag} caption rows and "
        f"{config.per_tag} videos to {out} in {time.perf_counter() - start:.1f} s"
    )
    return 0
