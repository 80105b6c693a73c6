"""Validate a finished demo folder: ``python -m evaluators.demo.check DIR`` (CI runs this).

:func:`check_outputs` lists every problem it finds (an empty list means the folder is complete
and valid): missing files, results files failing the results JSON Schema
(:func:`evaluators.results.validate_results`), boards failing the leaderboard schema
(:func:`leaderboards.schema.load_board`), sample logs whose length disagrees with the results,
PNGs that are not PNGs, and a final table whose numbers differ from the results files.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluators.demo.layout import DATASET_OF_TASK, Layout

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TAGS = ("V", "A", "S", "VA", "VS", "AS", "VAS")
SUMMARY_HEADLINE = ("avg_acc", "acc_uni", "acc_multi", "uni_multi_gap", "fusion_gain")


def _load_json(path: Path, problems: list[str]) -> Any:
    if not path.is_file():
        problems.append(f"missing: {path}")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        problems.append(f"{path}: not readable JSON ({e})")
        return None


def _need(path: Path, problems: list[str], *, nonempty: bool = True) -> bool:
    if not path.exists():
        problems.append(f"missing: {path}")
        return False
    if nonempty and path.is_file() and path.stat().st_size == 0:
        problems.append(f"empty: {path}")
        return False
    return True


def _png(path: Path, problems: list[str]) -> None:
    if _need(path, problems):
        with open(path, "rb") as f:
            if f.read(8) != PNG_MAGIC:
                problems.append(f"{path}: not a PNG file")


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-12)


def _check_datasets(layout: Layout, problems: list[str]) -> None:
    _need(layout.synth / "qa.jsonl", problems)
    _need(layout.synth / "synth.json", problems)
    for config in sorted(set(DATASET_OF_TASK.values())):
        folder = layout.dataset(config)
        _need(folder / "README.md", problems)
        _need(folder / "build_info.json", problems)
        for split in ("train", "test"):
            if not list((folder / "data" / config).glob(f"{split}-*.parquet")):
                problems.append(f"missing: {folder / 'data' / config}/{split}-*.parquet")


def _check_training(layout: Layout, presets: Sequence[str], problems: list[str]) -> None:
    for preset in presets:
        run = layout.train(preset)
        _need(run / "metrics.jsonl", problems)
        _png(run / "curves.png", problems)
        models = sorted(run.glob("checkpoints/step-*/model/config.json"))
        if not models:
            problems.append(f"missing: a checkpoint under {run / 'checkpoints'}")


def _check_run(layout: Layout, task: str, model: str, problems: list[str]) -> dict | None:
    from evaluators.results import validate_results

    path = layout.results(task, model)
    doc = _load_json(path, problems)
    if doc is None:
        return None
    errors = validate_results(doc)
    if errors:
        problems += [f"{path}: results schema: {e}" for e in errors[:5]]
        return None
    log = layout.sample_log(task, model)
    if _need(log, problems):
        with open(log, encoding="utf-8") as f:
            n_lines = sum(1 for line in f if line.strip())
        draws = doc["maple"]["draws_per_item"]
        mean = draws.get("mean", 1) if isinstance(draws, dict) else draws
        want = round(doc["maple"]["n_rows"] * float(mean))
        if n_lines != want:
            problems.append(f"{log}: {n_lines} records, but {path} reports {want}")
    return doc


def _check_board(layout: Layout, task: str, models: Sequence[str], problems: list[str]) -> None:
    from leaderboards.schema import LeaderboardError, load_board

    path = layout.board(task)
    if not _need(path, problems):
        return
    try:
        board = load_board(path)
    except LeaderboardError as e:
        problems.append(f"{path}: leaderboard schema: {e}")
        return
    names = sorted(str(e["model"]["name"]) for e in board["entries"])
    if names != sorted(models):
        problems.append(f"{path}: entries {names}, expected {sorted(models)}")


def _check_summary(layout: Layout, docs: dict[str, dict[str, Any]], problems: list[str]) -> None:
    summary = _load_json(layout.summary_json, problems)
    _need(layout.summary_txt, problems)
    if summary is None:
        return
    for task, by_model in docs.items():
        rows = summary.get("tasks", {}).get(task, {})
        for model, doc in by_model.items():
            row = rows.get(model)
            if row is None:
                problems.append(f"{layout.summary_json}: no row for {task} / {model}")
                continue
            m = doc["maple"]
            for t in TAGS:
                if not _same(row["by_tag"].get(t), (m["by_tag"].get(t) or {}).get("acc")):
                    problems.append(f"{layout.summary_json}: {task}/{model} tag {t} != results")
            for k in SUMMARY_HEADLINE:
                if not _same(row.get(k), m["headline"].get(k)):
                    problems.append(f"{layout.summary_json}: {task}/{model} {k} != results")
    presets = summary.get("config", {}).get("presets", [])
    if "mupo" in presets and len(presets) > 1 and not summary.get("comparisons"):
        problems.append(f"{layout.summary_json}: no MAPO vs MUPO comparison")


def check_outputs(out_dir: str | Path) -> list[str]:
    """Every problem with the demo folder ``out_dir`` (empty list: complete and valid)."""
    layout = Layout(Path(out_dir))
    problems: list[str] = []
    if not layout.root.is_dir():
        return [f"missing: the demo folder {layout.root}"]
    _need(layout.marker, problems, nonempty=False)
    manifest = _load_json(layout.manifest, problems)
    if manifest is None:
        problems.append(f"{layout.manifest} is missing: the demo did not finish")
        return problems
    tasks = list(manifest.get("tasks") or [])
    models = list(manifest.get("models") or [])
    presets = list((manifest.get("config") or {}).get("presets") or [])
    if not tasks or not models or not presets:
        problems.append(f"{layout.manifest}: tasks, models or presets missing")
        return problems
    _check_datasets(layout, problems)
    _check_training(layout, presets, problems)
    docs: dict[str, dict[str, Any]] = {}
    for task in tasks:
        docs[task] = {}
        for model in models:
            try:
                doc = _check_run(layout, task, model, problems)
            except (KeyError, TypeError, ValueError) as e:  # schema-valid yet unexpected shape
                problems.append(f"{layout.results(task, model)}: unexpected content ({e!r})")
                doc = None
            if doc is not None:
                docs[task][model] = doc
        _check_board(layout, task, models, problems)
    _need(layout.site / "index.html", problems)
    _need(layout.site / "LEADERBOARD.md", problems)
    for name in ("per_tag_accuracy.png", "training_curves.png"):
        _png(layout.plots / name, problems)
    if "maple_qa_plus" in tasks:
        _png(layout.plots / "qa_plus_conditions.png", problems)
    try:
        _check_summary(layout, docs, problems)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        problems.append(f"{layout.summary_json}: unexpected content ({e!r})")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m evaluators.demo.check",
        description="Check that a `maple-bench demo` output folder is complete and valid.",
    )
    p.add_argument("out_dir", metavar="DIR", help="the demo's --out folder")
    args = p.parse_args(argv)
    problems = check_outputs(args.out_dir)
    for line in problems:
        print(f"problem: {line}", file=sys.stderr)
    if problems:
        print(f"{args.out_dir}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"ok: {args.out_dir} is a complete, valid demo output")
    return 0


if __name__ == "__main__":
    sys.exit(main())
