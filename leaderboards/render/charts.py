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
from leaderboards.schema import CONDITIONS, TAGS


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "path"
    plt.rcParams["svg.hashsalt"] = "maple-bench"  # deterministic element ids
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


def grouped_bars(
    entries: Sequence[Mapping[str, Any]], keys: Sequence[str], block: str, title: str, path: Path
) -> Path:
    """Bars of accuracy (%) per key (tag or condition), one bar per model, with 95% CI whiskers."""
    import numpy as np

    plt = _plt()
    n = max(len(entries), 1)
    width = 0.8 / n
    fig, ax = plt.subplots(
        figsize=(max(6.0, 0.9 * len(keys) + 0.3 * len(entries) * len(keys)), 3.6)
    )
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
            label=_label(e),
        )
    ax.set_xticks(x, list(keys))
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.set_title(title.replace("$", r"\$"))
    ax.grid(axis="y", alpha=0.3)
    if entries:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _save(fig, path)


def radar(entries: Sequence[Mapping[str, Any]], title: str, path: Path) -> Path:
    """A radar (spider) chart of the 7 tag accuracies, one polygon per model."""
    import numpy as np

    plt = _plt()
    angles = np.linspace(0, 2 * np.pi, len(TAGS), endpoint=False)
    fig, ax = plt.subplots(figsize=(5.2, 4.6), subplot_kw={"polar": True})
    for e in entries:
        vals = [0.0 if c["acc"] is None else 100 * c["acc"] for c in _cells(e, TAGS, "by_tag")]
        closed = np.concatenate([vals, vals[:1]])
        theta = np.concatenate([angles, angles[:1]])
        ax.plot(theta, closed, linewidth=1.5, label=_label(e))
        ax.fill(theta, closed, alpha=0.08)
    ax.set_xticks(angles, list(TAGS))
    ax.set_ylim(0, 100)
    ax.set_yticks([25, 50, 75, 100])
    ax.set_title(title.replace("$", r"\$"), pad=14)
    if entries:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.08, 1.05), frameon=False)
    return _save(fig, path)


def board_charts(board: Mapping[str, Any], out_dir: Path, stem: str) -> dict[str, Path]:
    """Write every chart of one board under ``out_dir``; returns ``{kind: path}``."""
    from leaderboards.rank import rank_board

    entries = [r.entry for r in rank_board(board, "avg_acc")]  # legend in leaderboard order
    name = board.get("title") or board["task"]
    label = score_label(dict(board))
    charts = {
        "tags": grouped_bars(
            entries, TAGS, "by_tag", f"{name}: {label.lower()} by tag", out_dir / f"{stem}_tags.svg"
        ),
        "radar": radar(
            entries, f"{name}: {label.lower()} on the 7 tags", out_dir / f"{stem}_radar.svg"
        ),
    }
    if any(e["by_condition"] for e in entries):
        charts["conditions"] = grouped_bars(
            entries,
            CONDITIONS,
            "by_condition",
            f"{name}: {label.lower()} by condition",
            out_dir / f"{stem}_conditions.svg",
        )
    return charts
