"""`maple-bench build` and `maple-bench inspect` end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from maple_bench.cli import main
from maple_bench.data import load_samples
from tests.test_data_build import qa_row, write_raw


def test_build_and_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = write_raw(tmp_path / "raw", [qa_row(i) for i in range(14)], captions=2)
    out = tmp_path / "ds"
    assert (
        main(
            [
                "build",
                "qa-plus",
                "--source",
                str(raw),
                "--out",
                str(out),
                "--seed",
                "4",
                "--none-fraction",
                "0.5",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "maple_qa_plus / test: 98 rows, 14 questions, 5 videos" in printed
    assert "| **all** | 98 | 14 |" in printed
    assert main(["build", "caption", "--source", str(raw), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out), "--config", "maple_qa_plus"]) == 0
    printed = capsys.readouterr().out
    assert "| tag | rows | exact | superset | deficit | none: deficit | none: replaced |" in printed
    assert "| V | 14 | 2 | 6 | 6 | 6 |" in printed and "valid:" in printed
    info = json.loads((out / "build_info.json").read_text())
    assert info["configs"]["maple_qa_plus"]["none_fraction"] == 0.5
    assert main(["inspect", str(out), "--config", "maple_caption", "--split", "test"]) == 0
    assert "| **all** | 14 | 14 |" in capsys.readouterr().out


def test_inspect_reports_invalid_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = write_raw(tmp_path / "raw", [qa_row(0), qa_row(1, answer="purple")])
    assert main(["inspect", str(raw / "qa.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "q1" in err and "'answer'" in err and "purple" in err


def test_inspect_check_media(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = write_raw(tmp_path / "raw", [qa_row(0), qa_row(1, video="gone.mp4")])
    # Issue 19, item 8: "valid" covers media: a missing file under an existing root is invalid.
    assert main(["inspect", str(raw)]) == 1
    assert "gone.mp4" in capsys.readouterr().err
    assert main(["inspect", str(raw), "--check-media"]) == 1
    assert "gone.mp4" in capsys.readouterr().err


def test_build_with_column_map_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {
            "key": f"k{i}",
            "clip": f"vid{i % 5}",
            "text": f"q {i}?",
            "opts": '["x", "y", "z"]',
            "right": i % 3,
            "needs": "VA",
        }
        for i in range(6)
    ]
    raw = tmp_path / "ann.csv"
    with raw.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "ds"
    assert (
        main(
            [
                "build",
                "qa",
                "--source",
                str(raw),
                "--out",
                str(out),
                "--column-map",
                "question=text,answer=gt",
            ]
        )
        == 2
    )
    assert "no column 'gt'" in capsys.readouterr().err and not out.exists()
    assert (
        main(
            [
                "build",
                "qa",
                "--source",
                str(raw),
                "--out",
                str(out),
                "--column-map",
                "question=text,answer=right,rmt=needs",
            ]
        )
        == 0
    )
    data = load_samples(out, "maple_qa")
    assert [s.answer for s in data] == ["x", "y", "z", "x", "y", "z"]
    assert data[0].id == "k0" and data[0].video_id == "vid0" and data[0].rmt.name == "VA"


@pytest.mark.slow
def test_synthetic_benchmark_builds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The synth developer's raw output (real mp4 + srt) builds into every config."""
    syn = tmp_path / "syn"
    assert main(["synth", "--out", str(syn), "--per-tag", "1", "--seed", "0"]) == 0
    out = tmp_path / "ds"
    for builder in ("bench", "qa", "qa-plus", "caption"):
        assert main(["build", builder, "--source", str(syn), "--out", str(out)]) == 0
    qa_plus = load_samples(out, "maple_qa_plus")
    assert len(qa_plus) == 7 * 7
    assert all((qa_plus.media_root / s.media.video).is_file() for s in qa_plus)
    assert len(load_samples(out, "maple_caption")) == 7
