"""``run_demo``: the seven steps in order, with a numbered header and the time of each.

The output folder is claimed with a marker file first; a folder that already exists is refused
unless ``overwrite`` is set, and ``overwrite`` only ever deletes a folder the demo created (one
holding the marker) or an empty one, never someone else's files. Results, boards and plots are
written atomically by the tools that make them; the manifest ``demo.json`` is written last, so
its presence means the demo finished.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from evaluators.demo import steps
from evaluators.demo.config import DemoConfig, model_names
from evaluators.demo.layout import Layout

MANIFEST_VERSION = 1


class DemoError(RuntimeError):
    """The demo cannot start (output folder) or a step failed; the message says which and why."""


@dataclass
class DemoResult:
    """What a finished demo produced."""

    layout: Layout
    """Paths of the output folder."""
    summary: dict[str, Any]
    """The final table's data (also in ``summary.json``)."""
    table: str
    """The final table as printed (also in ``summary.txt``)."""
    manifest: dict[str, Any]
    """The manifest (also in ``demo.json``)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step name, plus ``total``."""


def prepare_output(out: Path, *, overwrite: bool) -> Layout:
    """Claim ``out`` for the demo (see the module docstring)."""
    layout = Layout(out)
    if out.exists() and not out.is_dir():
        raise DemoError(f"--out {out} exists and is not a folder; pick another --out")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            state = (
                "holds a finished demo"
                if layout.manifest.exists()
                else "holds an unfinished demo run (no demo.json)"
                if layout.marker.exists()
                else "is not empty"
            )
            raise DemoError(
                f"--out {out} already exists and {state}; pass --overwrite to replace it, or "
                f"choose another --out folder"
            )
        if not layout.marker.exists():
            raise DemoError(
                f"--out {out} is not empty and was not made by `maple-bench demo` (no "
                f"{layout.marker.name} marker); refusing to delete it even with --overwrite. "
                f"Choose another --out folder."
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    from maple_bench.fileio import atomic_write_text

    atomic_write_text(
        layout.marker, "written by `maple-bench demo`; --overwrite may delete this folder\n"
    )
    return layout


def _header(stream: TextIO, n: int, total: int, title: str) -> None:
    print(f"\n[{n}/{total}] {title}", file=stream, flush=True)


def run_demo(
    out: str | Path,
    config: DemoConfig,
    *,
    overwrite: bool = False,
    stream: TextIO | None = None,
) -> DemoResult:
    """Run the whole demo into ``out`` and return what it wrote (raises :class:`DemoError`)."""
    from maple_bench.fileio import atomic_write_json, atomic_write_text

    stream = stream or sys.stdout
    t_start = time.perf_counter()
    layout = prepare_output(Path(out).resolve(), overwrite=overwrite)
    timings: dict[str, float] = {}
    total = 7

    def step(n: int, key: str, title: str, fn: Callable[[], Any]) -> Any:
        _header(stream, n, total, title)
        t0 = time.perf_counter()
        try:
            value = fn()
        except Exception as e:
            raise DemoError(
                f"step {n}/{total} ({title}) failed after {time.perf_counter() - t0:.1f} s: "
                f"{type(e).__name__}: {e}"
            ) from e
        timings[key] = time.perf_counter() - t0
        print(f"    done in {timings[key]:.1f} s", file=stream, flush=True)
        return value

    c = config
    synth = step(
        1,
        "synth",
        f"Generating MAPLE-Synth: {c.per_tag} videos x 7 tags, {c.num_options} options, "
        f"{c.test_fraction:.0%} of videos held out -> {layout.synth}",
        lambda: steps.generate_synth(c, layout),
    )
    print(
        f"    {synth['questions']} questions: {synth['train_questions']} train, "
        f"{synth['test_questions']} test",
        file=stream,
    )
    data = step(
        2,
        "build",
        "Building MAPLE-QA and MAPLE-QA+ (parquet + data cards)",
        lambda: steps.build_datasets(c, layout),
    )
    for name, info in data.items():
        print(f"    {name}: {info['rows']} rows -> {info['folder']}", file=stream)
    trained = step(
        3,
        "train",
        f"Training the compact policy with presets {', '.join(c.presets)} "
        f"({c.train_steps} steps each, batch {c.batch_size} x G={c.group_size})",
        lambda: steps.train_policies(c, layout),
    )
    for preset, info in trained.items():
        print(
            f"    {preset}: {info['steps']} steps on {info['train_samples']} train questions, "
            f"last reward {info['final_reward_mean']:.3f} -> {info['checkpoint']}",
            file=stream,
        )
    models = model_names(c)
    results = step(
        4,
        "evaluate",
        f"Evaluating {', '.join(models)} with maple-eval on the held-out split "
        f"({', '.join(c.tasks)})",
        lambda: steps.evaluate_models(
            c, layout, trained, echo=lambda line: print(line, file=stream, flush=True)
        ),
    )
    boards = step(
        5,
        "publish",
        f"Publishing leaderboards -> {layout.root / 'leaderboards'}",
        lambda: steps.publish_boards(c, layout, results),
    )
    rendered = step(
        6,
        "render",
        "Rendering the leaderboard page and the plots",
        lambda: steps.render_outputs(c, layout, results, boards, trained),
    )

    def summarize() -> tuple[dict[str, Any], str]:
        from evaluators.demo.summary import build_summary, format_summary

        summary = build_summary(c, layout, results)
        text = format_summary(summary)
        atomic_write_json(layout.summary_json, summary)
        atomic_write_text(layout.summary_txt, text + "\n")
        return summary, text

    summary, table = step(7, "summary", "Final table", summarize)
    timings["total"] = time.perf_counter() - t_start
    files = {
        "synth": synth["folder"],
        "datasets": {k: v["folder"] for k, v in data.items()},
        "data_cards": {k: v["card"] for k, v in data.items()},
        "checkpoints": {k: v["checkpoint"] for k, v in trained.items()},
        "training_runs": {k: v["run_dir"] for k, v in trained.items()},
        "training_curves": rendered["training_curves"],
        "results": results,
        "sample_logs": {
            t: {m: str(layout.sample_log(t, m)) for m in by} for t, by in results.items()
        },
        "leaderboards": boards,
        "site": rendered["site"],
        "plots": rendered["plots"],
        "run_plots": rendered["run_plots"],
        "summary": {"json": str(layout.summary_json), "text": str(layout.summary_txt)},
    }
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "command": "maple-bench demo",
        "config": c.to_dict(),
        "models": models,
        "tasks": list(c.tasks),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "files": files,
    }
    atomic_write_json(layout.manifest, manifest)
    print("\n" + table, file=stream)
    print("\nWritten:", file=stream)
    for line in _file_lines(files):
        print("  " + line, file=stream)
    print(f"  manifest: {layout.manifest}", file=stream)
    steps_line = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if k != "total")
    print(f"\nstep timings: {steps_line}", file=stream)
    print(f"maple-bench demo ({c.name}) finished in {timings['total']:.1f} s", file=stream)
    return DemoResult(layout, summary, table, manifest, timings)


def _file_lines(files: dict[str, Any], prefix: str = "") -> list[str]:
    lines: list[str] = []
    for key, value in files.items():
        label = f"{prefix}{key}"
        if isinstance(value, dict):
            lines += _file_lines(value, label + " / ")
        elif isinstance(value, list):
            lines += [f"{label}: {v}" for v in value]
        else:
            lines.append(f"{label}: {value}")
    return lines
