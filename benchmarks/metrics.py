"""Time every metric plus 1,000 clustered bootstrap resamples on a 34,048-row QA+ sample log.

The log mimics MAPLE_QA_all_combinations: 4,864 questions x 7 presentations, ~700 videos, a None
option on every row, correctness that depends on the condition and on the video (so clustering
matters), ~3% unparseable answers and ~0.5% errors. Prints a table of stage times and their ratio
to the 2-second target.

    .venv/bin/python benchmarks/metrics.py [--repeats 5] [--n-bootstrap 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from evaluators.metrics import (
    bootstrap,
    cluster_sums,
    compare_logs,
    item_table,
    read_sample_log,
)
from evaluators.results import build_results, validate_results
from maple_bench.modality import TAG_NAMES, condition, parse_tag
from maple_bench.schema import NONE_OPTION

N_QUESTIONS = 4864
N_VIDEOS = 700
TARGET_S = 2.0


def improved(rows: list[dict], rate: float = 0.05, seed: int = 1) -> list[dict]:
    """Run B: the same items, with a share ``rate`` of wrong parsed answers made right."""
    rng = np.random.default_rng(seed)
    out = []
    for r in rows:
        r = dict(r)
        if not r["correct"] and r["error"] is None and rng.random() < rate:
            r.update(parsed_index=r["target_index"], correct=True, invalid=False)
        out.append(r)
    return out


def synthetic_log(seed: int = 0, shift: float = 0.0) -> list[dict]:
    """34,048 log rows (dicts as read from JSONL)."""
    rng = np.random.default_rng(seed)
    tags = [parse_tag(t) for t in TAG_NAMES]
    video_skill = rng.normal(0, 0.8, N_VIDEOS)
    base = {"exact": 0.6, "superset": 0.55, "deficit": 0.35}
    opts = ["option a", "option b", "option c", NONE_OPTION]
    rows = []
    for q in range(N_QUESTIONS):
        rmt = tags[q % 7]
        vid = int(rng.integers(N_VIDEOS))
        for pres in tags:
            cond = condition(rmt, pres).value
            replaced = cond != "deficit" and rng.random() < 0.25
            tgt = 3 if cond == "deficit" or replaced else int(rng.integers(3))
            u = rng.random()
            error = u < 0.005
            invalid = not error and u < 0.035
            logit = np.log(base[cond] / (1 - base[cond])) + video_skill[vid] + shift
            p = 1 / (1 + np.exp(-logit))
            if error or invalid:
                parsed = None
            elif rng.random() < p:
                parsed = tgt
            else:
                parsed = int(rng.choice([i for i in range(4) if i != tgt]))
            rows.append(
                {
                    "doc_id": f"q{q:05d}@{pres.name}",
                    "question_id": f"q{q:05d}",
                    "video_id": f"vid{vid:04d}",
                    "task": "qa",
                    "rmt": rmt.name,
                    "presentation": pres.name,
                    "condition": cond,
                    "none_reason": (
                        "deficit" if cond == "deficit" else ("replaced" if replaced else None)
                    ),
                    "draw": 0,
                    "options": opts,
                    "target": opts[tgt],
                    "target_index": tgt,
                    "raw_output": "A",
                    "parsed_index": parsed,
                    "parsed_text": None,
                    "correct": parsed == tgt,
                    "invalid": invalid,
                    "error": "decode failed" if error else None,
                    "error_type": "CorruptMediaError" if error else None,
                    "delivered": {"frames": 8, "audio_seconds": 4.0, "subtitle_chars": 40},
                    "item_hash": "x",
                    "prompt_hash": "y",
                    "references": [],
                    "judge": None,
                }
            )
    return rows


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n-bootstrap", type=int, default=1000)
    args = ap.parse_args()
    rows = synthetic_log()
    rows_b = improved(rows)
    import pandas as pd

    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "samples_maple_qa_plus.jsonl"
        log.write_text("".join(json.dumps(r) + "\n" for r in rows))
        t_read, df = timed(lambda: read_sample_log(log), args.repeats)
    assert isinstance(df, pd.DataFrame)
    t_items, items = timed(lambda: item_table(df), args.repeats)
    t_sums, sums = timed(lambda: cluster_sums(items), args.repeats)
    t_boot, br = timed(lambda: bootstrap(sums, n_bootstrap=args.n_bootstrap, seed=0), args.repeats)
    t_all, res = timed(
        lambda: build_results(df, task="maple_qa_plus", n_bootstrap=args.n_bootstrap), args.repeats
    )
    t_val, errs = timed(lambda: validate_results(res), args.repeats)
    assert errs == []
    df_b = pd.DataFrame(rows_b)
    t_cmp, cmp = timed(
        lambda: compare_logs(df, df_b, n_bootstrap=args.n_bootstrap, n_permutations=1000),
        max(1, args.repeats // 2),
    )
    m = res["maple"]
    print(
        f"log: {len(df)} rows, {m['n_items']} items, {m['n_videos']} videos, "
        f"B = {args.n_bootstrap}; median of {args.repeats}"
    )
    print(f"{'stage':<58} {'seconds':>8} {'/ 2 s':>7}")
    stages = [
        ("read JSONL -> DataFrame (I/O, not in the target)", t_read),
        ("log -> item table (validate, draws averaged)", t_items),
        ("item table -> per-video sums", t_sums),
        (f"{args.n_bootstrap} clustered resamples, all metrics + CIs", t_boot),
        ("build_results: all metrics + bootstrap + results dict", t_all),
        ("validate_results (JSON Schema)", t_val),
        (f"paired compare (2 logs, {args.n_bootstrap} boot + 1000 perm)", t_cmp),
    ]
    for name, t in stages:
        print(f"{name:<58} {t:8.3f} {t / TARGET_S:7.2f}")
    h = m["headline"]
    lo, hi = m["headline_ci"]["avg_acc"]["ci_low"], m["headline_ci"]["avg_acc"]["ci_high"]
    iid = bootstrap(cluster_sums(items, cluster="doc_id"), n_bootstrap=args.n_bootstrap)
    ilo, ihi = iid.ci("avg_acc")
    print(
        f"avg_acc {100 * h['avg_acc']:.2f}%  clustered CI width {100 * (hi - lo):.2f} points  "
        f"iid CI width {100 * (ihi - ilo):.2f} points  (x{(hi - lo) / (ihi - ilo):.2f})"
    )
    print(
        f"compare B-A avg_acc {100 * cmp.difference:+.2f} points "
        f"[{100 * cmp.ci_low:+.2f}, {100 * cmp.ci_high:+.2f}] p = {cmp.p_value:.4f}"
    )
    ok = t_all < TARGET_S
    verdict = "yes" if ok else "NO"
    print(f"target: all metrics + {args.n_bootstrap} resamples < {TARGET_S} s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
