"""Building dataset folders: round trip through `datasets`, cards, atomicity, bad input, Hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from maple_bench.data import (
    ColumnMapError,
    DataError,
    build_dataset,
    load_samples,
    push_to_hub,
)
from maple_bench.data import sources as sources_mod
from maple_bench.data.sources import read_card_yaml
from maple_bench.modality import TAG_NAMES, Condition
from maple_bench.schema import NONE_OPTION, SchemaError, sample_from_row

COLOURS = ["red", "blue", "green", "yellow"]


def qa_row(i: int, **over: Any) -> dict[str, Any]:
    row = {
        "id": f"q{i}",
        "video_id": f"vid{i % 5}",
        "question": f"What colour is object {i}?",
        "options": COLOURS,
        "answer": COLOURS[i % 4] if i % 2 else ["A", "B", "C", "D"][i % 4],
        "rmt": TAG_NAMES[i % 7],
        "metadata": {"annotator": "hand"},
    }
    row.update(over)
    return row


def write_raw(
    folder: Path, rows: list[dict[str, Any]], *, captions: int = 0, media: bool = True
) -> Path:
    """A raw annotation folder: qa.jsonl, captions.jsonl and placeholder media files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if captions:
        caps = [
            {"video_id": f"vid{v}", "rmt": t, "caption": [f"vid{v} as {t}", "a scene"]}
            for v in range(captions)
            for t in TAG_NAMES
        ]
        (folder / "captions.jsonl").write_text("".join(json.dumps(c) + "\n" for c in caps))
    if media:
        (folder / "media").mkdir(exist_ok=True)
        for v in range(5):
            (folder / "media" / f"vid{v}.mp4").write_bytes(b"placeholder: existence is checked")
        (folder / "media" / "vid1.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    return folder


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    return write_raw(tmp_path / "raw", [qa_row(i) for i in range(21)], captions=3)


def test_qa_plus_round_trips_through_datasets_load_dataset(raw: Path, tmp_path: Path) -> None:
    import datasets

    out = tmp_path / "ds"
    result = build_dataset("qa-plus", raw, out, seed=7)
    assert result.config == "maple_qa_plus"
    assert (out / "data/maple_qa_plus/test-00000-of-00001.parquet").is_file()
    ds = datasets.load_dataset(str(out), "maple_qa_plus", split="test")
    assert ds.num_rows == 21 * 7
    from_hf = [sample_from_row(r) for r in ds]
    ours = load_samples(out, "maple_qa_plus", "test")
    assert from_hf == ours.samples
    assert ours.provenance["n"] == 147 and len(ours.provenance["ids_hash"]) == 64
    assert ours.media_root is not None and (ours.media_root / "vid0.mp4").is_file()
    # the default subtitle file named after the video was attached
    assert {s.media.subtitle for s in ours if s.video_id == "vid1"} == {"vid1.srt"}
    assert {s.media.subtitle for s in ours if s.video_id == "vid2"} == {None}
    deficit = ours.filter(conditions=["deficit"])
    assert len(deficit) and all(s.answer == NONE_OPTION for s in deficit)
    va = ours.filter(tags=["VA"], conditions=["exact"])
    assert {s.rmt.name for s in va} == {"VA"} and va.provenance["filters"]["tags"] == ["VA"]


def test_second_config_is_added_and_card_regenerated(raw: Path, tmp_path: Path) -> None:
    import datasets

    out = tmp_path / "ds"
    build_dataset("qa", raw, out)
    build_dataset("caption", raw, out)
    build_dataset("bench", raw, out)
    card = read_card_yaml(out / "README.md")
    assert [c["config_name"] for c in card["configs"]] == [
        "maple_bench",
        "maple_qa",
        "maple_caption",
    ]
    info = {c["config_name"]: c for c in card["dataset_info"]}
    assert info["maple_caption"]["splits"][0]["num_examples"] == 21
    assert [f["name"] for f in info["maple_qa"]["features"]][:3] == [
        "id",
        "question_id",
        "video_id",
    ]
    caps = datasets.load_dataset(str(out), "maple_caption", split="test")
    assert caps.num_rows == 21
    per_video: dict[str, int] = {}
    for r in caps:
        per_video[r["video_id"]] = per_video.get(r["video_id"], 0) + 1
    assert per_video == {"vid0": 7, "vid1": 7, "vid2": 7}
    bench = load_samples(out, "maple_bench")
    assert all(s.metadata["annotator"] == "hand" for s in bench)
    build = json.loads((out / "build_info.json").read_text())
    assert set(build["configs"]) == {"maple_qa", "maple_caption", "maple_bench"}
    assert build["media_root"] == "media" and (out / "media").is_symlink()


def test_card_content(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset("qa-plus", raw, out, seed=3, none_fraction=0.3)
    text = (out / "README.md").read_text()
    for needle in (
        "arXiv:2602.11596",
        "eprint        = {2602.11596}",
        "seed 3",
        "none fraction 0.3",
        "Definitions",
        "superset",
        "deficit",
        "replaced",
        "| **all** | 147 |",
        "license: unknown",
        "maple-bench 0.1.0",
        str(raw.resolve()),
    ):
        assert needle in text, needle
    build = json.loads((out / "build_info.json").read_text())
    counts = build["configs"]["maple_qa_plus"]["counts"]["test"]
    assert counts["by_condition"]["exact"] == 21 and sum(counts["by_tag"].values()) == 147
    assert counts["by_none_reason"]["deficit"] == counts["by_condition"]["deficit"]


def test_same_seed_same_files_different_seed_different(raw: Path, tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    build_dataset("qa-plus", raw, a, seed=1)
    build_dataset("qa-plus", raw, b, seed=1)
    build_dataset("qa-plus", raw, c, seed=2)
    shard = "data/maple_qa_plus/test-00000-of-00001.parquet"
    assert (a / shard).read_bytes() == (b / shard).read_bytes()
    assert (a / "README.md").read_text() == (b / "README.md").read_text()
    assert not pq.read_table(a / shard).equals(pq.read_table(c / shard))


def test_train_test_split_by_video(tmp_path: Path) -> None:
    rows = [qa_row(i, video_id=f"vid{i % 20}") for i in range(80)]
    raw = write_raw(tmp_path / "raw", rows, media=False)
    out = tmp_path / "ds"
    result = build_dataset("qa-plus", raw, out, seed=0, test_fraction=0.5)
    assert set(result.counts) == {"test", "train"}
    train = load_samples(out, "maple_qa_plus", "train")
    test = load_samples(out, "maple_qa_plus", "test")
    assert not {s.video_id for s in train} & {s.video_id for s in test}
    assert len(train) + len(test) == 560


# -- bad input: a clear message naming the row/column, and no output folder ------------------------


def _no_output_left(tmp_path: Path, out: Path) -> None:
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}")]
    assert leftovers == []


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ({"rmt": "VX"}, ["q4", "'rmt'", "VX"]),
        ({"answer": "purple"}, ["q4", "'answer'", "purple"]),
        ({"id": "q3"}, ["q3", "duplicate id"]),
        ({"video": "missing/vid9.mp4"}, ["q4", "'video'", "missing/vid9.mp4", "not found"]),
        ({"video": "../outside.mp4"}, ["q4", "'video'", "leaves the media root"]),
    ],
    ids=["unknown-tag", "answer-not-in-options", "duplicate-id", "missing-media", "escaping-media"],
)
def test_bad_input_fails_cleanly(
    tmp_path: Path, change: dict[str, Any], needles: list[str]
) -> None:
    rows = [qa_row(i) for i in range(8)]
    rows[4] = qa_row(4, **change)
    raw = write_raw(tmp_path / "raw", rows)
    out = tmp_path / "ds"
    with pytest.raises(SchemaError) as e:
        build_dataset("qa-plus", raw, out)
    msg = str(e.value)
    for needle in needles:
        assert needle in msg, (needle, msg)
    assert "qa.jsonl" in msg
    _no_output_left(tmp_path, out)


def test_conflicting_column_map_fails_before_any_work(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with pytest.raises(ColumnMapError) as e:
        build_dataset("qa", raw, out, column_map="question=question,rmt=question")
    assert "column 'question'" in str(e.value)
    _no_output_left(tmp_path, out)
    with pytest.raises(ColumnMapError, match="no column 'gold'.*Columns found: id, video_id"):
        build_dataset("qa", raw, out, column_map="answer=gold")
    _no_output_left(tmp_path, out)


def test_failed_rebuild_leaves_existing_folder_untouched(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset("qa", raw, out)
    before = {
        p.relative_to(out): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and not p.is_symlink()
    }
    bad = write_raw(tmp_path / "bad", [qa_row(0, answer="purple")])
    with pytest.raises(SchemaError):
        build_dataset("qa-plus", bad, out)
    after = {
        p.relative_to(out): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and not p.is_symlink()
    }
    assert before == after
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds")] == []


def test_refuses_to_overwrite_a_foreign_folder(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a maple-bench dataset folder"):
        build_dataset("qa", raw, out)
    assert (out / "notes.txt").read_text() == "keep me"


# -- foreign shapes: a guessed public split, the Hub path -----------------------------------------


def guessed_public_rows(n: int) -> list[dict[str, Any]]:
    """Rows shaped like a guess at MAPLE_QA_exact: other column names, letter answers."""
    return [
        {
            "qid": f"mq{i}",
            "vid": f"clip{i % 4}",
            "query": f"What happens in clip {i % 4} ({i})?",
            "choices": ["A. a dog barks", "B. a car passes", "C. rain falls", "D. a bell rings"],
            "label": "ABCD"[i % 4],
            "required_modality": [
                "video",
                "audio",
                "subtitle",
                "video+audio",
                "video, subtitle",
                "AS",
                "vas",
            ][i % 7],
            "transcript": f"line {i}",
            "source": "VAST",
        }
        for i in range(n)
    ]


def test_parquet_shaped_like_the_public_split_loads_through_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "maple_qa_exact.parquet"
    pq.write_table(pa.Table.from_pylist(guessed_public_rows(14)), path)
    data = load_samples(path, split="test")
    assert len(data) == 14
    s = data[4]
    assert (s.id, s.video_id, s.rmt.name, s.answer) == ("mq4", "clip0", "VS", "a dog barks")
    assert s.options == ("a dog barks", "a car passes", "rain falls", "a bell rings")
    assert s.subtitle_text == "line 4" and s.media.video == "clip0.mp4"
    out = tmp_path / "ds"
    build_dataset("qa-plus", path, out)
    assert load_samples(out, "maple_qa_plus").provenance["n"] == 98


def write_hub_like_folder(folder: Path) -> Path:
    """A local folder laid out like lihVerma/MAPLE-bench (guessed column names)."""
    exact = guessed_public_rows(7)
    combos = []
    for r in exact:
        for j, pres in enumerate(["V", "A", "S", "VA", "VS", "AS", "VAS"]):
            combos.append(
                {
                    **r,
                    "presentation": pres,
                    "choices": r["choices"] + ["E. None of the above"],
                    "label": "E" if j in (1, 2, 5) and r["qid"] == "mq0" else r["label"],
                }
            )
    caps = [
        {"video_id": f"clip{v}", "modality": t, "caption": f"clip {v} via {t}"}
        for v in range(2)
        for t in TAG_NAMES
    ]
    card = {"license": "cc-by-nc-nd-4.0", "configs": []}
    for name, rows in (
        ("MAPLE_QA_exact", exact),
        ("MAPLE_QA_all_combinations", combos),
        ("MAPLE_caption", caps),
    ):
        path = folder / name / "test-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), path)
        card["configs"].append(
            {"config_name": name, "data_files": [{"split": "test", "path": f"{name}/*.parquet"}]}
        )
    (folder / "README.md").write_text(
        "---\n" + yaml.safe_dump(card) + "---\n# MAPLE-bench (local copy)\n"
    )
    return folder


@pytest.fixture()
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Serve lihVerma/MAPLE-bench from a local folder: only the network calls are replaced."""
    folder = write_hub_like_folder(tmp_path / "hub_copy")
    monkeypatch.setattr(sources_mod, "_hub_path", lambda repo_id: str(folder))
    monkeypatch.setattr(sources_mod, "_fetch_sha", lambda repo_id, revision: "ab" * 20)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    return "lihVerma/MAPLE-bench"


def test_hub_source_pins_revision_and_maps_columns(fake_hub: str, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset("qa-plus", fake_hub, out, revision="main", seed=0)
    info = json.loads((out / "build_info.json").read_text())["configs"]["maple_qa_plus"]
    assert info["source"]["repo_id"] == "lihVerma/MAPLE-bench"
    assert (
        info["source"]["revision"] == "ab" * 20 and info["source"]["requested_revision"] == "main"
    )
    assert info["source"]["license"] == "cc-by-nc-nd-4.0"
    card = (out / "README.md").read_text()
    assert "license: cc-by-nc-nd-4.0" in card and "ab" * 20 in card and "do not publish" in card
    assert load_samples(out, "maple_qa_plus").provenance["n"] == 49
    with pytest.raises(DataError, match="forbids redistributing"):
        push_to_hub(out, "me/copy", dry_run=True, out=tmp_path / "plan")


def test_hub_all_combinations_load_as_presentations(fake_hub: str) -> None:
    data = load_samples(fake_hub, "MAPLE_QA_all_combinations", "test", revision="main")
    assert data.provenance["revision"] == "ab" * 20 and data.provenance["repo_id"] == fake_hub
    assert len(data) == 49
    mq0 = {s.shown.name: s for s in data if s.question_id == "mq0"}
    assert mq0["A"].answer == NONE_OPTION and mq0["A"].none_reason == "deficit"  # rmt V
    assert mq0["S"].none_reason == "deficit" and mq0["V"].none_reason is None
    assert mq0["AS"].condition is Condition.DEFICIT
    caps = load_samples(fake_hub, "MAPLE_caption", "test")
    assert len(caps) == 14 and caps[0].task == "caption"


def test_push_to_hub_dry_run_writes_the_exact_tree(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset("qa", raw, out)
    build_dataset("qa-plus", raw, out)
    plan = tmp_path / "plan"
    ops = push_to_hub(out, "me/maple-copy", dry_run=True, out=plan)
    expected = [
        "README.md",
        "build_info.json",
        "data/maple_qa/test-00000-of-00001.parquet",
        "data/maple_qa_plus/test-00000-of-00001.parquet",
    ]
    assert [op.path_in_repo for op in ops] == expected
    tree = sorted(
        p.relative_to(plan / "tree").as_posix() for p in (plan / "tree").rglob("*") if p.is_file()
    )
    assert tree == expected  # the media link is never uploaded
    manifest = json.loads((plan / "operations.json").read_text())
    assert manifest["repo_id"] == "me/maple-copy" and manifest["repo_type"] == "dataset"
    for entry in manifest["operations"]:
        assert (plan / "tree" / entry["path_in_repo"]).read_bytes() == (
            out / entry["path_in_repo"]
        ).read_bytes()
        import hashlib

        assert (
            entry["sha256"]
            == hashlib.sha256((out / entry["path_in_repo"]).read_bytes()).hexdigest()
        )


def test_error_inside_the_writer_leaves_the_live_folder_intact(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset("qa", raw, out)
    readme = (out / "README.md").read_bytes()
    other = write_raw(tmp_path / "other", [qa_row(i) for i in range(7)])
    with pytest.raises(DataError, match="already links to"):
        build_dataset("qa-plus", other, out)  # a second media root cannot share OUT/media
    assert (out / "README.md").read_bytes() == readme
    assert not (out / "data" / "maple_qa_plus").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds")] == []


def test_media_root_inside_the_folder_is_recorded_relative(tmp_path: Path) -> None:
    raw = write_raw(tmp_path / "raw", [qa_row(i) for i in range(7)], media=False)
    out = tmp_path / "ds"
    build_dataset("qa", raw, out)
    assert json.loads((out / "build_info.json").read_text())["media_root"] is None
    (out / "media").mkdir()
    for v in range(5):
        (out / "media" / f"vid{v}.mp4").write_bytes(b"placeholder")
    build_dataset("qa-plus", raw, out, media_root=out / "media")
    assert json.loads((out / "build_info.json").read_text())["media_root"] == "media"
    assert not (out / "media").is_symlink() and (out / "media" / "vid3.mp4").is_file()
    assert load_samples(out, "maple_qa_plus").media_root == out / "media"


def test_local_copy_of_the_hub_repo_is_a_folder_source(tmp_path: Path) -> None:
    folder = write_hub_like_folder(tmp_path / "copy")
    exact = load_samples(folder)  # default: the exact QA config
    assert exact.provenance["config"] == "MAPLE_QA_exact" and len(exact) == 7
    assert exact.provenance["license"] == "cc-by-nc-nd-4.0"
    combos = load_samples(folder, "maple_qa_all_combinations", conditions=["superset"])
    assert {s.condition for s in combos} == {Condition.SUPERSET} and len(combos) == 12
    with pytest.raises(DataError, match="no config 'nope'; configs are MAPLE_QA_exact"):
        load_samples(folder, "nope")
    with pytest.raises(DataError, match="no split 'train'"):
        load_samples(folder, "MAPLE_caption", "train")
