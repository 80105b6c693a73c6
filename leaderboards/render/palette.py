"""One colour per model, everywhere: the leaderboard's SVG charts and the demo's PNGs.

A model's colour is a function of its name alone (a hash into a colour-blind-safe palette), so
"compact-mapo" is the same colour on every chart that shows it, whatever else is plotted.
Two chance baselines get grey, a reference solver/oracle gets black: readers look for those.
When two names in one chart hash to the same colour, the later one (sorted by name) takes the
next free colour, so a chart never shows two models in one colour.

Also the shared style (:func:`paper_style`): fonts that stay readable when a figure is pasted
at half a page's width, and :func:`chance_line` for accuracy charts.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#882255",  # wine
    "#44AA99",  # teal
    "#999933",  # olive
    "#332288",  # indigo
)
"""Okabe-Ito colours plus four of Paul Tol's muted ones: distinguishable with colour blindness."""

BASELINE_COLOUR = "#9E9E9E"
"""Chance baselines (names containing ``random`` or ``chance``)."""
REFERENCE_COLOUR = "#222222"
"""Reference solvers / oracles (names containing ``solver`` or ``oracle``)."""
CHANCE_COLOUR = "#555555"
"""The dashed chance line (bar charts) and ring (radar charts)."""

FONT_SIZES = {"base": 14, "title": 14, "tick": 13, "legend": 13}
"""Points at the figure's native size. Charts are drawn at most 7.5 in wide (two-panel figures
9 in), so pasted at half a 6.5 in text width (x0.43) text is still about 6 pt, and at half a
slide's width (x0.67) about 9 pt."""

FIG_WIDTH = 7.5
"""Width (in) of a single-panel chart; see :data:`FONT_SIZES`."""


def wrap_title(title: str, width: int = 62) -> str:
    """Break a long title into lines, so it never widens the figure past :data:`FIG_WIDTH`."""
    import textwrap

    return "\n".join(
        textwrap.fill(part, width=width, break_on_hyphens=False) for part in title.split("\n")
    )


def _fixed(name: str) -> str | None:
    low = name.lower()
    if "random" in low or "chance" in low:
        return BASELINE_COLOUR
    if "solver" in low or "oracle" in low:
        return REFERENCE_COLOUR
    return None


def model_colour(name: str) -> str:
    """The colour of model ``name`` on its own (no collision handling)."""
    fixed = _fixed(name)
    if fixed:
        return fixed
    digest = hashlib.sha256(name.strip().lower().encode("utf-8")).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def model_colours(names: Iterable[str]) -> dict[str, str]:
    """``{name: colour}`` for the models of one chart, distinct where the palette allows."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(set(names), key=lambda n: n.strip().lower()):
        colour = model_colour(name)
        if colour in PALETTE and colour in used and len(used & set(PALETTE)) < len(PALETTE):
            start = PALETTE.index(colour)
            colour = next(
                PALETTE[(start + k) % len(PALETTE)]
                for k in range(1, len(PALETTE))
                if PALETTE[(start + k) % len(PALETTE)] not in used
            )
        out[name] = colour
        used.add(colour)
    return out


def paper_style() -> Any:
    """matplotlib rcParams (a dict) for charts meant to be pasted into papers and slides.

    Typed ``Any``: matplotlib types rcParams keys as a Literal of every known key."""
    return {
        "font.size": FONT_SIZES["base"],
        "axes.titlesize": FONT_SIZES["title"],
        "axes.labelsize": FONT_SIZES["base"],
        "xtick.labelsize": FONT_SIZES["tick"],
        "ytick.labelsize": FONT_SIZES["tick"],
        "legend.fontsize": FONT_SIZES["legend"],
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def chance_line(ax: Any, level_pct: float | None) -> None:
    """A dashed horizontal line at chance accuracy (in %), labelled for the legend.

    The label goes to the legend rather than onto the axes, where it would collide with bars.
    """
    if level_pct is None or math.isnan(level_pct):
        return
    ax.axhline(
        level_pct,
        color=CHANCE_COLOUR,
        linestyle="--",
        linewidth=1.2,
        zorder=0.5,
        label=f"chance ({level_pct:.1f}%)",
    )
