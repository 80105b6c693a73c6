"""The demo's final table: read back from the results files and sample logs the runs wrote.

:func:`build_summary` copies numbers out of each ``results.json`` (per-tag accuracy, uni-multi
gap, fusion gain, QA+ conditions) and runs the paired comparison of every MAPO-family checkpoint
against MUPO with :func:`evaluators.metrics.compare_logs` on the two sample logs (same items;
95% CI from a bootstrap clustered by video, sign-flip permutation p-value).
:func:`format_summary` renders it as text; every figure in the text is ``100 * value`` rounded to
one decimal (:func:`pct`), so a reader (or a test) can match it against the results files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from evaluators.demo.config import DemoConfig
from evaluators.demo.layout import Layout
from maple_bench.modality import TAG_NAMES

HEADLINE = ("avg_acc", "acc_uni", "acc_multi", "uni_multi_gap", "fusion_gain")
QA_PLUS = ("abstention_rate", "hallucination_rate", "none_f1")
CONDITIONS = ("exact", "superset", "deficit")
COMPARE_METRICS = ("avg_acc", "uni_multi_gap")


def _clean(x: Any) -> Any:
    """NaN / inf -> None, tuples -> lists (JSON-safe)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (tuple, list)):
        return [_clean(v) for v in x]
    return x


def pct(x: float | None, signed: bool = False) -> str:
    """A fraction as percent with one decimal (``-`` for missing)."""
    if x is None:
        return "-"
    return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}"


def model_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers of one results file the table shows."""
    m = doc["maple"]
    ci = m.get("headline_ci") or {}
    row: dict[str, Any] = {
        "by_tag": {t: (m["by_tag"].get(t) or {}).get("acc") for t in TAG_NAMES},
        "n_items": m["n_items"],
        "n_rows": m["n_rows"],
        "n_videos": m["n_videos"],
    }
    for k in HEADLINE + QA_PLUS:
        row[k] = m["headline"].get(k)
    avg_ci = ci.get("avg_acc") or {}
    row["avg_acc_ci"] = [avg_ci.get("ci_low"), avg_ci.get("ci_high")]
    if m.get("by_condition"):
        row["by_condition"] = {c: (m["by_condition"].get(c) or {}).get("acc") for c in CONDITIONS}
    return row


def build_summary(
    config: DemoConfig, layout: Layout, results: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """Table data for every task and model, plus the paired comparisons against MUPO."""
    from evaluators.metrics import compare_logs, read_sample_log
    from evaluators.results import load_results

    tasks: dict[str, Any] = {}
    comparisons: list[dict[str, Any]] = []
    base = config.baseline_preset
    for task, by_model in results.items():
        tasks[task] = {
            model: {"results": path, **model_row(load_results(path))}
            for model, path in by_model.items()
        }
        if base is None:
            continue
        log_a = read_sample_log(layout.sample_log(task, f"compact-{base}"))
        for preset in config.presets:
            if preset == base:
                continue
            log_b = read_sample_log(layout.sample_log(task, f"compact-{preset}"))
            for metric in COMPARE_METRICS:
                res = compare_logs(
                    log_a, log_b, metric=metric, n_bootstrap=config.n_bootstrap, seed=config.seed
                )
                comparisons.append(
                    {
                        "task": task,
                        "model_a": f"compact-{base}",
                        "model_b": f"compact-{preset}",
                        **{k: _clean(v) for k, v in asdict(res).items()},
                    }
                )
    return {
        "config": config.to_dict(),
        "tasks": tasks,
        "comparisons": comparisons,
        "comparison_scope": {
            "training_runs_per_preset": 1,
            "training_seed": config.seed,
            "ci_and_p_cover": "resampling of held-out items (clustered by video); "
            "not training variance",
        },
    }


def _task_title(task: str, rows: Mapping[str, Any]) -> str:
    any_row = next(iter(rows.values()))
    if task == "maple_qa_plus":
        return (
            f"MAPLE-QA+ ({any_row['n_rows']} rows = {any_row['n_items'] // 7} questions x 7 "
            f"presentations, {any_row['n_videos']} held-out videos): accuracy % by required tag "
            f"over all presentations"
        )
    return (
        f"MAPLE-QA ({any_row['n_items']} questions, {any_row['n_videos']} held-out videos): "
        f"accuracy % by required modality tag"
    )


def format_summary(summary: Mapping[str, Any]) -> str:
    """The final table as text (numbers are percentages with one decimal)."""
    lines: list[str] = []
    width = max([len(m) for rows in summary["tasks"].values() for m in rows] + [len("model")])
    for task, rows in summary["tasks"].items():
        lines.append(_task_title(task, rows))
        head = (
            f"{'model':<{width}} "
            + " ".join(f"{t:>5}" for t in TAG_NAMES)
            + f" {'avg':>5} {'[95% CI]':>14} {'uni':>5} {'multi':>5} {'gap':>5} {'fusion':>6}"
        )
        if task == "maple_qa_plus":
            head += f" {'exact':>5} {'super':>5} {'defic':>5} {'abst':>5} {'halluc':>6}"
        lines.append(head)
        for model, r in rows.items():
            lo, hi = r["avg_acc_ci"]
            line = (
                f"{model:<{width}} "
                + " ".join(f"{pct(r['by_tag'][t]):>5}" for t in TAG_NAMES)
                + f" {pct(r['avg_acc']):>5} {'[' + pct(lo) + ', ' + pct(hi) + ']':>14}"
                + f" {pct(r['acc_uni']):>5} {pct(r['acc_multi']):>5}"
                + f" {pct(r['uni_multi_gap']):>5} {pct(r['fusion_gain'], True):>6}"
            )
            if task == "maple_qa_plus":
                cond = r.get("by_condition") or {}
                line += " " + " ".join(f"{pct(cond.get(c)):>5}" for c in CONDITIONS)
                line += f" {pct(r['abstention_rate']):>5} {pct(r['hallucination_rate']):>6}"
            lines.append(line)
        lines.append("")
    lines.append(
        "gap = uni-multi gap |acc_uni - acc_multi|; fusion = acc_multi - best single-stream tag; "
        "abst / halluc = deficit rows answered None / with a content option."
    )
    if summary["comparisons"]:
        seed = summary["config"]["seed"]
        lines.append("")
        lines.append(
            f"MAPO vs MUPO: one training run each (training seed {seed}), paired on the same items "
            "(B - A; 95% CI: bootstrap clustered by video; p: sign-flip permutation by video)"
        )
        lines.append(
            f"{'task':<14} {'metric':<14} {'A':<14} {'B':<22} {'A val':>6} {'B val':>6} "
            f"{'B - A':>6} {'[95% CI]':>15} {'p':>6}"
        )
        for c in summary["comparisons"]:
            ci = "[" + pct(c["ci_low"], True) + ", " + pct(c["ci_high"], True) + "]"
            p = "-" if c["p_value"] is None else f"{c['p_value']:.3f}"
            lines.append(
                f"{c['task']:<14} {c['metric']:<14} {c['model_a']:<14} {c['model_b']:<22} "
                f"{pct(c['a']):>6} {pct(c['b']):>6} {pct(c['difference'], True):>6} {ci:>15} {p:>6}"
            )
        lines.append(
            "Scope: the CI and p resample the held-out items, so they say how sure we are about "
            "these two\ncheckpoints on this test set, not about MAPO vs MUPO in general: training "
            "variance is not in them,\nand another training seed can change the size or the sign "
            "of a difference (3-seed comparison:\nbenchmarks/RESULTS.md)."
        )
    return "\n".join(lines)
