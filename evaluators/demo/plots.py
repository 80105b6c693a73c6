"""The demo's comparison charts (PNG, matplotlib Agg): every model side by side.

``evaluators.report.plot_results`` draws one run at a time; these draw all the demo's models on
one axis from their results files (accuracy and the 95% CI clustered by video, exactly as stored)
and the training curves of every preset from the trainer's ``metrics.jsonl``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maple_bench.modality import TAG_NAMES

CONDITIONS = ("exact", "superset", "deficit")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leaderboards.render.palette import paper_style

    plt.rcParams.update(paper_style())
    return plt


def _save(fig: Any, path: Path) -> Path:
    """Write the PNG atomically (:func:`maple_bench.fileio.atomic_savefig`) and close the figure."""
    from maple_bench.fileio import atomic_savefig

    try:
        # bbox "tight": the legend sits below the axes, outside the figure's own box
        return atomic_savefig(fig, path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    finally:
        _plt().close(fig)


def _grouped(
    docs: Mapping[str, Mapping[str, Any]], block: str, keys: tuple[str, ...], title: str, path: Path
) -> Path:
    import numpy as np

    from leaderboards.render.palette import FIG_WIDTH, chance_line, model_colours

    plt = _plt()
    fig, ax = plt.subplots(figsize=(FIG_WIDTH if len(keys) > 3 else 0.8 * FIG_WIDTH, 4.6))
    x = np.arange(len(keys))
    width = 0.8 / max(len(docs), 1)
    colours = model_colours(docs)
    for i, (model, doc) in enumerate(docs.items()):
        table = doc["maple"][block]
        cells = [table.get(k) or {} for k in keys]
        acc = np.array([np.nan if c.get("acc") is None else 100 * c["acc"] for c in cells])
        lo = [
            0.0
            if c.get("ci_low") is None or c.get("acc") is None
            else 100 * (c["acc"] - c["ci_low"])
            for c in cells
        ]
        hi = [
            0.0
            if c.get("ci_high") is None or c.get("acc") is None
            else 100 * (c["ci_high"] - c["acc"])
            for c in cells
        ]
        ax.bar(
            x - 0.4 + width * (i + 0.5),
            np.nan_to_num(acc),
            width,
            yerr=np.clip(np.vstack([lo, hi]), 0, None),
            capsize=2,
            color=colours[model],
            label=model,
        )
    chances = [d["maple"].get("chance_acc") for d in docs.values()]
    chance = next((c for c in chances if isinstance(c, (int, float))), None)
    chance_line(ax, None if chance is None else 100 * chance)
    ax.set_xticks(x, list(keys))
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title, loc="left", pad=12)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    fig.tight_layout()
    return _save(fig, path)


def plot_per_tag(docs: Mapping[str, Mapping[str, Any]], path: Path, *, task: str) -> Path:
    """Accuracy by required modality tag, one bar per model (``docs``: model -> results)."""
    any_doc = next(iter(docs.values()))
    n, videos = any_doc["maple"]["n_items"], any_doc["maple"]["n_videos"]
    return _grouped(
        docs,
        "by_tag",
        TAG_NAMES,
        f"{task}: accuracy by required modality tag\n({n} items, {videos} held-out videos; "
        f"95% CI by video)",
        path,
    )


def plot_conditions(docs: Mapping[str, Mapping[str, Any]], path: Path) -> Path:
    """MAPLE-QA+ accuracy by condition (exact / superset / deficit), one bar per model."""
    any_doc = next(iter(docs.values()))
    n = any_doc["maple"]["n_rows"]
    return _grouped(
        docs,
        "by_condition",
        CONDITIONS,
        f"maple_qa_plus: accuracy by condition\n({n} rows; on deficit rows None is correct)",
        path,
    )


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    from maple_bench.jsonl import read_jsonl

    return read_jsonl(path, what="training metrics log")


def _smooth(values: list[float], window: int) -> list[float]:
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > window:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def plot_training(metrics: Mapping[str, Path], path: Path) -> Path:
    """Training reward of every model (``metrics``: model name -> its ``metrics.jsonl``), and the
    spread of its per-tag rewards, per step; colours are the models' colours on every chart."""
    from leaderboards.render.palette import model_colours

    plt = _plt()
    colours = model_colours(metrics)
    fig, (ax_r, ax_s) = plt.subplots(1, 2, figsize=(9, 4.2))
    for preset, mpath in metrics.items():
        rows = _read_metrics(mpath)
        if not rows:
            continue
        steps = [r["step"] for r in rows]
        window = max(1, len(rows) // 15)
        reward = [float(r["reward_mean"]) for r in rows]
        (line,) = ax_r.plot(
            steps, _smooth(reward, window), label=preset, color=colours[preset], linewidth=2
        )
        ax_r.plot(steps, reward, color=line.get_color(), alpha=0.2, linewidth=0.8)
        spread = []
        for r in rows:
            tags = [v for k, v in r.items() if k.startswith("reward_mean/") and v is not None]
            spread.append(max(tags) - min(tags) if tags else float("nan"))
        ax_s.plot(steps, _smooth(spread, window), label=preset, color=line.get_color(), linewidth=2)
    ax_r.set_title("training reward\n(each preset's own presentations)", loc="left")
    ax_s.set_title("spread of per-tag training reward\n(max - min)", loc="left")
    for ax in (ax_r, ax_s):
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return _save(fig, path)
