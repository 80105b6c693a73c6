"""Run a model over the ablation presentations with ``maple-eval``'s runner and return its log.

The runner does the work (prefetching decode, batching, resume, multi-process, errors per
sample); this module only picks the ablation task that fits the data source and reads the rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def ablation_task_for(data: str) -> str:
    """``synth_ablation`` for a raw synth folder, else ``maple_ablation`` (built folder or Hub)."""
    folder = Path(data)
    if (folder / "qa.jsonl").is_file() and not (folder / "build_info.json").is_file():
        return "synth_ablation"
    return "maple_ablation"


def run_ablation(
    data: str,
    *,
    model: str,
    out_dir: str | Path,
    model_args: str | dict[str, Any] | None = None,
    k: int = 1,
    seed: int = 0,
    limit: int | None = None,
    media_root: str | None = None,
    revision: str | None = None,
    num_workers: int = 0,
    config: str | None = None,
    split: str | None = None,
) -> list[dict[str, Any]]:
    """Evaluate ``model`` on every question of ``data`` under the 7 presentations + blind.

    Returns the sample-log rows (one per item, presentation and draw). Rerunning with the same
    ``out_dir`` resumes the run. ``config`` / ``split`` pick the dataset config and split (the
    task's defaults when None).
    """
    from evaluators.runner.config import RunConfig, parse_model_args
    from evaluators.runner.run import run_eval
    from evaluators.samplelog import read_log

    args = parse_model_args(model_args) if isinstance(model_args, str) else dict(model_args or {})
    run_config = RunConfig.from_mapping(
        {
            "task": ablation_task_for(data),
            "model": model,
            "model_args": args,
            "data": str(data),
            "revision": revision,
            "dataset_config": config,
            "split": split,
            "media_root": media_root,
            "output": str(out_dir),
            "k": k,
            "seed": seed,
            "limit": limit,
            "num_workers": num_workers,
        }
    )
    outcome = run_eval(run_config)
    return list(read_log(outcome.log_path))
