"""PNG charts: score by required tag with CI bars, and by condition for QA+ (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maple_bench.fileio import atomic_savefig


def _bar_chart(
    table: Mapping[str, Mapping[str, Any]],
    title: str,
    ylabel: str,
    path: Path,
    *,
    colour: str,
    chance: float | None = None,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leaderboards.render.palette import FIG_WIDTH, chance_line, paper_style, wrap_title

    plt.rcParams.update(paper_style())
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
    fig, ax = plt.subplots(figsize=(FIG_WIDTH if len(names) > 3 else 0.7 * FIG_WIDTH, 4.2), dpi=100)
    colors = [colour if e["acc"] is not None else "#DDDDDD" for e in table.values()]
    x = list(range(len(names)))
    ax.bar(x, vals, yerr=[lo, hi], capsize=4, color=colors)
    # the count goes under each tick label, where it never collides with a bar or its CI
    ax.set_xticks(
        x,
        [f"{k}\nn={e['n']}" if e["acc"] is not None else f"{k}\nmissing" for k, e in table.items()],
    )
    chance_line(ax, None if chance is None else 100 * chance)
    if chance is not None:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    ax.set_ylim(0, 100)
    ax.set_ylabel(ylabel)
    ax.set_title(wrap_title(title, 56), loc="left", pad=12)
    fig.tight_layout()
    atomic_savefig(fig, path, bbox_inches="tight")  # the legend sits below the axes
    plt.close(fig)
    return path


def plot_results(
    results: Mapping[str, Any], out_dir: Path | str, *, model_name: str | None = None
) -> list[Path]:
    """Write ``<task>_by_tag.png`` (and ``<task>_by_condition.png`` for QA+); return the paths.

    Bars take the model's colour (:func:`leaderboards.render.palette.model_colour`, keyed by
    ``model_name``, default the results' model name), so a run looks the same in every chart.
    """
    m = results["maple"]
    out = Path(out_dir)
    from leaderboards.render.palette import model_colour

    accuracy = m["primary_score"] == "accuracy"
    ylabel = "accuracy (%)" if accuracy else "judge score (%)"
    name = model_name or str(
        results.get("model_name") or (m["provenance"].get("model") or {}).get("id") or ""
    )
    colour, chance = model_colour(name), (m.get("chance_acc") if accuracy else None)
    paths = [
        _bar_chart(
            m["by_tag"],
            f"{m['task']}: {name}, by required modality tag\n(95% CI, clustered by video)",
            ylabel,
            out / f"{m['task']}_by_tag.png",
            colour=colour,
            chance=chance,
        )
    ]
    if m["by_condition"]:
        paths.append(
            _bar_chart(
                m["by_condition"],
                f"{m['task']}: {name}, by condition\n(95% CI)",
                ylabel,
                out / f"{m['task']}_by_condition.png",
                colour=colour,
                chance=chance,
            )
        )
    return paths
