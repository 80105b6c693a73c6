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
        keep = [
            ln
            for ln in self.path.read_text().splitlines()
            if ln.strip() and json.loads(ln).get("step", 0) <= step
        ]
        atomic_write_text(self.path, "".join(k + "\n" for k in keep))

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
    return [json.loads(ln) for ln in Path(path).read_text().splitlines() if ln.strip()]


CURVES = (
    ("reward_mean", "mean reward"),
    ("kept_frac", "kept fraction"),
    ("entropy", "entropy"),
    ("grad_norm", "grad norm"),
    ("grad_var", "gradient variance"),
    ("loss", "loss"),
)


def plot_curves(rows: Sequence[dict[str, Any]], out: Path, title: str = "") -> Path | None:
    """A grid of training curves, plus per-tag reward; returns the PNG path."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, axes = plt.subplots(2, 4, figsize=(16, 7))
    for ax, (key, label) in zip(axes.flat, CURVES):
        ys = [r.get(key) for r in rows]
        ax.plot(steps, [float("nan") if y is None else y for y in ys])
        ax.set_title(label)
        ax.set_xlabel("step")
    ax = axes.flat[len(CURVES)]
    tags = sorted({k.split("/", 1)[1] for r in rows for k in r if k.startswith("reward_mean/")})
    for t in tags:
        ax.plot(
            steps, [r.get(f"reward_mean/{t}", float("nan")) or float("nan") for r in rows], label=t
        )
    ax.set_title("reward by required tag")
    if tags:
        ax.legend(fontsize=7)
    ax = axes.flat[len(CURVES) + 1]
    acc = [(r["step"], r["eval_acc"]) for r in rows if r.get("eval_acc") is not None]
    if acc:
        ax.plot(*zip(*acc), marker="o")
    ax.set_title("held-out accuracy (if evaluated)")
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
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
