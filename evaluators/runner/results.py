"""The last step of a run: the merged sample log -> ``results.json`` (validated, atomic).

Metrics are computed by :func:`evaluators.results.build_results` (the same code as
``maple-eval score``), so a results file can always be recomputed from the log and
``run_meta.json``. The runner hands this step typed values (:class:`FinishedRun`), as HELM
passes one stage's output to the next; nothing here reaches into the runner.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.results import RUN_META
from maple_bench.fileio import atomic_write_json

RESULTS = "results.json"
"""The results file's name inside a run folder."""


def write_json_atomic(path: Path, data: Any) -> None:
    """JSON written through a temp file + rename (never a half-written file)."""
    atomic_write_json(path, data, sort_keys=False, default=str)


@dataclass(frozen=True)
class FinishedRun:
    """What the results step needs from a finished run."""

    out: Path
    """The run folder (``run_meta.json`` is rewritten there, ``results.json`` written)."""
    task: str
    """Task name."""
    meta: Mapping[str, Any]
    """The run's ``run_meta.json`` content as written at the start."""
    records: list[dict[str, Any]]
    """The final sample-log records, once per (item, draw), in task order."""
    n_original: int
    """Items the task had before ``--limit`` (lm-eval's ``n-samples.original``)."""
    seed: int
    """Bootstrap seed."""
    wall_s: float
    """Wall time of the run so far (seconds)."""


def prompt_set_hash(records: list[dict[str, Any]]) -> str:
    """sha256[:16] over the per-item prompt hashes in log order: which exact prompts were shown."""
    blob = "\n".join(f"{r['doc_id']}:{r.get('prompt_hash')}" for r in records)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def usage_totals(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Summed token usage and mean latency over the records that have usage (served models)."""
    used = [r["usage"] for r in records if isinstance(r.get("usage"), Mapping)]
    if not used:
        return None

    def total(key: str) -> int | None:
        vals = [u.get(key) for u in used if isinstance(u.get(key), int)]
        return sum(vals) if vals else None

    lat = [float(u["latency_s"]) for u in used if isinstance(u.get("latency_s"), (int, float))]
    return {
        "prompt_tokens": total("prompt_tokens"),
        "completion_tokens": total("completion_tokens"),
        "requests": total("attempts"),
        "mean_latency_s": round(sum(lat) / len(lat), 4) if lat else None,
    }


def write_run_results(run: FinishedRun) -> dict[str, Any]:
    """Timing and prompt hash into ``run_meta.json``, then score and write ``results.json``."""
    from evaluators.results import build_results, write_results

    records, wall_s = run.records, run.wall_s
    meta = dict(run.meta)
    prov = dict(meta.get("provenance", {}))
    prov["prompt_hash"] = prompt_set_hash(records)
    n_err = sum(1 for r in records if r.get("error"))
    timing: dict[str, Any] = {
        "total_seconds": round(wall_s, 3),
        "start_time": time.time() - wall_s,
        "items_per_second": round(len(records) / wall_s, 3) if wall_s > 0 else None,
        "n_records": len(records),
        "n_errors": n_err,
    }
    usage = usage_totals(records)
    if usage is not None:
        timing["usage"] = usage
    meta["provenance"], meta["timing"] = prov, timing
    write_json_atomic(run.out / RUN_META, meta)
    task_config = dict(meta.get("task_config", {}))
    task_config.setdefault("n_original", run.n_original)
    results = build_results(
        records,
        task=run.task,
        task_config=task_config,
        provenance=prov,
        config=meta.get("config", {}),
        timing=timing,
        seed=run.seed,
        sample_log=meta.get("log"),
    )
    write_results(run.out / RESULTS, results)
    return results
