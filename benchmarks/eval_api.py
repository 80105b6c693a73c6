"""Throughput of ``maple-eval`` against a served model: 8 requests in flight vs 1.

The server is the test suite's loopback OpenAI-compatible server (127.0.0.1 only) with a fixed
latency per request (default 200 ms), answering each item's true option after checking the
streams it received. The same synth QA+ items run twice through the real runner and the
``openai_chat`` adapter (``max_concurrency=1`` and ``=8``, ``--batch-size auto``: 4 x the
concurrency); the table gives items/s of each (the whole run, and its evaluation loop alone: requests and
logging, without task loading and the bootstrap), their ratios (target >= 6x), and whether the
two results files agree on everything that depends on the answers.

    OMP_NUM_THREADS=1 python benchmarks/eval_api.py --per-tag 2 --latency 0.2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the loopback server lives in tests/

from evaluators.runner.config import RunConfig  # noqa: E402
from evaluators.runner.distributed import DistContext  # noqa: E402
from evaluators.runner.run import Runner  # noqa: E402
from evaluators.tasks import get_task, load_task  # noqa: E402
from evaluators.tasks.load import generate_synth  # noqa: E402
from tests.openai_server import Faults, LoopbackServer, expected_from_samples  # noqa: E402

TASK = "synth_qa_plus"


def answers_only(results: dict[str, Any]) -> dict[str, Any]:
    """Everything in a results file that depends on the answers (not on time, paths, transport)."""
    m = results["maple"]
    keep = ("by_tag", "by_presentation", "by_condition", "headline", "headline_ci")
    return {"results": results["results"], "n-samples": results["n-samples"],
            **{k: m[k] for k in keep}}  # fmt: skip


class TimedRunner(Runner):
    """The real runner, with its evaluation loop (requests, logging) timed on its own."""

    loop_s = 0.0

    def _evaluate(self) -> int:
        t0 = time.perf_counter()
        n = super()._evaluate()
        self.loop_s = time.perf_counter() - t0
        return n


def run_once(
    raw: Path, out: Path, base_url: str, concurrency: int, workers: int, limit: int | None = None
) -> tuple[float, float]:
    """(seconds of the whole run: setup, requests, scoring, results; seconds of its loop)."""
    cfg = RunConfig(task=TASK, model="openai_chat:served-omni", data=str(raw), output=str(out),
                    batch_size="auto", num_workers=workers, progress=False, limit=limit,
                    model_args={"base_url": base_url, "max_concurrency": concurrency})  # fmt: skip
    t0 = time.perf_counter()
    ctx = DistContext.from_env(cfg.dist_timeout_s)
    try:
        runner = TimedRunner(cfg, ctx)
        runner.execute()
    finally:
        ctx.close()
    return time.perf_counter() - t0, runner.loop_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-tag", type=int, default=2, help="synth questions per tag (x7 items)")
    ap.add_argument("--latency", type=float, default=0.2, help="server latency per request (s)")
    ap.add_argument("--workers", type=int, default=2, help="media-encoding worker processes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="maple_eval_api_") as tmp:
        root = Path(tmp)
        raw = generate_synth(root / "raw", per_tag=args.per_tag, seed=0, clip_seconds=2.0,
                             width=64, height=48)  # fmt: skip
        samples = load_task(get_task(TASK), data=str(raw)).samples
        rows = []
        results = {}
        # Untimed warm-up: first-use imports and caches are paid before either timed run.
        with LoopbackServer(expected_from_samples(samples)) as s:
            run_once(raw, root / "warmup", s.base_url, 8, args.workers, limit=14)
        for conc in (1, 8):
            with LoopbackServer(
                expected_from_samples(samples), Faults(latency_s=args.latency)
            ) as s:
                secs, loop = run_once(raw, root / f"c{conc}", s.base_url, conc, args.workers)
            assert s.state.violations == [], s.state.violations[:3]
            res = json.loads((root / f"c{conc}" / "results.json").read_text())
            results[conc] = answers_only(res)
            rows.append((conc, len(samples), secs, loop, s.state.max_in_flight,
                         res["maple"]["headline"]["micro_acc"]))  # fmt: skip
    print(f"{TASK}: {len(samples)} items, server latency {args.latency * 1000:.0f} ms/request")
    print(f"{'in flight':>9} {'items':>6} {'run s':>7} {'items/s':>8} {'loop s':>7} "
          f"{'items/s':>8} {'max seen':>9} {'acc':>5}")  # fmt: skip
    for conc, n, secs, loop, seen, acc in rows:
        print(f"{conc:>9} {n:>6} {secs:>7.2f} {n / secs:>8.2f} {loop:>7.2f} {n / loop:>8.2f} "
              f"{seen:>9} {acc:>5.3f}")  # fmt: skip
    print(
        f"throughput ratio 8 vs 1: whole run {rows[0][2] / rows[1][2]:.2f}x, "
        f"evaluation loop {rows[0][3] / rows[1][3]:.2f}x (target >= 6x)"
    )
    same = results[1] == results[8]
    print(f"results files identical (answers, metrics, CIs): {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
