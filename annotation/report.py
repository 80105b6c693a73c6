"""The `agree` report: agreement statistics, a per-tag confusion matrix (table + PNG), and the
items that need adjudication. Reads :class:`Label` rows; the statistics are in :mod:`agree`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from annotation.agree import (
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    majority,
    observed_agreement,
    pivot_ratings,
    ratings_to_counts,
    single_category,
)
from annotation.labels import Label
from maple_bench.fileio import atomic_savefig, atomic_write_json, atomic_write_text
from maple_bench.modality import TAG_NAMES


def _undefined_reason(ratings: Sequence[Sequence[Any]]) -> str:
    cat = single_category(ratings)
    if cat is not None:
        return (
            f"undefined: every annotator used the single tag {cat} (expected agreement is 1, "
            f"so the statistic is 0/0); read observed_agreement, and check the batch"
        )
    return "undefined: no item was labelled by two or more annotators"


def _stat(value: float, ratings: Sequence[Sequence[Any]]) -> tuple[float | None, str | None]:
    """(value, None), or (None, reason) when the statistic is undefined (NaN)."""
    if value == value:
        return value, None
    return None, _undefined_reason(ratings)


def agreement(labels: Sequence[Label]) -> dict[str, Any]:
    """Statistics for a label set, each beside the observed agreement it corrects for chance.

    Cohen's kappa for every annotator pair; ``cohen_kappa`` is that pair's for two annotators
    and the mean over the pairs with a defined kappa for more (``cohen_kappa_method`` says
    which). Fleiss' kappa over the items rated by every annotator, Krippendorff's alpha over
    all items. An undefined statistic (every rating one tag, or nothing to pair) is None, with
    the reason under ``undefined``.
    """
    rows = [{"item_id": lb.item_id, "annotator": lb.annotator, "rmt": lb.rmt} for lb in labels]
    items, raters, grid = pivot_ratings(rows)
    out: dict[str, Any] = {"n_items": len(items), "annotators": raters, "n_labels": len(rows)}
    undefined: dict[str, str] = {}
    pairs: dict[str, dict[str, Any]] = {}
    for i in range(len(raters)):
        for j in range(i + 1, len(raters)):
            both = [(r[i], r[j]) for r in grid if r[i] is not None and r[j] is not None]
            if both:
                a, b = zip(*both)
                pair = [list(x) for x in both]
                kappa, why = _stat(cohen_kappa(a, b), pair)
                pairs[f"{raters[i]}|{raters[j]}"] = {
                    "n": len(both),
                    "kappa": kappa,
                    "observed_agreement": observed_agreement(pair),
                    **({"undefined": why} if why else {}),
                }
    out["cohen_kappa_pairs"] = pairs
    defined = [p["kappa"] for p in pairs.values() if p["kappa"] is not None]
    out["cohen_kappa"] = float(np.mean(defined)) if defined else None
    if len(raters) > 2:
        out["cohen_kappa_method"] = (
            f"mean of Cohen's kappa over {len(defined)} of {len(pairs)} annotator pairs "
            f"(pairs with an undefined kappa left out)"
        )
    elif pairs:
        out["cohen_kappa_method"] = "Cohen's kappa of the one annotator pair"
    if pairs and not defined:
        undefined["cohen_kappa"] = next(iter(pairs.values())).get("undefined") or ""
    out["observed_agreement"] = _nan_none(observed_agreement(grid)) if len(raters) >= 2 else None
    complete = [r for r in grid if all(v is not None for v in r)]
    out["fleiss_kappa"] = None
    if len(raters) >= 2 and complete:
        _, counts = ratings_to_counts(complete, labels=list(TAG_NAMES))
        out["fleiss_kappa"], why = _stat(fleiss_kappa(counts), complete)
        out["fleiss_n_items"] = len(complete)
        if why:
            undefined["fleiss_kappa"] = why
    out["krippendorff_alpha"] = None
    if len(raters) >= 2:
        out["krippendorff_alpha"], why = _stat(krippendorff_alpha_nominal(grid), grid)
        if why:
            undefined["krippendorff_alpha"] = why
    out["undefined"] = undefined
    return out


def _nan_none(x: float) -> float | None:
    return None if x != x else x


def disagreements(labels: Sequence[Label]) -> list[dict[str, Any]]:
    """Items whose annotators disagree, with every verdict and the majority, for adjudication.

    ``tie`` marks items without a majority (``majority`` is None): those are never settled by
    default, an adjudicator decides.
    """
    rows = [{"item_id": lb.item_id, "annotator": lb.annotator, "rmt": lb.rmt} for lb in labels]
    items, raters, grid = pivot_ratings(rows)
    out = []
    for item, r in zip(items, grid):
        given = {a: v for a, v in zip(raters, r) if v is not None}
        if len(set(given.values())) > 1:
            top, share = majority(list(given.values()))
            out.append(
                {
                    "item_id": item,
                    "labels": given,
                    "majority": top,
                    "majority_share": share,
                    "tie": top is None,
                }
            )
    return out


def write_agree_report(labels: Sequence[Label], out_dir: str | Path) -> dict[str, Path]:
    """agreement.json, confusion.csv + confusion.png (first two annotators), disagreements.csv."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    out_dir = Path(out_dir)
    stats = agreement(labels)
    paths = {"agreement": atomic_write_json(out_dir / "agreement.json", _finite(stats))}
    dis = disagreements(labels)
    paths["disagreements"] = atomic_write_text(
        out_dir / "disagreements.csv",
        pd.DataFrame(
            [
                {
                    "item_id": d["item_id"],
                    "majority": d["majority"],
                    "majority_share": d["majority_share"],
                    "tie": d["tie"],
                    **{f"label_{k}": v for k, v in d["labels"].items()},
                }
                for d in dis
            ],
            columns=None if dis else ["item_id", "majority", "majority_share", "tie"],
        ).to_csv(index=False),
    )
    raters = stats["annotators"]
    if len(raters) >= 2:
        rows = [{"item_id": lb.item_id, "annotator": lb.annotator, "rmt": lb.rmt} for lb in labels]
        _, _, grid = pivot_ratings(rows)
        both = [(r[0], r[1]) for r in grid if r[0] is not None and r[1] is not None]
        a, b = zip(*both) if both else ((), ())
        cats, m = confusion_matrix(a, b, labels=list(TAG_NAMES))
        df = pd.DataFrame(
            m, index=[f"{raters[0]}:{c}" for c in cats], columns=[f"{raters[1]}:{c}" for c in cats]
        )
        paths["confusion_csv"] = atomic_write_text(out_dir / "confusion.csv", df.to_csv())
        fig, ax = plt.subplots(figsize=(5.2, 4.6))
        im = ax.imshow(m, cmap="Blues")
        tick_labels = [str(c) for c in cats]  # TAG_NAMES strings; matplotlib str()s them anyway
        ax.set_xticks(range(len(cats)), tick_labels)
        ax.set_yticks(range(len(cats)), tick_labels)
        ax.set_xlabel(f"annotator {raters[1]}")
        ax.set_ylabel(f"annotator {raters[0]}")
        for i in range(len(cats)):
            for j in range(len(cats)):
                if m[i, j]:
                    ax.text(
                        j,
                        i,
                        str(m[i, j]),
                        ha="center",
                        va="center",
                        color="white" if m[i, j] > m.max() / 2 else "black",
                    )
        pair = stats["cohen_kappa_pairs"].get(f"{raters[0]}|{raters[1]}") or {}
        kappa = pair.get("kappa")
        ax.set_title(
            "RMT confusion"
            + (f" (Cohen's kappa {kappa:.2f})" if kappa is not None else " (kappa undefined)")
        )
        fig.colorbar(im, ax=ax, shrink=0.8)
        fig.tight_layout()
        paths["confusion_png"] = atomic_savefig(fig, out_dir / "confusion.png", dpi=120)
        plt.close(fig)
    return paths


def _finite(obj: Any) -> Any:
    """NaN -> None so the JSON stays strict."""
    if isinstance(obj, float):
        return None if obj != obj else obj
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj
