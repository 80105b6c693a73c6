"""Ranking with ties decided by CI overlap."""

from __future__ import annotations

from pathlib import Path

import pytest

from leaderboards.publish import publish
from leaderboards.rank import rank_board
from leaderboards.schema import LeaderboardError, load_board
from tests.test_leaderboard_helpers import make_results, write_results

TAGS = ("V", "A", "S", "VA", "VS", "AS", "VAS")


def _board(tmp_path: Path, specs: dict[str, dict]) -> dict:
    paths = [
        write_results(tmp_path / f"{name}.json", make_results(name, **kw))
        for name, kw in specs.items()
    ]
    publish(paths, tmp_path / "board.json")
    return load_board(tmp_path / "board.json")


def test_overlapping_cis_share_a_rank(tmp_path: Path) -> None:
    # avg_acc CIs: A [.80, .90], B [.78, .88] overlap -> both rank 1; C [.50, .60] lies below
    # both -> 1 + 2 clearly better = rank 3.
    board = _board(
        tmp_path,
        {
            "A": {"accs": dict.fromkeys(TAGS, 0.85), "avg_ci": (0.80, 0.90)},
            "B": {"accs": dict.fromkeys(TAGS, 0.83), "avg_ci": (0.78, 0.88)},
            "C": {"accs": dict.fromkeys(TAGS, 0.55), "avg_ci": (0.50, 0.60)},
        },
    )
    ranked = rank_board(board, "avg_acc")
    assert [(r.name, r.rank) for r in ranked] == [("A", 1), ("B", 1), ("C", 3)]


def test_non_overlapping_cis_break_the_tie(tmp_path: Path) -> None:
    board = _board(
        tmp_path,
        {
            "A": {"accs": dict.fromkeys(TAGS, 0.85), "avg_ci": (0.84, 0.86)},
            "B": {"accs": dict.fromkeys(TAGS, 0.83), "avg_ci": (0.82, 0.835)},
        },
    )
    assert [(r.name, r.rank) for r in rank_board(board)] == [("A", 1), ("B", 2)]


def test_rank_by_tag_uses_the_tag_ci(tmp_path: Path) -> None:
    # VA: A .60 +-.05 = [.55, .65]; B .70 +-.05 = [.65, .75]: touching bounds overlap -> tie;
    # C .90 [.85, .95] is clearly above both.
    accs = {"A": 0.60, "B": 0.70, "C": 0.90}
    board = _board(
        tmp_path, {n: {"accs": {**dict.fromkeys(TAGS, 0.5), "VA": a}} for n, a in accs.items()}
    )
    ranked = rank_board(board, "tag:VA")
    assert [(r.name, r.rank) for r in ranked] == [("C", 1), ("B", 2), ("A", 2)]
    assert rank_board(board, "VA")[0].name == "C"


def test_lower_is_better_metric_and_point_ties(tmp_path: Path) -> None:
    # uni_multi_gap has no CI here: only strictly smaller values rank higher; equal values tie.
    board = _board(
        tmp_path,
        {
            "flat": {"accs": dict.fromkeys(TAGS, 0.5)},  # gap 0
            "flat2": {"accs": dict.fromkeys(TAGS, 0.25)},  # gap 0 (exact in binary)
            "skewed": {
                "accs": {"V": 0.9, "A": 0.9, "S": 0.9, "VA": 0.3, "VS": 0.3, "AS": 0.3, "VAS": 0.3}
            },
        },
    )
    ranked = rank_board(board, "uni_multi_gap")
    assert [(r.name, r.rank) for r in ranked] == [("flat", 1), ("flat2", 1), ("skewed", 3)]


def test_missing_values_are_unranked_and_unknown_metric_is_refused(tmp_path: Path) -> None:
    board = _board(tmp_path, {"A": {}, "B": {"qa_plus": True}})
    ranked = rank_board(board, "condition:deficit")
    assert [(r.name, r.rank) for r in ranked] == [("B", 1), ("A", None)]
    with pytest.raises(LeaderboardError, match="unknown metric 'acc_everything'"):
        rank_board(board, "acc_everything")


def test_cli_rank_prints_shared_ranks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from maple_bench.cli import main

    _board(
        tmp_path,
        {
            "A": {"accs": dict.fromkeys(TAGS, 0.85), "avg_ci": (0.80, 0.90)},
            "B": {"accs": dict.fromkeys(TAGS, 0.83), "avg_ci": (0.78, 0.88)},
        },
    )
    assert main(["leaderboard", "rank", str(tmp_path / "board.json"), "--metric", "avg_acc"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["1", "A", "85.0"] and lines[2].split()[:2] == ["1", "B"]
    assert "[80.0, 90.0]" in lines[1]
