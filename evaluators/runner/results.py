"""The last step of a run: the merged sample log -> ``results.json`` (validated, atomic).

Metrics are computed by :func:`evaluators.results.build_results` (the same code as
``maple-eval score``), so a results file can always be recomputed from the log and
``run_meta.json``.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from evaluators.runner.run import RESULTS, Runner, write_json_atomic


def prompt_set_hash(records: list[dict[str, Any]]) -> str:
    """sha256[:16] over the per-item prompt hashes in log order: which exact prompts were shown."""
    blob = "\n".join(f"{r['doc_id']}:{r.get('prompt_hash')}" for r in records)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def write_run_results(
    runner: Runner, records: list[dict[str, Any]], wall_s: float
) -> dict[str, Any]:
    from evaluators.results import build_results, write_results

    meta = dict(runner.meta)
    prov = dict(meta.get("provenance", {}))
    prov["prompt_hash"] = prompt_set_hash(records)
    n_err = sum(1 for r in records if r.get("error"))
    timing = {
        "total_seconds": round(wall_s, 3),
        "start_time": time.time() - wall_s,
        "items_per_second": round(len(records) / wall_s, 3) if wall_s > 0 else None,
        "n_records": len(records),
        "n_errors": n_err,
    }
    meta["provenance"], meta["timing"] = prov, timing
    write_json_atomic(runner.out / "run_meta.json", meta)
    task_config = dict(meta.get("task_config", {}))
    task_config.setdefault("n_original", len(runner.task.samples) if runner.task else None)
    results = build_results(
        records,
        task=runner.spec.name,
        task_config=task_config,
        provenance=prov,
        config=meta.get("config", {}),
        timing=timing,
        seed=runner.config.seed,
        sample_log=meta.get("log"),
    )
    write_results(runner.out / RESULTS, results)
    return results
