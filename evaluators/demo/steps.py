"""The demo's steps, one function each, in the order the demo runs them.

Every function calls the toolkit's own public API (the same code behind ``maple-bench synth``,
``maple-bench build``, ``maple-bench train``, ``maple-eval run`` and ``maple-bench leaderboard``)
and returns a small JSON-able dict of what it produced; nothing here computes a metric itself.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evaluators.demo.config import DemoConfig, model_names
from evaluators.demo.layout import DATASET_OF_TASK, Layout

log = logging.getLogger(__name__)


def generate_synth(config: DemoConfig, layout: Layout) -> dict[str, Any]:
    """Step 1: MAPLE-Synth media + raw annotations, split into train/test by video."""
    from maple_bench.synth import SynthConfig, generate

    sc = SynthConfig(
        per_tag=config.per_tag,
        seed=config.seed,
        clip_seconds=config.clip_seconds,
        num_options=config.num_options,
        test_fraction=config.test_fraction,
    )
    generate(layout.synth, sc, overwrite=True)
    rows = [json.loads(line) for line in (layout.synth / "qa.jsonl").read_text().splitlines()]
    n_test = sum(1 for r in rows if r.get("split") == "test")
    return {
        "folder": str(layout.synth),
        "videos": config.per_tag,
        "questions": 7 * config.per_tag,
        "test_questions": n_test,
        "train_questions": 7 * config.per_tag - n_test,
    }


def build_datasets(config: DemoConfig, layout: Layout) -> dict[str, Any]:
    """Step 2: MAPLE-QA and MAPLE-QA+ dataset folders (parquet + data card) from the synth set."""
    from maple_bench.data import build_dataset

    out: dict[str, Any] = {}
    for builder, name in (("qa", "maple_qa"), ("qa-plus", "maple_qa_plus")):
        result = build_dataset(builder, layout.synth, layout.dataset(name), seed=config.seed)
        out[name] = {
            "folder": str(result.out),
            "card": str(Path(result.out) / "README.md"),
            "rows": {split: c["num_rows"] for split, c in result.counts.items()},
        }
    return out


def _progress_callback(bar: Any) -> Any:
    def update(trainer: Any, row: dict[str, Any]) -> None:
        bar.update(1)
        bar.set_postfix(reward=f"{row['reward_mean']:.3f}", refresh=False)

    return update


def train_policies(config: DemoConfig, layout: Layout) -> dict[str, Any]:
    """Step 3: one compact policy per MAPO trainer preset, on the train split of MAPLE-QA."""
    from tqdm.auto import tqdm

    from maple_bench.mapo import load_config
    from maple_bench.mapo.checkpoint import latest_checkpoint
    from maple_bench.mapo.trainer import MapoTrainer
    from maple_bench.media import MediaCache

    cache = MediaCache(max_items=4096)  # both presets decode the same clips: decode them once
    out: dict[str, Any] = {}
    for preset in config.presets:
        cfg = load_config(preset).replace(
            policy="compact",
            data_config="maple_qa",
            split="train",
            max_steps=config.train_steps,
            batch_size=config.batch_size,
            group_size=config.group_size,
            lr=config.lr,
            seed=config.seed,
            progress=False,  # the demo draws its own bar per preset
            extra={"name": f"compact policy, preset {preset} (maple-bench demo)"},
        )
        run_dir = layout.train(preset)
        with tqdm(total=cfg.max_steps, desc=f"train {preset}", unit="step") as bar:
            trainer = MapoTrainer(
                cfg,
                run_dir,
                data=str(layout.dataset("maple_qa")),
                media_cache=cache,
                callbacks=[_progress_callback(bar)],
            )
            trainer.setup(resume=False)
            try:
                history = trainer.train()
            finally:
                trainer.cleanup()
        ckpt = latest_checkpoint(run_dir)
        if ckpt is None:
            raise RuntimeError(f"training preset {preset} wrote no checkpoint under {run_dir}")
        last = history[-1] if history else {}
        out[preset] = {
            "run_dir": str(run_dir),
            "checkpoint": str(ckpt / "model"),
            "steps": int(last.get("step", 0)),
            "train_samples": len(trainer.samples),
            "final_reward_mean": last.get("reward_mean"),
            "metrics": str(run_dir / "metrics.jsonl"),
            "curves": str(run_dir / "curves.png"),
        }
    return out


def model_specs(config: DemoConfig, trained: dict[str, Any]) -> dict[str, tuple[str, dict]]:
    """Display name -> (adapter, adapter kwargs) for every evaluated model."""
    specs: dict[str, tuple[str, dict]] = {}
    for name in model_names(config):
        if name.startswith("compact-"):
            preset = name.split("-", 1)[1]
            specs[name] = ("compact", {"pretrained": trained[preset]["checkpoint"]})
        else:
            specs[name] = (name, {})
    return specs


def evaluate_models(
    config: DemoConfig,
    layout: Layout,
    trained: dict[str, Any],
    echo: Callable[[str], None] = print,
) -> dict[str, dict[str, str]]:
    """Step 4: ``maple-eval`` of every model on every task, on the held-out (test) split."""
    from evaluators.runner.config import RunConfig
    from evaluators.runner.run import run_eval

    out: dict[str, dict[str, str]] = {}
    for task in config.tasks:
        out[task] = {}
        for name, (adapter, kwargs) in model_specs(config, trained).items():
            rc = RunConfig(
                task=task,
                model=adapter,
                model_args=kwargs,
                data=str(layout.dataset(DATASET_OF_TASK[task])),
                output=str(layout.eval_dir(task, name)),
                seed=config.seed,
                num_workers=config.eval_workers,
            )
            spec = adapter
            if "pretrained" in kwargs:
                spec += ":" + os.path.relpath(kwargs["pretrained"], layout.root)
            echo(
                f"    {name}: maple-eval run --task {task} --model {spec} --data "
                f"{os.path.relpath(rc.data or '', layout.root)} --out "
                f"{os.path.relpath(rc.output or '', layout.root)}   (paths relative to --out)"
            )
            t0 = time.perf_counter()
            outcome = run_eval(rc)
            if outcome.results_path is None:
                raise RuntimeError(f"maple-eval {task} / {name} wrote no results file")
            out[task][name] = str(outcome.results_path)
            head = outcome.results["maple"]["headline"] if outcome.results else {}
            echo(
                f"      -> avg_acc {100 * head.get('avg_acc', float('nan')):.1f}% "
                f"in {time.perf_counter() - t0:.1f} s"
            )
    return out


def publish_boards(
    config: DemoConfig, layout: Layout, results: dict[str, dict[str, str]]
) -> dict[str, str]:
    """Step 5: one leaderboard JSON per task, entries named after the demo's models."""
    from leaderboards.entries import EntryOptions
    from leaderboards.publish import publish

    boards: dict[str, str] = {}
    for task, by_model in results.items():
        board = layout.board(task)
        for name, path in by_model.items():
            publish(
                [path],
                board,
                options=EntryOptions(model_name=name, open_weights=True),
                title=f"maple-bench demo: {task} on MAPLE-Synth (seed {config.seed})",
            )
        boards[task] = str(board)
    return boards


def render_outputs(
    config: DemoConfig,
    layout: Layout,
    results: dict[str, dict[str, str]],
    boards: dict[str, str],
    trained: dict[str, Any],
) -> dict[str, Any]:
    """Step 6: the leaderboard site and the PNG charts (per tag, QA+ conditions, training)."""
    from evaluators.demo.plots import plot_conditions, plot_per_tag, plot_training
    from evaluators.report import plot_results
    from evaluators.results import load_results
    from leaderboards.render import render_site
    from leaderboards.schema import load_board

    site = render_site(
        [load_board(boards[t]) for t in results],
        layout.site,
        title=f"maple-bench demo leaderboard (MAPLE-Synth, seed {config.seed})",
    )
    docs = {t: {m: load_results(p) for m, p in by.items()} for t, by in results.items()}
    plots: dict[str, str] = {}
    if "maple_qa" in docs:
        plots["per_tag"] = str(
            plot_per_tag(docs["maple_qa"], layout.plots / "per_tag_accuracy.png", task="maple_qa")
        )
    if "maple_qa_plus" in docs:
        plots["per_tag_qa_plus"] = str(
            plot_per_tag(
                docs["maple_qa_plus"],
                layout.plots / "per_tag_accuracy_qa_plus.png",
                task="maple_qa_plus",
            )
        )
        plots["conditions"] = str(
            plot_conditions(docs["maple_qa_plus"], layout.plots / "qa_plus_conditions.png")
        )
    plots["training"] = str(
        plot_training(
            {f"compact-{p}": Path(info["metrics"]) for p, info in trained.items()},
            layout.plots / "training_curves.png",
        )
    )
    per_run = []
    for by in docs.values():
        for model, doc in by.items():
            per_run += [
                str(p) for p in plot_results(doc, layout.plots / "runs" / model, model_name=model)
            ]
    return {
        "site": str(layout.site / "index.html"),
        "site_files": [str(p) for p in site],
        "plots": plots,
        "run_plots": per_run,
        "training_curves": {p: info["curves"] for p, info in trained.items()},
    }
