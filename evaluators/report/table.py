"""Terminal tables of a results dict: per-tag rows with a CI column, conditions, headline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _pct(x: float | None, width: int = 6) -> str:
    return f"{100 * x:{width}.1f}" if x is not None else f"{'-':>{width}}"


def _ci(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None:
        return f"{'-':>13}"
    return f"[{100 * lo:5.1f},{100 * hi:5.1f}]"


RATIOS = ("superset_robustness", "fusion_gain_rel")
"""Headline metrics that are ratios, shown as such rather than x100."""


def _rows(title: str, table: Mapping[str, Mapping[str, Any]], score: str) -> list[str]:
    out = [f"{title:<10} {score:>6} {'95% CI':>13} {'n':>7} {'videos':>7}"]
    for name, e in table.items():
        out.append(
            f"{name:<10} {_pct(e['acc'])} {_ci(e['ci_low'], e['ci_high'])} {e['n']:>7} "
            f"{e['n_videos']:>7}"
        )
    return out


def format_table(results: Mapping[str, Any]) -> str:
    """A plain-text report: by RMT, by condition (QA+), headline metrics with CIs (x100)."""
    m = results["maple"]
    score = "acc" if m["primary_score"] == "accuracy" else "judge"
    lines = [
        f"task {m['task']}  items {m['n_items']}  videos {m['n_videos']}  "
        f"metrics v{m['metrics_version']}  (values in %; CI: clustered bootstrap by video, "
        f"{m['bootstrap']['n_bootstrap']} resamples)",
        "",
    ]
    lines += _rows("RMT", m["by_tag"], score)
    if m["by_condition"]:
        lines += ["", *_rows("condition", m["by_condition"], score)]
    lines += ["", f"{'metric':<22} {'value':>7} {'95% CI':>13}"]
    for k, v in m["headline"].items():
        if v is None:
            continue
        ci = m["headline_ci"][k]
        if k in RATIOS:
            lo, hi = ci["ci_low"], ci["ci_high"]
            rng = f"[{lo:5.2f},{hi:5.2f}]" if lo is not None and hi is not None else f"{'-':>13}"
            lines.append(f"{k:<22} {v:7.3f} {rng:>13}  (ratio)")
        else:
            lines.append(f"{k:<22} {_pct(v, 7)} {_ci(ci['ci_low'], ci['ci_high'])}")
    cap = m.get("captions")
    if cap:
        lines += ["", f"{'lexical':<10} {'BLEU-4':>7} {'ROUGE-L':>8} {'CIDEr-D':>8} {'n':>6}"]
        rows = {**cap["lexical"]["by_tag"], "all": cap["lexical"]["overall"]}
        for t, e in rows.items():
            cd = f"{e['cider_d']:8.3f}" if e["cider_d"] is not None else f"{'-':>8}"
            lines.append(f"{t:<10} {_pct(e['bleu4'], 7)} {_pct(e['rouge_l'], 8)} {cd} {e['n']:>6}")
        if cap.get("judge"):
            lines.append(f"judge {cap['judge']['judge_id']} prompt {cap['judge']['prompt_hash']}")
    return "\n".join(lines)


def format_comparison(cmp: Mapping[str, Any]) -> str:
    """Text for a paired comparison dict (see ``evaluators.cli_metrics.run_compare``)."""

    def f(x: float | None, signed: bool = False) -> str:
        return "-" if x is None else (f"{100 * x:+.2f}" if signed else f"{100 * x:.2f}")

    p = cmp["p_value"]
    gr = cmp["gap_reduction"]
    lines = [
        f"{cmp['metric']}: A {f(cmp['a'])}  B {f(cmp['b'])}  B-A {f(cmp['difference'], True)} "
        f"[{f(cmp['ci_low'], True)}, {f(cmp['ci_high'], True)}]  "
        f"p = {'-' if p is None else f'{p:.4f}'} (sign-flip permutation by video)",
        f"uni_multi_gap: A {f(cmp['gap_a'])}  B {f(cmp['gap_b'])}  gap_reduction "
        f"{'-' if gr is None else f'{gr:.3f}'}",
        f"{cmp['n_items']} items, {cmp['n_clusters']} videos, {cmp['n_bootstrap']} paired "
        f"bootstrap resamples, {cmp['n_permutations']} permutations, seed {cmp['seed']} "
        f"(values in %, differences in points)",
    ]
    return "\n".join(lines)
