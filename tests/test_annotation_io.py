"""Human verification round trips (Label Studio, CSV), audit checks on planted bad items, and
feeding verified labels back into a raw source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotation.audit import (
    audit,
    check_label_disagreement,
    check_leakage,
    check_near_duplicates,
    check_option_length_bias,
    check_tag_balance,
)
from annotation.csvio import export_csv, import_csv
from annotation.feedback import PROVENANCE_FILE, apply_labels
from annotation.labels import Label
from annotation.labelstudio import export_tasks, import_export, labeling_config
from annotation.propose import Proposal
from maple_bench.modality import ALL_TAGS
from maple_bench.schema import MediaRef, Sample, SchemaError

OPTS = ("red circle", "blue square", "green triangle", "white star")


def item(qid: str, rmt: str = "VA", **kw: object) -> Sample:
    base: dict[str, object] = dict(
        id=qid,
        video_id=f"vid_{qid}",
        question=f"Which shape appears while the tone plays in clip {qid}?",
        rmt=rmt,
        options=OPTS,
        answer="blue square",
        media=MediaRef(video=f"vid_{qid}.mp4", subtitle=f"vid_{qid}.srt"),
    )
    base.update(kw)
    return Sample(**base)  # type: ignore[arg-type]


def proposal(qid: str) -> Proposal:
    return Proposal(
        item_id=qid,
        video_id=f"vid_{qid}",
        labelled="VA",
        proposed="VA",
        confidence=0.875,
        flags=("label_mismatch",),
        evidence={"V": 0.0, "VA": 1.0, "none": None},
        draws=4,
    )


def test_label_studio_round_trip_keeps_every_field(tmp_path: Path) -> None:
    samples = [item("q1"), item("q2", rmt="S", subtitle_text="the word is apple")]
    out = export_tasks(
        samples,
        [proposal("q1")],
        out=tmp_path / "tasks.json",
        media_url_prefix="/data/local-files/?d=media",
    )
    tasks = json.loads(out.read_text())
    assert tasks[0]["data"]["video"] == "/data/local-files/?d=media/vid_q1.mp4"
    assert tasks[0]["predictions"][0]["result"][0]["value"]["choices"] == ["V", "A"]
    assert "predictions" not in tasks[1]
    assert '<Choices name="rmt" toName="question"' in labeling_config()
    assert out.with_suffix(".labeling_config.xml").read_text() == labeling_config()
    # What Label Studio's JSON export looks like after two people labelled the first task.
    exported = []
    for i, t in enumerate(tasks):
        anns = [
            {
                "id": 10 + i,
                "completed_by": {"id": 3, "email": "ann@lab.org"},
                "was_cancelled": False,
                "created_at": "2026-11-20T10:00:00Z",
                "updated_at": "2026-11-20T10:01:00Z",
                "lead_time": 42.5,
                "result": [
                    {
                        "from_name": "rmt",
                        "to_name": "question",
                        "type": "choices",
                        "value": {"choices": ["A", "V"] if i == 0 else ["S"]},
                    }
                ],
            },
            {
                "id": 20 + i,
                "completed_by": 7,
                "was_cancelled": i == 1,
                "created_at": "2026-11-21T09:00:00Z",
                "result": [
                    {
                        "from_name": "rmt",
                        "to_name": "question",
                        "type": "choices",
                        "value": {"choices": ["V"]},
                    }
                ],
            },
        ]
        exported.append(
            {
                "id": 100 + i,
                "data": t["data"],
                "annotations": anns,
                "predictions": t.get("predictions", []),
            }
        )
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported))
    data, labels = import_export(path)
    assert data == [t["data"] for t in tasks]  # every task field survives
    assert [(lb.item_id, lb.annotator, lb.rmt, lb.source) for lb in labels] == [
        ("q1", "ann@lab.org", "VA", "labelstudio"),
        ("q1", "7", "V", "labelstudio"),
        ("q2", "ann@lab.org", "S", "labelstudio"),
    ]  # the cancelled annotation is dropped
    assert labels[0].created_at == "2026-11-20T10:01:00Z" and labels[0].lead_time == 42.5


def test_label_studio_bad_choice_names_the_item(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(
        json.dumps(
            [
                {
                    "data": {"item_id": "q9"},
                    "annotations": [
                        {
                            "completed_by": 1,
                            "result": [{"from_name": "rmt", "value": {"choices": ["smell"]}}],
                        }
                    ],
                }
            ]
        )
    )
    with pytest.raises(SchemaError, match=r"export.json.*q9.*rmt"):
        import_export(path)


def test_csv_round_trip(tmp_path: Path) -> None:
    samples = [item("q1"), item("q2", rmt="S")]
    sheet = export_csv(samples, [proposal("q1")], out=tmp_path / "sheet.csv")
    import pandas as pd

    df = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    assert list(df["item_id"]) == ["q1", "q2"] and df.loc[0, "proposed_rmt"] == "VA"
    assert json.loads(df.loc[0, "options"]) == list(OPTS)
    df.loc[0, ["annotator", "rmt"]] = ["maria", "video+audio"]
    df.to_csv(sheet, index=False)
    labels = import_csv(sheet)
    assert [(lb.item_id, lb.annotator, lb.rmt) for lb in labels] == [("q1", "maria", "VA")]
    df.loc[1, "rmt"] = "S"
    df.to_csv(sheet, index=False)
    with pytest.raises(SchemaError, match=r"q2.*annotator"):
        import_csv(sheet)
    assert len(import_csv(sheet, default_annotator="bob")) == 2


def balanced(n_per_tag: int = 3) -> list[Sample]:
    out = []
    for t in ALL_TAGS:
        for i in range(n_per_tag):
            k = len(out)
            # rotate the answer position and keep option lengths equal: no length bias
            opts = ("cat one", "dog two", "emu six", "fox ten")
            out.append(
                item(
                    f"{t.name}{i}",
                    rmt=t.name,
                    options=opts,
                    answer=opts[k % 4],
                    question=f"Question number {k} about topic {k * 7919 % 1000}?",
                )
            )
    return out


def test_audit_is_quiet_on_a_clean_set() -> None:
    assert audit(balanced()) == []


def test_audit_catches_each_planted_problem() -> None:
    base = balanced()
    # 1. leakage: the answer is spelled out in the subtitles of a V-only item
    leak = item("leak", rmt="V", subtitle_text="Look, a blue square!")
    # 2. near-duplicate: same question on the same video, one word changed
    dup_a = item("dupA", question="What colour is the shape that moves to the left?")
    dup_b = item(
        "dupB", question="What colour is the shape that moves to the right?", video_id="vid_dupA"
    )
    findings = audit([*base, leak, dup_a, dup_b], proposals={"V0": "AS"})
    checks = {(f.check, f.item_id) for f in findings}
    assert ("leakage", "leak") in checks
    assert ("near_duplicate", "dupB") in checks
    # 5. proposed vs labelled disagree
    assert ("label_disagreement", "V0") in checks
    assert check_leakage([item("ok", rmt="S", subtitle_text="a blue square")]) == []


def test_exact_duplicates_are_per_video() -> None:
    a = item("x1")
    b = item("x2", question=a.question)  # same text and options, other video: a templated item
    assert check_near_duplicates([a, b]) == []
    c = item("x3", question=a.question, video_id=a.video_id)  # the same item twice
    (finding,) = check_near_duplicates([a, b, c])
    assert finding.item_id == "x3" and finding.details["similarity"] == 1.0


def test_option_length_bias_is_caught() -> None:
    items = []
    for i in range(40):
        opts = ("red", "blue", "green", f"a very long and detailed correct answer {i}")
        items.append(item(f"b{i}", options=opts, answer=opts[3]))
    (finding,) = check_option_length_bias(items)
    assert finding.check == "option_length_bias"
    # 40 items, each with a unique longest option: expected 40 * 1/4 = 10, observed 40;
    # var = 40 * 1/4 * 3/4 = 7.5 -> z = 30 / 2.739 = 10.95
    assert finding.details["expected"] == 10.0 and finding.details["z"] == pytest.approx(
        10.954, abs=1e-3
    )


def test_tag_balance_per_split() -> None:
    items = balanced(3) + [item(f"extra{i}", rmt="VAS") for i in range(20)]
    findings = check_tag_balance(items)
    assert any(f.details["tag"] == "VAS" for f in findings)
    assert check_label_disagreement(balanced(1), {"V0": "V"}) == []


def test_feedback_writes_verified_tags_and_provenance(tmp_path: Path) -> None:
    src = tmp_path / "raw"
    (src / "media").mkdir(parents=True)
    rows = [
        {
            "id": "q1",
            "video_id": "v1",
            "question": "Q1?",
            "options": ["x", "y"],
            "answer": "x",
            "rmt": "V",
        },
        {
            "id": "q2",
            "video_id": "v2",
            "question": "Q2?",
            "options": ["x", "y"],
            "answer": "y",
            "rmt": "A",
        },
    ]
    (src / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    labels = [
        Label("q1", "ann1", "VA", "2026-11-20T10:00:00+00:00"),
        Label("q1", "ann2", "VA", "2026-11-20T11:00:00+00:00"),
        Label("q2", "ann1", "A", "2026-11-20T10:00:00+00:00"),
        Label("q2", "ann2", "A", "2026-11-20T11:00:00+00:00"),
    ]
    prov = apply_labels(src, labels, tmp_path / "verified")
    out = [json.loads(x) for x in (tmp_path / "verified" / "qa.jsonl").read_text().splitlines()]
    assert out[0]["rmt"] == "VA" and out[0]["metadata"]["rmt_before_verification"] == "V"
    assert out[1]["rmt"] == "A"
    assert prov["n_changed"] == 1 and prov["annotators"] == ["ann1", "ann2"]
    assert prov["agreement"]["cohen_kappa"] == pytest.approx(1.0)
    assert json.loads((tmp_path / "verified" / PROVENANCE_FILE).read_text())["changes"] == [
        {"id": "q1", "from": "V", "to": "VA"}
    ]
    assert (tmp_path / "verified" / "media").is_symlink()
    with pytest.raises(SchemaError, match="not in the source"):
        apply_labels(src, [Label("nope", "a", "V", "t")], tmp_path / "v2")
    assert not (tmp_path / "v2").exists()


@pytest.mark.slow
def test_verified_labels_flow_into_the_builders_and_card(tmp_path: Path) -> None:
    from maple_bench.data import build_dataset, load_samples
    from maple_bench.synth import SynthConfig, generate

    raw = generate(tmp_path / "syn", SynthConfig(per_tag=1, seed=5, clip_seconds=1.0, fps=4.0))
    qids = [json.loads(x)["id"] for x in (raw / "qa.jsonl").read_text().splitlines()]
    target = qids[0]
    labels = [
        Label(target, "ann1", "VAS", "2026-11-20T10:00:00+00:00"),
        Label(target, "ann2", "VAS", "2026-11-20T11:00:00+00:00"),
    ]
    apply_labels(raw, labels, tmp_path / "verified")
    build_dataset("qa", tmp_path / "verified", tmp_path / "ds")
    card = (tmp_path / "ds" / "README.md").read_text()
    assert "verified by 2 annotator(s) (ann1, ann2)" in card and "1 tags changed" in card
    by_id = {s.id: s for s in load_samples(tmp_path / "ds", "maple_qa")}
    assert by_id[target].rmt.name == "VAS"
    assert by_id[target].metadata["rmt_source"] == "verified"
