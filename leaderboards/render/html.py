"""The leaderboard page: one self-contained ``index.html`` (inline CSS and JS, no CDN, works
from ``file://``).

Every string from a board goes through :func:`html.escape`; the board data embedded for scripts
is JSON with ``<``, ``>``, ``&`` (and U+2028/2029) escaped, so no model name can close the
``<script>`` element. Tables are rendered server-side; the inline script only re-orders rows
by each cell's ``data-v`` value when a column header is clicked.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from leaderboards.rank import higher_is_better, rank_board
from leaderboards.render.definitions import (
    DEFAULT_DEFINITIONS,
    EXTRA_COLUMNS,
    HEADLINE_COLUMNS,
    LABELS,
    fmt,
    fmt_ci,
    score_label,
)
from leaderboards.render.palette import model_colours
from leaderboards.schema import CONDITIONS, SCHEMA_VERSION, TAGS


def esc(value: Any) -> str:
    """HTML-escape any value for text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(data: Any) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False)
    for ch, rep in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, rep)
    return text


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1400px;
padding:0 1rem;color:#1d232a;background:#fff}
h1{margin-bottom:.2rem}h2{margin-top:2.5rem;border-bottom:2px solid #e3e7ec;padding-bottom:.3rem}
.meta{color:#5b6570;font-size:.9rem}.meta code{font-size:.85rem}
.scroll{overflow-x:auto;margin:.4rem 0 1.4rem}
table{border-collapse:collapse;font-size:.86rem;min-width:60%}
caption{text-align:left;padding:.2rem 0}
th,td{padding:.35rem .55rem;border-bottom:1px solid #e6e9ed;text-align:right;white-space:nowrap}
th{background:#f4f6f8;position:sticky;top:0}
th.text,td.text{text-align:left}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th:hover{background:#e8edf2}
th[aria-sort=descending]::after{content:" \\25BC";font-size:.7em}
th[aria-sort=ascending]::after{content:" \\25B2";font-size:.7em}
td .ci{color:#7a8590;font-size:.78em;margin-left:.3em}
td.model{font-weight:600;white-space:normal;min-width:12rem;max-width:22rem;overflow-wrap:anywhere}
td.model::before{content:"";display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.45em;vertical-align:-.05em;background:var(--swatch,#ccc)}
td.model .rev{font-weight:400;color:#7a8590;font-size:.8em;margin-left:.3em}
tr:hover td{background:#fafbfc}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts img{max-width:100%;border:1px solid #eef0f2}
dl.defs dt{font-weight:600;font-family:ui-monospace,monospace}dl.defs dd{margin:0 0 .6rem 1.2rem}
details{margin:.6rem 0}pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:.8rem}
footer{margin-top:3rem;color:#8a949e;font-size:.8rem}
"""

# Re-sorts a table's body rows by the clicked column's data-v values (numbers or text; empty =
# missing, always last). Runs from file:// (no modules, no fetch, no external code).
_JS = """
(function () {
  function key(cell, kind) {
    var v = cell ? cell.getAttribute("data-v") : null;
    if (v === null || v === "") { return null; }
    return kind === "num" ? parseFloat(v) : v.toLowerCase();
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.setAttribute("tabindex", "0");
      function sort() {
        var kind = th.getAttribute("data-kind");
        var cur = th.getAttribute("aria-sort");
        var dir = cur === "descending" ? "ascending" : cur === "ascending" ? "descending"
          : (th.getAttribute("data-first") || (kind === "num" ? "descending" : "ascending"));
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col], kind), y = key(b.cells[col], kind);
          if (x === null && y === null) { return 0; }
          if (x === null) { return 1; }
          if (y === null) { return -1; }
          var c = kind === "num" ? x - y : (x < y ? -1 : x > y ? 1 : 0);
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sort(); } });
    });
  });
})();
"""


def _num_td(
    value: float | None, metric: str = "", low: float | None = None, high: float | None = None
) -> str:
    v = "" if value is None else repr(float(value))
    ci = fmt_ci(low, high)
    ci_html = f'<span class="ci">{esc(ci)}</span>' if ci else ""
    return f'<td data-v="{esc(v)}">{esc(fmt(value, metric))}{ci_html}</td>'


def _colours(board: Mapping[str, Any]) -> dict[str, str]:
    """The board's model colours: the same ones its charts (and the demo's PNGs) use."""
    return model_colours(e["model"]["name"] for e in board["entries"])


def _model_td(entry: Mapping[str, Any], colours: Mapping[str, str]) -> str:
    m = entry["model"]
    rev = f'<span class="rev">@{esc(m["revision"][:12])}</span>' if m.get("revision") else ""
    colour = colours.get(m["name"], "#cccccc")  # a #rrggbb from the palette, never from the data
    # the swatch is drawn by CSS (td.model::before), so the cell's first child stays the name
    return (
        f'<td class="text model" style="--swatch:{colour}" data-v="{esc(m["name"])}">'
        f"{esc(m['name'])}{rev}</td>"
    )


def _th(label: str, kind: str, first: str | None = None, title: str | None = None) -> str:
    attrs = f' data-kind="{kind}" aria-sort="none"'
    if first:
        attrs += f' data-first="{first}"'
    if title:
        attrs += f' title="{esc(title)}"'
    cls = ' class="text"' if kind == "text" else ""
    return f'<th scope="col"{cls}{attrs}>{esc(label)}</th>'


def _table(
    board_id: str, kind: str, heads: Sequence[str], rows: Sequence[str], caption: str
) -> str:
    return (
        f'<div class="scroll"><table class="sortable" id="{esc(board_id)}-{kind}" data-table="{kind}">'
        f'<caption class="meta">{esc(caption)}</caption>'
        f"<thead><tr>{''.join(heads)}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def overall_table(board: Mapping[str, Any], board_id: str) -> str:
    """Headline metrics, one row per model, ranked by avg_acc with CI-overlap ties."""
    entries = board["entries"]
    extras = [c for c in EXTRA_COLUMNS if any(e["headline"].get(c) is not None for e in entries)]
    cols = list(HEADLINE_COLUMNS) + extras
    heads = [_th("Rank", "num", "ascending", DEFAULT_DEFINITIONS["rank"]), _th("Model", "text")]
    heads += [_th("Params", "num"), _th("Open", "text")]
    heads += [
        _th(LABELS.get(c, c), "num", None if higher_is_better(c) else "ascending", c) for c in cols
    ]
    rows = []
    colours = _colours(board)
    for r in rank_board(board, "avg_acc"):
        e = r.entry
        m = e["model"]
        params = m.get("parameters")
        ow = {True: "yes", False: "no", None: "?"}[m.get("open_weights")]
        cells = [
            f'<td data-v="{"" if r.rank is None else r.rank}">{esc("" if r.rank is None else r.rank)}</td>',
            _model_td(e, colours),
            f'<td data-v="{"" if params is None else params}">{esc(_human(params))}</td>',
            f'<td class="text" data-v="{esc(ow)}">{esc(ow)}</td>',
        ]
        for c in cols:
            ci = e["headline_ci"].get(c) or {}
            cells.append(_num_td(e["headline"].get(c), c, ci.get("ci_low"), ci.get("ci_high")))
        rows.append(f'<tr data-model="{esc(m["name"])}">{"".join(cells)}</tr>')
    return _table(board_id, "overall", heads, rows, "Headline metrics (%); click a column to sort.")


def cell_table(
    board: Mapping[str, Any], board_id: str, block: str, keys: Sequence[str], caption: str
) -> str:
    """Accuracy with its 95% CI per tag (``by_tag``) or per condition (``by_condition``)."""
    heads = [_th("Model", "text")] + [_th(k, "num") for k in keys]
    rows = []
    colours = _colours(board)
    for r in rank_board(board, "avg_acc"):
        e = r.entry
        table = e[block] or {}
        cells = [_model_td(e, colours)]
        for k in keys:
            c = table.get(k) or {}
            cells.append(_num_td(c.get("acc"), "", c.get("ci_low"), c.get("ci_high")))
        rows.append(f'<tr data-model="{esc(e["model"]["name"])}">{"".join(cells)}</tr>')
    return _table(board_id, block, heads, rows, caption)


def _human(n: int | None) -> str:
    if n is None:
        return "?"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.1f}{suffix}"
    return str(n)


def _provenance(board: Mapping[str, Any]) -> str:
    rows = []
    for e in board["entries"]:
        m, p = e["model"], e["provenance"]
        media = json.dumps(p.get("media_spec"), sort_keys=True)
        rows.append(
            "<tr>"
            + "".join(
                f'<td class="text">{esc(v)}</td>'
                for v in (
                    m["name"],
                    m.get("model_id"),
                    m.get("adapter"),
                    m.get("dtype"),
                    m.get("date"),
                    p.get("toolkit_version"),
                    (p.get("git_hash") or "")[:12],
                    (p.get("prompt_hash") or "")[:16],
                    p["results_sha256"][:16],
                )
            )
            + f'<td class="text"><code>{esc(media)}</code></td></tr>'
        )
    heads = "".join(
        f'<th class="text">{h}</th>'
        for h in (
            "Model",
            "Model id",
            "Adapter",
            "Dtype",
            "Evaluated",
            "Toolkit",
            "Git",
            "Prompt hash",
            "Results sha256",
            "Media spec",
        )
    )
    return f"<details><summary>Provenance of each entry</summary><table><thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"


def board_section(board: Mapping[str, Any], board_id: str, charts: Mapping[str, str]) -> str:
    """One board: meta line, the three sortable tables, its charts and provenance."""
    ds = board["dataset"]
    where = ds.get("repo_id") or "local dataset"
    meta = (
        f'<p class="meta">Dataset <code>{esc(where)}</code>'
        + (f" @ <code>{esc(ds['revision'])}</code>" if ds.get("revision") else "")
        + (f" · config <code>{esc(ds['config'])}</code>" if ds.get("config") else "")
        + (f" · split <code>{esc(ds['split'])}</code>" if ds.get("split") else "")
        + f" · task hash <code>{esc(board['task_hash'][:16])}</code>"
        + f" · metrics v{esc(board.get('metrics_version') or '?')}"
        + f" · {len(board['entries'])} entries · updated {esc(board['updated'])}</p>"
    )
    parts = [f'<section id="{esc(board_id)}" data-task="{esc(board["task"])}">']
    parts.append(f"<h2>{esc(board.get('title') or board['task'])}</h2>{meta}")
    parts.append("<h3>Overall</h3>" + overall_table(board, board_id))
    label = score_label(dict(board))
    parts.append(f"<h3>{label} by required modality tag</h3>")
    parts.append(
        cell_table(
            board, board_id, "by_tag", TAGS, f"{label} (%) by tag with 95% CI clustered by video."
        )
    )
    if any(e["by_condition"] for e in board["entries"]):
        parts.append(f"<h3>{label} by condition (QA+)</h3>")
        parts.append(
            cell_table(
                board,
                board_id,
                "by_condition",
                CONDITIONS,
                f"{label} (%) by presentation condition with 95% CI.",
            )
        )
    if charts:
        imgs = "".join(
            f'<figure><img src="{esc(src)}" alt="{esc(kind)} chart of {esc(board["task"])}"></figure>'
            for kind, src in charts.items()
        )
        parts.append(f'<h3>Charts</h3><div class="charts">{imgs}</div>')
    parts.append(_provenance(board))
    parts.append("</section>")
    return "".join(parts)


def definitions_section(boards: Sequence[Mapping[str, Any]]) -> str:
    """Metric definitions: the boards' own (from their results files) over the defaults."""
    defs = dict(DEFAULT_DEFINITIONS)
    for b in boards:
        defs.update(b.get("definitions") or {})
    items = "".join(
        f'<dt id="def-{esc(k)}">{esc(k)}</dt><dd>{esc(v)}</dd>' for k, v in sorted(defs.items())
    )
    return f'<section id="definitions"><h2>Metric definitions</h2><dl class="defs">{items}</dl></section>'


def csp() -> str:
    """Content-Security-Policy: no external resources, and only the page's own sorting script
    (allowed by its hash) may run, so even an unescaped event handler could not execute."""
    digest = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"


def page(
    boards: Sequence[Mapping[str, Any]],
    board_ids: Sequence[str],
    charts: Sequence[Mapping[str, str]],
    *,
    title: str = "maple-bench leaderboard",
    json_links: Sequence[str] = (),
) -> str:
    """The whole HTML document for one or more boards."""
    nav = " · ".join(
        f'<a href="#{esc(i)}">{esc(b.get("title") or b["task"])}</a>'
        for b, i in zip(boards, board_ids)
    )
    links = " · ".join(f'<a href="{esc(href)}">{esc(href)}</a>' for href in json_links)
    body = "".join(board_section(b, i, c) for b, i, c in zip(boards, board_ids, charts))
    data = {"schema_version": SCHEMA_VERSION, "boards": list(boards)}
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp())}">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1>"
        '<p class="meta">Modality-aware accuracy of omni-modal models on MAPLE tasks: every number is '
        "machine-checked against the leaderboard schema (v"
        f"{esc(SCHEMA_VERSION)}). Boards: {nav}"
        + (f" · JSON: {links}" if links else "")
        + "</p></header>"
        f"<main>{body}{definitions_section(boards)}</main>"
        "<footer>Rendered by <code>maple-bench leaderboard render</code>. Works offline; no external resources.</footer>"
        f'<script type="application/json" id="maple-leaderboard-data">{script_json(data)}</script>'
        f"<script>{_JS}</script></body></html>\n"
    )
