"""PNG charts: score by required tag with CI bars, and by condition for QA+ (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maple_bench.fileio import atomic_savefig


def _bar_chart(table: Mapping[str, Mapping[str, Any]], title: str, ylabel: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    vals = [100 * e["acc"] if e["acc"] is not None else 0.0 for e in table.values()]
    lo = [
        100 * (e["acc"] - e["ci_low"]) if e["acc"] is not None and e["ci_low"] is not None else 0.0
        for e in table.values()
    ]
    hi = [
        100 * (e["ci_high"] - e["acc"])
        if e["acc"] is not None and e["ci_high"] is not None
        else 0.0
        for e in table.values()
    ]
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(names), 3.6), dpi=100)
    colors = ["#4C72B0" if e["acc"] is not None else "#DDDDDD" for e in table.values()]
    ax.bar(names, vals, yerr=[lo, hi], capsize=4, color=colors)
    for i, e in enumerate(table.values()):
        label = f"n={e['n']}" if e["acc"] is not None else "missing"
        ax.text(
            i,
            1,
            label,
            ha="center",
            va="bottom",
            fontsize=7,
            color="white" if e["acc"] else "black",
        )
    ax.set_ylim(0, 100)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    atomic_savefig(fig, path)
    plt.close(fig)
    return path


def plot_results(results: Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Write ``<task>_by_tag.png`` (and ``<task>_by_condition.png`` for QA+); return the paths."""
    m = results["maple"]
    out = Path(out_dir)
    ylabel = "accuracy (%)" if m["primary_score"] == "accuracy" else "judge score (%)"
    paths = [
        _bar_chart(
            m["by_tag"],
            f"{m['task']}: by required modality tag (95% CI, clustered by video)",
            ylabel,
            out / f"{m['task']}_by_tag.png",
        )
    ]
    if m["by_condition"]:
        paths.append(
            _bar_chart(
                m["by_condition"],
                f"{m['task']}: by condition (95% CI)",
                ylabel,
                out / f"{m['task']}_by_condition.png",
            )
        )
    return paths
