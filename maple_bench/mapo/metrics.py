"""Per-step metrics: an append-only JSONL log (resumable) and PNG training curves."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from maple_bench.fileio import atomic_write_text
from maple_bench.mapo.advantages import advantage_stats
from maple_bench.modality import TAG_NAMES


class MetricsLog:
    """``metrics.jsonl``: one JSON object per optimizer step, flushed at once.

    On resume the log is cut back to the checkpoint's step, so a run killed after step 12 and
    resumed from its step-10 checkpoint does not list steps 11 and 12 twice.
    """

    def __init__(self, path: Path, *, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled

    def truncate_after(self, step: int) -> None:
        if not self.enabled or not self.path.exists():
            return
        keep = [r for r in read_metrics(self.path) if r.get("step", 0) <= step]
        atomic_write_text(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in keep))

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()
        }
        with self.path.open("a") as f:
            f.write(json.dumps(clean, sort_keys=True) + "\n")
            f.flush()


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Rows of ``metrics.jsonl`` (one torn last line from a killed run is skipped)."""
    lines = Path(path).read_text().split("\n")
    rows = []
    for i, ln in enumerate(lines):
        if not ln.strip():
            continue
        try:
            rows.append(json.loads(ln))
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # no newline after it: an interrupted write
                continue
            raise ValueError(
                f"{path}: line {i + 1} is not JSON; the metrics log is damaged"
            ) from None
    return rows


CURVES = (
    ("reward_mean", "mean reward"),
    ("kept_frac", "kept fraction"),
    ("entropy", "entropy"),
    ("grad_norm", "grad norm"),
    ("grad_var", "gradient variance"),
    ("loss", "loss"),
    ("clip_high_frac", "clipped fraction (high)"),
    ("lr", "learning rate"),
)


def smooth(values: Sequence[float | None], window: int) -> list[float]:
    """Trailing moving average over the last ``window`` finite values (NaN where none yet)."""
    out, buf = [], []
    for v in values:
        if v is not None and math.isfinite(v):
            buf.append(float(v))
            buf = buf[-window:]
        out.append(sum(buf) / len(buf) if buf else float("nan"))
    return out


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def curve_panels(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """(title, kind, key) of the panels :func:`plot_curves` draws: only quantities with at least
    one finite value, then the per-tag reward (canonical tag order) and held-out accuracy when
    there is any."""
    panels: list[tuple[str, str, str | None]] = [
        (label, "curve", key) for key, label in CURVES if any(_finite(r.get(key)) for r in rows)
    ]
    window = max(1, len(rows) // 20)
    if any(_finite(r.get(f"reward_mean/{t}")) for r in rows for t in TAG_NAMES):
        panels.append((f"reward by required tag (moving average of {window})", "tags", None))
    if any(_finite(r.get("eval_acc")) for r in rows):
        panels.append(("held-out accuracy", "eval", None))
    return panels


def plot_curves(rows: Sequence[dict[str, Any]], out: Path, title: str = "") -> Path | None:
    """Training curves: one panel per logged quantity that has data (panels without any finite
    value, e.g. the gradient variance of a multi-process run or held-out accuracy without
    evaluation, are left out), plus the per-tag reward, smoothed, in the canonical tag order."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from maple_bench.fileio import atomic_savefig

    steps = [r["step"] for r in rows]
    window = max(1, len(rows) // 20)
    panels = curve_panels(rows)
    tags = [t for t in TAG_NAMES if any(_finite(r.get(f"reward_mean/{t}")) for r in rows)]
    acc = [(r["step"], r["eval_acc"]) for r in rows if _finite(r.get("eval_acc"))]
    ncols = 4
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.4 * nrows), squeeze=False)
    for ax, (label, kind, key) in zip(axes.flat, panels):
        if kind == "curve" and key is not None:
            ys = [r.get(key) for r in rows]
            ax.plot(steps, [float(y) if _finite(y) else float("nan") for y in ys], alpha=0.35)  # type: ignore[arg-type]
            ax.plot(steps, smooth(ys, window), color="C0")
        elif kind == "tags":
            for i, t in enumerate(tags):
                ys = [r.get(f"reward_mean/{t}") for r in rows]
                ax.plot(steps, smooth(ys, window), label=t, color=f"C{i}")
            ax.legend(fontsize=7, ncols=2, title="RMT")
        else:
            ax.plot(*zip(*acc), marker="o")
        ax.set_title(label)
        ax.set_xlabel("step")
    for ax in list(axes.flat)[len(panels) :]:
        ax.remove()
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_savefig(fig, out, dpi=80)
    plt.close(fig)
    return out


def step_row(step: int, base: dict[str, Any], st: dict[str, float], dt: float) -> dict[str, Any]:
    """The metrics line of one optimizer step from the global batch ``base`` and update stats."""
    r, tags, keep, adv = base["rewards"], base["tags"], base["keep"], base["adv"]
    tokens = max(st["token_count"], 1.0)
    row: dict[str, Any] = {
        "step": step,
        "reward_mean": float(r.mean()),
        "reward_std": float(r.std(unbiased=False)),
        "kept_frac": float(keep.float().mean()),
        "loss": st["loss"],
        "grad_norm": st["grad_norm"],
        "grad_var": st["grad_var"],
        "grad_var_rel": st["grad_var_rel"],
        "update_tokens": st["token_count"],
        "clip_low_frac": st["clip_low_count"] / tokens,
        "clip_high_frac": st["clip_high_count"] / tokens,
        "entropy": st["entropy_sum"] / tokens,
        "kl": st["kl_sum"] / tokens,
        "step_time": dt,
        "rollout_time": base["rollout_time"],
        "tokens_per_s": base["tokens"] / dt if dt > 0 else float("nan"),
        "batch_hash": hashlib.sha256(json.dumps(base["batch"]).encode()).hexdigest()[:12],
    }
    row.update(advantage_stats(adv[keep]) if keep.any() else advantage_stats(adv[:0]))
    for t in sorted(set(tags), key=TAG_NAMES.index):
        sel = torch.tensor([x == t for x in tags])
        row[f"reward_mean/{t}"] = float(r[sel].mean())
        row[f"reward_std/{t}"] = float(r[sel].std(unbiased=False))
        row[f"n/{t}"] = int(sel.sum())
        if base["weights"] and t in base["weights"]:
            row[f"weight/{t}"] = base["weights"][t]
    return row
