"""``maple-bench demo [--out DIR] [--quick] [--seed S] [--overwrite]``.

Runs the whole toolkit end to end on MAPLE-Synth, offline: generate, build, train (MUPO and MAPO
presets), evaluate with ``maple-eval``, publish and render the leaderboard, plot, and print the
final table. ``--quick`` is the small version CI runs (under 2 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse

DEFAULT_OUT = "maple-demo"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the whole toolkit on a synthetic benchmark (offline, minutes on a CPU)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT}/)")
    p.add_argument(
        "--quick", action="store_true", help="small sizes and short training (the CI run)"
    )
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument(
        "--presets",
        default=None,
        help="comma-separated MAPO trainer presets to train (default mupo,mapo; "
        "e.g. mupo,mapo,mapo-adaptive)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out if it holds an earlier demo (other folders are never deleted)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    # the compact policy is tiny: more BLAS threads only contend for the 2 cores
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from evaluators.demo.config import demo_config
    from evaluators.demo.pipeline import DemoError, run_demo

    presets = (
        tuple(p.strip() for p in args.presets.split(",") if p.strip()) if args.presets else None
    )
    try:
        config = demo_config(quick=args.quick, seed=args.seed, presets=presets)
    except ValueError as e:
        print(f"maple-bench demo: {e}", file=sys.stderr)
        return 2
    try:
        run_demo(args.out, config, overwrite=args.overwrite)
    except DemoError as e:
        print(f"maple-bench demo: error: {e}", file=sys.stderr)
        if e.__cause__ is not None and getattr(args, "verbose", False):
            import traceback

            traceback.print_exception(e.__cause__)
        return 1 if e.__cause__ is not None else 2
    return 0
