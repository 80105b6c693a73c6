"""``maple-bench train``: MAPO / MUPO post-training on a MAPLE dataset folder.

Examples::

    maple-bench train --config mapo --data out/maple_qa --out runs/mapo
    maple-bench train --config mupo lr=1e-3 max_steps=200 --data out/maple_qa --out runs/mupo
    maple-bench train --config my.yaml --data out/maple_qa --out runs/x      # YAML: preset: mapo ...
    torchrun --nproc_per_node 2 -m maple_bench train --config mapo ...    # 2 CPU processes (gloo)
    accelerate launch --config_file configs/accelerate/fsdp2.yaml -m maple_bench train ...  # GPUs
    maple-bench train --config configs/train/paper_qwen2_5_omni_3b.yaml --data ... --out ...

A run directory holds ``config.json``, ``metrics.jsonl``, ``curves.png`` and
``checkpoints/step-N/model`` (a ``save_pretrained`` folder the evaluators load). Re-running the
same command resumes from the newest checkpoint (a folder written with a different recipe is
refused); ``--no-resume`` starts the folder over (its metrics and checkpoints are removed).
"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="MAPO / MUPO RL post-training (modality-aware GRPO)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        default="mapo",
        help="preset (mupo, mapo, mapo-adaptive) or YAML file (default: mapo)",
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides, e.g. lr=1e-3 advantages=global (see --list-keys)",
    )
    p.add_argument("--data", help="dataset folder / file / Hub id readable by maple_bench.data")
    p.add_argument("--media-root", help="media root (default: the dataset's)")
    p.add_argument("--out", help="run directory")
    p.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints in --out")
    p.add_argument(
        "--list-keys",
        action="store_true",
        help="print every config key with its default and documentation, then exit",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import textwrap

    from maple_bench.mapo.config import PRESETS, TrainConfig, key_docs, load_config, valid_keys

    if args.list_keys:
        defaults = TrainConfig().to_dict()
        docs = key_docs()
        for k in valid_keys():
            print(f"{k} = {json.dumps(defaults[k])}")
            for line in textwrap.wrap(docs.get(k, ""), 92):
                print(f"    {line}")
        print("presets (what each sets over the defaults above):")
        for name, values in PRESETS.items():
            sets = ", ".join(f"{k}={json.dumps(v)}" for k, v in values.items())
            for i, line in enumerate(textwrap.wrap(sets, 88)):
                print(f"  {name if i == 0 else '':14s} {line}")
        return 0
    if not args.data or not args.out:
        print("maple-bench train: --data and --out are required", file=sys.stderr)
        return 2
    try:
        cfg = load_config(args.config, args.overrides)
    except (ValueError, FileNotFoundError) as e:
        print(f"maple-bench train: {e}", file=sys.stderr)
        return 2
    import contextlib
    import os

    from maple_bench.locks import path_lock
    from maple_bench.mapo.trainer import MapoTrainer

    # Rank 0 holds the output folder's lock: a second `train --out` into it is refused at once.
    rank0 = int(os.environ.get("RANK", "0")) == 0
    lock = path_lock(args.out, what="maple-bench train", wait=False) if rank0 else None
    with lock or contextlib.nullcontext():
        trainer = MapoTrainer(cfg, args.out, data=args.data, media_root=args.media_root)
        try:
            trainer.setup(resume=not args.no_resume)
        except ValueError as e:  # recipe mismatch, no usable samples, streams the policy lacks
            print(f"maple-bench train: {e}", file=sys.stderr)
            return 2
        try:
            history = trainer.train()
        finally:
            trainer.cleanup()
    if trainer.acc.is_main_process and history:
        last = history[-1]
        print(
            json.dumps(
                {"steps": last["step"], "reward_mean": last["reward_mean"], "out": str(args.out)}
            )
        )
    return 0
