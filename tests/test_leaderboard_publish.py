"""Board schema round-trip, strictness, and publish: refusals, idempotence, concurrency."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leaderboards.entries import EntryOptions, entry_from_results
from leaderboards.publish import publish
from leaderboards.schema import LeaderboardError, dumps, load_board, validate_board, write_board
from tests.test_leaderboard_helpers import make_results, write_results


def _board(tmp_path: Path, *docs: dict) -> Path:
    board = tmp_path / "board.json"
    paths = [write_results(tmp_path / f"r{i}.json", d) for i, d in enumerate(docs)]
    publish(paths, board)
    return board


def test_schema_round_trip(tmp_path: Path) -> None:
    board_path = _board(tmp_path, make_results("m1"), make_results("m2", qa_plus=True))
    board = load_board(board_path)
    # dumps -> loads -> validate gives back the same object, and the text is stable
    again = json.loads(dumps(board))
    validate_board(again)
    assert again == board
    write_board(tmp_path / "copy.json", again)
    assert (tmp_path / "copy.json").read_text() == board_path.read_text()
    e = {x["model"]["name"]: x for x in board["entries"]}
    assert e["m1"]["by_condition"] is None and e["m2"]["by_condition"]["deficit"]["acc"] == 0.4
    assert e["m1"]["by_tag"]["VA"] == pytest.approx(
        {"acc": 0.55, "n": 20, "n_videos": 10, "ci_low": 0.5, "ci_high": 0.6}
    )
    assert e["m1"]["headline"]["avg_acc"] == pytest.approx(4.1 / 7)
    assert e["m1"]["headline_ci"]["avg_acc"]["ci_low"] == pytest.approx(4.1 / 7 - 0.025)
    assert e["m1"]["provenance"]["toolkit_version"] == "0.1.0"
    assert e["m1"]["provenance"]["media_spec"]["video"]["num_frames"] == 8
    assert e["m1"]["model"]["date"] == "2025-11-25T19:46:40Z"  # lm-eval's Unix time -> ISO
    assert board["task_hash"] == "ids0123456789abcd"  # no explicit task hash: the item-ids hash
    assert board["definitions"]["avg_acc"].startswith("Macro mean")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda b: b["entries"][0]["headline"].__setitem__("avg_acc", "29.54%"),
            "entries[0].headline.avg_acc",
        ),
        (
            lambda b: b["entries"][0]["by_tag"]["V"].__setitem__("acc", "-"),
            "entries[0].by_tag.V.acc",
        ),
        (lambda b: b["entries"][0]["headline"].__setitem__("AvgAcc", 0.5), "entries[0].headline"),
        (
            lambda b: b["entries"][0]["model"].__setitem__("open_weights", "yes"),
            "entries[0].model.open_weights",
        ),
        (
            lambda b: b["entries"][0]["by_tag"]["VA"].__setitem__("acc", 58.6),
            "entries[0].by_tag.VA.acc",
        ),
        (
            lambda b: b["entries"][0]["headline"].__setitem__("error_rate", float("nan")),
            "entries[0].headline.error_rate",
        ),
        (lambda b: b["entries"].append(copy.deepcopy(b["entries"][0])), "entries[1].model"),
        (
            lambda b: b["entries"][0]["provenance"].__setitem__("task_hash", "other"),
            "entries[0].provenance.task_hash",
        ),
    ],
)
def test_board_schema_is_strict(tmp_path: Path, mutate, field: str) -> None:
    board = load_board(_board(tmp_path, make_results("m1")))
    mutate(board)
    with pytest.raises(LeaderboardError) as ei:
        write_board(tmp_path / "bad.json", board)
    assert ei.value.field == field
    assert not (tmp_path / "bad.json").exists()  # validated before anything is written


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["maple"]["by_tag"]["VA"].__setitem__("acc", "29.54%"), "maple.by_tag.VA.acc"),
        (
            lambda d: d["maple"]["headline"].__setitem__("avg_acc", "[TBD]"),
            "maple.headline.avg_acc",
        ),
        (lambda d: d["maple"].pop("by_tag"), "maple"),
        (lambda d: d["maple"]["by_tag"]["S"].pop("n"), "maple.by_tag.S"),
    ],
)
def test_malformed_results_refused_naming_the_field(tmp_path: Path, mutate, field: str) -> None:
    doc = make_results("m1")
    mutate(doc)
    bad = write_results(tmp_path / "bad_results.json", doc)
    board = tmp_path / "board.json"
    with pytest.raises(LeaderboardError) as ei:
        publish([bad], board)
    assert ei.value.field == field
    assert "bad_results.json" in str(ei.value) and field in str(ei.value)
    assert not board.exists()


def test_strict_reader_catches_what_a_loose_schema_lets_through() -> None:
    # entry_from_results type-checks every copied field itself (e.g. a hand-edited file).
    doc = make_results("m1")
    doc["maple"]["headline"]["none_f1"] = "0.5"
    with pytest.raises(LeaderboardError, match=r"maple\.headline\.none_f1.*expected a number"):
        entry_from_results(doc, file="x.json")


def test_cli_reports_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from maple_bench.cli import main

    doc = make_results("m1")
    doc["maple"]["by_tag"]["VA"]["acc"] = "29.54%"
    bad = write_results(tmp_path / "bad.json", doc)
    assert main(["leaderboard", "publish", str(bad), "--board", str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "maple.by_tag.VA.acc" in err


def test_publish_same_results_twice_leaves_one_entry(tmp_path: Path) -> None:
    r = write_results(tmp_path / "r.json", make_results("m1"))
    board = tmp_path / "board.json"
    first = publish([r], board)
    text = board.read_text()
    second = publish([r], board)
    assert first.added == ("m1@r1",) and second.unchanged == ("m1@r1",) and not second.written
    assert board.read_text() == text  # byte-identical: idempotent
    assert len(load_board(board)["entries"]) == 1


def test_republish_replaces_same_model_revision_and_keeps_other_revisions(tmp_path: Path) -> None:
    board = tmp_path / "board.json"
    publish([write_results(tmp_path / "a.json", make_results("m1"))], board)
    newer = make_results("m1", accs={t: 0.9 for t in ("V", "A", "S", "VA", "VS", "AS", "VAS")})
    rep = publish([write_results(tmp_path / "b.json", newer)], board)
    assert rep.replaced == ("m1@r1",)
    entries = load_board(board)["entries"]
    assert len(entries) == 1 and entries[0]["headline"]["avg_acc"] == pytest.approx(0.9)
    publish([write_results(tmp_path / "c.json", make_results("m1", revision="r2"))], board)
    assert [e["model"]["revision"] for e in load_board(board)["entries"]] == ["r1", "r2"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ids_hash": "different-items"}, "task hash"),
        ({"dataset_revision": "dsrev2"}, "dataset revision"),
        ({"task": "maple_qa_plus"}, "task 'maple_qa_plus'"),
    ],
)
def test_publish_refuses_mismatched_task_or_dataset(
    tmp_path: Path, kwargs: dict, match: str
) -> None:
    board = tmp_path / "board.json"
    publish([write_results(tmp_path / "a.json", make_results("m1"))], board)
    before = board.read_text()
    other = write_results(tmp_path / "b.json", make_results("m2", **kwargs))
    with pytest.raises(LeaderboardError, match=match):
        publish([other], board)
    assert board.read_text() == before  # all-or-nothing


def test_publish_is_all_or_nothing_across_files(tmp_path: Path) -> None:
    board = tmp_path / "board.json"
    good = write_results(tmp_path / "a.json", make_results("m1"))
    bad = write_results(tmp_path / "b.json", make_results("m2", ids_hash="other"))
    with pytest.raises(LeaderboardError, match="task hash"):
        publish([good, bad], board)
    assert not board.exists()


def test_model_name_override_and_open_weights(tmp_path: Path) -> None:
    board = tmp_path / "board.json"
    r = write_results(tmp_path / "a.json", make_results("org/m1"))
    publish(
        [r],
        board,
        options=EntryOptions(model_name="My model", open_weights=True, parameters=3_000_000),
    )
    (e,) = load_board(board)["entries"]
    assert e["model"]["name"] == "My model" and e["model"]["model_id"] == "org/m1"
    assert e["model"]["open_weights"] is True and e["model"]["parameters"] == 3_000_000


# Each child is a fresh interpreter that imports only leaderboards.publish, waits for the
# start file (so both begin together), then publishes its results one by one.
_CHILD = """
import sys, time
from pathlib import Path
from leaderboards.publish import publish
board, go, *results = sys.argv[1:]
while not Path(go).exists():
    time.sleep(0.005)
for r in results:
    publish([r], board)
"""


@pytest.mark.slow
def test_two_concurrent_publishes_keep_every_entry(tmp_path: Path) -> None:
    """Two processes each publish 6 models to one board at once; all 12 entries survive.

    Without the lock, both read-modify-write loops interleave and entries are lost (checked by
    hand: with the flock removed this test fails).
    """
    board = tmp_path / "board.json"
    go = tmp_path / "go"
    paths = [
        str(write_results(tmp_path / f"r{i}.json", make_results(f"model-{i:02d}")))
        for i in range(12)
    ]
    procs = [
        subprocess.Popen([sys.executable, "-c", _CHILD, str(board), str(go), *paths[k::2]])
        for k in range(2)
    ]
    time.sleep(0.5)  # let both import
    go.touch()
    for p in procs:
        assert p.wait(60) == 0
    entries = load_board(board)["entries"]
    assert sorted(e["model"]["name"] for e in entries) == [f"model-{i:02d}" for i in range(12)]
    # No lock file and no stray temp file stays behind in the boards folder.
    assert not [p.name for p in tmp_path.iterdir() if p.suffix in (".lock", ".tmp")]


def test_real_results_file_from_the_metrics_builder(tmp_path: Path) -> None:
    """A results file produced by evaluators' own builder from a sample log publishes cleanly."""
    pytest.importorskip("evaluators.results")
    from evaluators.results import build_results
    from evaluators.results import write_results as write_real

    rows = []
    for i, tag in enumerate(("V", "A", "S", "VA", "VS", "AS", "VAS") * 4):
        rows.append(
            {
                "doc_id": f"d{i}", "question_id": f"q{i}", "video_id": f"v{i // 2}", "task": "qa",
                "rmt": tag, "presentation": tag, "condition": "exact", "none_reason": None, "draw": 0,
                "options": ["a", "b"], "target": "a", "target_index": 0, "raw_output": "A",
                "parsed_index": 0 if i % 3 else 1, "parsed_text": "a", "correct": bool(i % 3),
                "invalid": False, "error": None, "error_type": None,
                "delivered": {"frames": 8, "audio_seconds": 1.0, "subtitle_chars": 0},
                "item_hash": f"h{i}", "prompt_hash": "p", "references": [], "judge": None,
            }
        )  # fmt: skip
    prov = {
        "dataset": {
            "repo_id": None,
            "revision": "local",
            "config": "maple_qa",
            "split": "test",
            "ids_hash": "ih",
        },
        "model": {"id": "tiny/model", "revision": None, "dtype": "float32", "adapter": "causal_lm"},
        "versions": {"maple-bench": "0.1.0"},
    }
    res = build_results(rows, task="maple_qa", provenance=prov, n_bootstrap=50)
    path = tmp_path / "results.json"
    write_real(path, res)
    rep = publish([path], tmp_path / "board.json")
    (e,) = load_board(tmp_path / "board.json")["entries"]
    assert rep.added == ("tiny/model",)
    assert e["headline"]["micro_acc"] == pytest.approx(res["maple"]["headline"]["micro_acc"])
    assert e["by_tag"]["V"]["n"] == 4


def test_missing_results_schema_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAPLE_RESULTS_SCHEMA", str(tmp_path / "nowhere.json"))
    r = write_results(tmp_path / "r.json", make_results("m1"))
    with pytest.raises(
        LeaderboardError, match=r"results JSON Schema was not found.*--results-schema"
    ):
        publish([r], tmp_path / "board.json")


def test_nan_literal_in_results_is_refused(tmp_path: Path) -> None:
    r = tmp_path / "r.json"
    r.write_text(
        json.dumps(make_results("m1")).replace('"error_rate": 0.0', '"error_rate": NaN', 1)
    )
    with pytest.raises(LeaderboardError, match="NaN is not valid JSON"):
        publish([r], tmp_path / "board.json")
