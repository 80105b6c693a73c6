"""A Markdown table of a board for READMEs (GitHub-flavoured; model names escaped)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from leaderboards.rank import rank_board
from leaderboards.render.definitions import fmt
from leaderboards.schema import TAGS

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def md_escape(text: Any) -> str:
    """Escape text for a Markdown table cell: HTML entities, Markdown punctuation, no newlines."""
    s = html.escape("" if text is None else str(text), quote=False)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return " ".join(s.split())


def markdown_table(board: Mapping[str, Any], metric: str = "avg_acc") -> str:
    """Rank | Model | avg | 7 tags | gap | fusion gain, values in %, ranked with CI-overlap ties."""
    head = ["Rank", "Model", "Avg acc", *TAGS, "Uni-multi gap", "Fusion gain"]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---:", ":---"] + ["---:"] * (len(head) - 2)) + "|",
    ]
    for r in rank_board(board, metric):
        e = r.entry
        name = e["model"]["name"] + (
            f" @{e['model']['revision'][:12]}" if e["model"].get("revision") else ""
        )
        cells = [
            "" if r.rank is None else str(r.rank),
            md_escape(name),
            fmt(e["headline"].get("avg_acc")),
        ]
        cells += [fmt(e["by_tag"][t]["acc"]) for t in TAGS]
        cells += [fmt(e["headline"].get("uni_multi_gap")), fmt(e["headline"].get("fusion_gain"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_document(boards: list[Mapping[str, Any]]) -> str:
    """One section per board: heading, dataset line, table, and the ranking rule."""
    out = []
    for b in boards:
        ds = b["dataset"]
        out.append(f"### {md_escape(b.get('title') or b['task'])}\n")
        src = md_escape(ds.get("repo_id") or "local dataset")
        rev = f" @ `{md_escape(ds['revision'])}`" if ds.get("revision") else ""
        out.append(
            f"Dataset {src}{rev}, task hash `{md_escape(b['task_hash'][:16])}`. Accuracy in %.\n"
        )
        out.append(markdown_table(b))
    out.append(
        "Ranked by avg_acc (macro mean over the 7 tags); entries whose 95% CIs overlap share a rank.\n"
    )
    return "\n".join(out)
