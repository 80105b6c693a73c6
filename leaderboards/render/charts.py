"""Charts of a board as SVG files (matplotlib, Agg backend): per-tag bars, a 7-tag radar, and
accuracy by condition for QA+ boards.

Text is drawn as paths (``svg.fonttype = 'path'``), so a model name cannot become SVG markup,
and ``$`` is escaped so a name is never parsed as mathtext.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from leaderboards.render.definitions import score_label
from leaderboards.render.palette import (
    CHANCE_COLOUR,
    FIG_WIDTH,
    FONT_SIZES,
    chance_line,
    model_colours,
    paper_style,
    wrap_title,
)
from leaderboards.schema import CONDITIONS, TAGS


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "path"
    plt.rcParams["svg.hashsalt"] = "maple-bench"  # deterministic element ids
    plt.rcParams.update(paper_style())
    return plt


def _label(entry: Mapping[str, Any]) -> str:
    model = entry["model"]
    text = model["name"] + (f" @{model['revision'][:12]}" if model.get("revision") else "")
    return text.replace("$", r"\$")


def _cells(entry: Mapping[str, Any], keys: Sequence[str], block: str) -> list[Mapping[str, Any]]:
    table = entry[block] or {}
    return [table.get(k) or {"acc": None, "ci_low": None, "ci_high": None} for k in keys]


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    _plt().close(fig)
    return path


def _colours(entries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return model_colours(e["model"]["name"] for e in entries)


def grouped_bars(
    entries: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    block: str,
    title: str,
    path: Path,
    *,
    chance: float | None = None,
) -> Path:
    """Bars of a score (%) per key (tag or condition), one bar per model, with 95% CI whiskers.

    Colours come from :func:`model_colours` (the same model is the same colour on every chart);
    ``chance`` (a fraction) draws the chance line.
    """
    import numpy as np

    plt = _plt()
    n = max(len(entries), 1)
    width = 0.8 / n
    colours = _colours(entries)
    fig, ax = plt.subplots(figsize=(FIG_WIDTH if len(keys) > 3 else 0.8 * FIG_WIDTH, 4.4))
    x = np.arange(len(keys))
    for i, e in enumerate(entries):
        cells = _cells(e, keys, block)
        acc = np.array([np.nan if c["acc"] is None else 100 * c["acc"] for c in cells])
        lo = np.array(
            [
                0.0 if c["ci_low"] is None or c["acc"] is None else 100 * (c["acc"] - c["ci_low"])
                for c in cells
            ]
        )
        hi = np.array(
            [
                0.0 if c["ci_high"] is None or c["acc"] is None else 100 * (c["ci_high"] - c["acc"])
                for c in cells
            ]
        )
        ax.bar(
            x - 0.4 + width * (i + 0.5),
            np.nan_to_num(acc),
            width,
            yerr=np.vstack([np.clip(lo, 0, None), np.clip(hi, 0, None)]),
            capsize=2,
            color=colours[e["model"]["name"]],
            label=_label(e),
        )
    chance_line(ax, None if chance is None else 100 * chance)
    ax.set_xticks(x, list(keys))
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.set_title(wrap_title(title.replace("$", r"\$")), loc="left", pad=12)
    ax.grid(axis="y", alpha=0.3)
    if entries:
        _legend_below(ax, len(entries) + (chance is not None))
    return _save(fig, path)


def _legend_below(ax: Any, n: int) -> None:
    """Legend under the plot: keeps the plotting area wide when the figure is shrunk."""
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=min(n, 3),
        frameon=False,
        fontsize=FONT_SIZES["legend"],
    )


def radar(
    entries: Sequence[Mapping[str, Any]], title: str, path: Path, *, chance: float | None = None
) -> Path:
    """A radar (spider) chart of the 7 tag accuracies, one polygon per model (chance: a dashed
    circle)."""
    import numpy as np

    plt = _plt()
    angles = np.linspace(0, 2 * np.pi, len(TAGS), endpoint=False)
    colours = _colours(entries)
    fig, ax = plt.subplots(figsize=(6.0, 6.0), subplot_kw={"polar": True})
    for e in entries:
        vals = [0.0 if c["acc"] is None else 100 * c["acc"] for c in _cells(e, TAGS, "by_tag")]
        closed = np.concatenate([vals, vals[:1]])
        theta = np.concatenate([angles, angles[:1]])
        colour = colours[e["model"]["name"]]
        ax.plot(theta, closed, linewidth=2.0, color=colour, label=_label(e))
        ax.fill(theta, closed, color=colour, alpha=0.08)
    if chance is not None:
        ring = np.linspace(0, 2 * np.pi, 100)
        ax.plot(ring, np.full_like(ring, 100 * chance), "--", color=CHANCE_COLOUR, linewidth=1.2,
                label=f"chance {100 * chance:.1f}%")  # fmt: skip
    ax.set_xticks(angles, list(TAGS))
    ax.set_ylim(0, 100)
    ax.set_yticks([25, 50, 75, 100])
    ax.set_title(wrap_title(title.replace("$", r"\$"), 48), pad=18)
    if entries:
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.08),
            ncol=2,
            frameon=False,
            fontsize=FONT_SIZES["legend"],
        )
    return _save(fig, path)


def board_charts(board: Mapping[str, Any], out_dir: Path, stem: str) -> dict[str, Path]:
    """Write every chart of one board under ``out_dir``; returns ``{kind: path}``."""
    from leaderboards.rank import rank_board

    entries = [r.entry for r in rank_board(board, "avg_acc")]  # legend in leaderboard order
    name = board.get("title") or board["task"]
    label = score_label(dict(board))
    chance = board.get("chance_acc") if board.get("primary_score") != "judge_score" else None
    charts = {
        "tags": grouped_bars(
            entries,
            TAGS,
            "by_tag",
            f"{name}: {label.lower()} by tag",
            out_dir / f"{stem}_tags.svg",
            chance=chance,
        ),
        "radar": radar(
            entries,
            f"{name}: {label.lower()} on the 7 tags",
            out_dir / f"{stem}_radar.svg",
            chance=chance,
        ),
    }
    if any(e["by_condition"] for e in entries):
        charts["conditions"] = grouped_bars(
            entries,
            CONDITIONS,
            "by_condition",
            f"{name}: {label.lower()} by condition",
            out_dir / f"{stem}_conditions.svg",
            chance=chance,
        )
    return charts
