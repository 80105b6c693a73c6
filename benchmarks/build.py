"""Time a MAPLE-QA+ build: N questions (default 5,000) -> 7N rows, written as a dataset folder.

Run: .venv/bin/python benchmarks/build.py [--questions 5000] [--repeats 3]
Prints a table of wall times per stage (median over repeats) and rows per second. The raw
annotations are generated in a temp dir (hand-rolled rows, no media) before timing starts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from maple_bench.data import build_dataset, load_samples
from maple_bench.data.builders import base_questions, build_qa_plus, qa_plus_table
from maple_bench.data.pipeline import read_source_samples
from maple_bench.modality import TAG_NAMES


def write_raw(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "qa.jsonl").open("w") as fh:
        for i in range(n):
            opts = [f"option {j} of question {i}" for j in range(4)]
            row = {
                "id": f"q{i:05d}",
                "video_id": f"v{i // 5:05d}",
                "question": f"Question number {i} about the clip?",
                "options": opts,
                "answer": opts[i % 4],
                "rmt": TAG_NAMES[i % 7],
                "metadata": {"source": "bench"},
            }
            fh.write(json.dumps(row) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--questions", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    timings: dict[str, list[float]] = {}
    rows = 0
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        write_raw(raw, args.questions)
        build_dataset("qa", raw, Path(tmp) / "warmup")  # imports and caches outside the timing
        for r in range(args.repeats):
            t0 = time.perf_counter()
            read = read_source_samples(raw, "qa")
            t1 = time.perf_counter()
            base = base_questions(read.samples)
            qa_plus_table(base, seed=r, none_fraction=0.25)
            t2 = time.perf_counter()
            built = build_qa_plus(base, seed=r, none_fraction=0.25)
            t3 = time.perf_counter()
            out = Path(tmp) / f"out{r}"
            result = build_dataset("qa-plus", raw, out, seed=r)
            t4 = time.perf_counter()
            loaded = load_samples(out, "maple_qa_plus", "test")
            t5 = time.perf_counter()
            rows = result.counts["test"]["num_rows"]
            assert len(loaded) == len(built) == rows == 7 * args.questions
            for name, dt in (
                ("read + map + validate raw", t1 - t0),
                ("QA+ expansion to an Arrow table", t2 - t1),
                ("QA+ as validated Samples (in-memory loader path)", t3 - t2),
                ("full build_dataset (end to end)", t4 - t3),
                ("load_samples of the built folder", t5 - t4),
            ):
                timings.setdefault(name, []).append(dt)
    print(f"QA+ build: {args.questions} questions -> {rows} rows, median of {args.repeats} runs")
    print("| stage | rows out | seconds | rows/s | share of the 10 s target |")
    print("|---|---:|---:|---:|---:|")
    for name, ts in timings.items():
        med = statistics.median(ts)
        n = args.questions if name.startswith("read") else rows
        print(f"| {name} | {n} | {med:.2f} | {n / med:,.0f} | {med / 10:.2f} |")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
