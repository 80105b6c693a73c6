"""Render boards as a static site: ``index.html`` (sortable tables, charts, definitions),
``charts/*.svg``, ``boards/*.json`` (the boards themselves) and ``LEADERBOARD.md``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from leaderboards.render.charts import board_charts
from leaderboards.render.definitions import slug
from leaderboards.render.html import page
from leaderboards.render.markdown import markdown_document, markdown_table
from leaderboards.schema import atomic_write_text, dumps, validate_board

__all__ = ["markdown_document", "markdown_table", "render_site"]


def render_site(
    boards: Sequence[Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    title: str = "maple-bench leaderboard",
    charts: bool = True,
) -> list[Path]:
    """Write the site for ``boards`` into ``out_dir``; returns the files written (sorted)."""
    out = Path(out_dir)
    ids: list[str] = []
    for b in boards:
        validate_board(b)
        stem = slug(b["task"])
        while stem in ids:
            stem += "-x"
        ids.append(stem)
    written: list[Path] = []
    chart_srcs: list[dict[str, str]] = []
    json_links = []
    for b, stem in zip(boards, ids):
        srcs: dict[str, str] = {}
        if charts:
            for kind, path in board_charts(b, out / "charts", stem).items():
                written.append(path)
                srcs[kind] = path.relative_to(out).as_posix()
        chart_srcs.append(srcs)
        jp = out / "boards" / f"{stem}.json"
        atomic_write_text(jp, dumps(b))
        written.append(jp)
        json_links.append(jp.relative_to(out).as_posix())
    index = out / "index.html"
    atomic_write_text(index, page(boards, ids, chart_srcs, title=title, json_links=json_links))
    md = out / "LEADERBOARD.md"
    atomic_write_text(md, f"## {title}\n\n" + markdown_document(list(boards)))
    written += [index, md]
    return sorted(written)
