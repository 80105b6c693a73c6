"""One colour per model on every chart and the page; the chance line comes from the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.results import build_results
from leaderboards.entries import EntryOptions
from leaderboards.publish import publish
from leaderboards.render import render_site
from leaderboards.render.palette import (
    BASELINE_COLOUR,
    PALETTE,
    REFERENCE_COLOUR,
    model_colour,
    model_colours,
)
from leaderboards.schema import load_board
from tests.test_leaderboard_helpers import make_results, write_results
from tests.test_metrics import row


def test_colour_is_a_function_of_the_name_alone() -> None:
    assert model_colour("compact-mapo") == model_colour("compact-mapo") in PALETTE
    assert model_colour("random baseline") == model_colour("random") == BASELINE_COLOUR
    assert model_colour("reference solver (synth oracle)") == REFERENCE_COLOUR
    # the same model keeps its colour whatever else is on the chart (when no collision)
    two = model_colours(["compact-mapo", "random"])
    four = model_colours(["solver", "compact-mupo", "compact-mapo", "random"])
    assert two["compact-mapo"] == four["compact-mapo"] == model_colour("compact-mapo")


def test_one_chart_never_shows_two_models_in_one_colour() -> None:
    names = [f"model-{i}" for i in range(len(PALETTE))]
    colours = model_colours(names)
    assert len(set(colours.values())) == len(PALETTE)


def test_results_record_chance_from_the_options() -> None:
    # tests.test_metrics.row gives 3 options; two items get 4 (a None option added):
    # chance = mean(1/3, 1/3, 1/4, 1/4) = 7/24
    rows = [row(f"q{i}", f"v{i}", t, i % 2) for i, t in enumerate(["V", "A", "S", "VA"])]
    for r in rows[2:]:
        r["options"] = [*r["options"], "None of the above"]
    res = build_results(rows, task="synth_qa", n_bootstrap=10)
    assert res["maple"]["chance_acc"] == pytest.approx(7 / 24)


def test_page_and_svg_charts_use_the_palette_and_draw_chance(tmp_path: Path) -> None:
    board = tmp_path / "board.json"
    for i, name in enumerate(["compact-mapo", "random"]):
        doc = make_results(f"org/m{i}")
        doc["maple"]["chance_acc"] = 0.125
        publish(
            [write_results(tmp_path / f"r{i}.json", doc)],
            board,
            options=EntryOptions(model_name=name),
        )
    b = load_board(board)
    assert b["chance_acc"] == 0.125
    render_site([b], tmp_path / "site")
    colour = model_colour("compact-mapo")
    page = (tmp_path / "site" / "index.html").read_text()
    assert f'class="text model" style="--swatch:{colour}"' in page
    svg = (tmp_path / "site" / "charts" / "maple_qa_tags.svg").read_text().lower()
    assert f"fill: {colour.lower()}" in svg and f"fill: {BASELINE_COLOUR.lower()}" in svg
    assert "stroke-dasharray" in svg  # the dashed chance line
    radar = (tmp_path / "site" / "charts" / "maple_qa_radar.svg").read_text().lower()
    assert f"stroke: {colour.lower()}" in radar
    json.loads(board.read_text())  # still strict JSON
    del b["chance_acc"]  # a board from before chance was recorded: no line
    render_site([b], tmp_path / "site2")
    assert "stroke-dasharray" not in (tmp_path / "site2/charts/maple_qa_tags.svg").read_text()


def test_demo_plots_use_the_model_colours(tmp_path: Path) -> None:
    import matplotlib.image as mpimg
    import numpy as np

    from evaluators.demo.plots import plot_per_tag

    tags = ("V", "A", "S", "VA", "VS", "AS", "VAS")
    cell = {"acc": 0.9, "ci_low": 0.85, "ci_high": 0.95, "n": 10, "n_videos": 10}
    docs = {
        "compact-mapo": {
            "maple": {"by_tag": dict.fromkeys(tags, cell), "n_items": 70, "n_videos": 10}
        }
    }
    png = plot_per_tag(docs, tmp_path / "p.png", task="maple_qa")
    pixels = (mpimg.imread(png)[..., :3] * 255).round().astype(int).reshape(-1, 3)
    want = np.array([int(model_colour("compact-mapo")[i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(pixels - want).sum(axis=1) <= 3).sum() > 1000  # the bars are that colour
