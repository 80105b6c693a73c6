"""The RMT proposal rule on hand-made evidence, and the ablation set it is run on."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.propose import (
    FLAG_AMBIGUOUS,
    FLAG_BLIND,
    FLAG_FAILS_FULL,
    FLAG_MISMATCH,
    decide,
    propose_from_rows,
    read_proposals,
    write_proposals,
)
from maple_bench.data.ablation import ablation_samples
from maple_bench.modality import ALL_TAGS, AS, VA, VAS, VS, A, S, V, parse_tag
from maple_bench.schema import NONE_OPTION, Sample


def acc_for(passing: set[str]) -> dict:
    return {t: 1.0 if t.name in passing else 0.0 for t in ALL_TAGS}


def test_clean_evidence_gives_the_minimal_closed_set() -> None:
    # VA needed: VA and VAS pass, every other presentation fails.
    tag, conf, flags = decide(acc_for({"VA", "VAS"}))
    assert tag == VA and conf == 1.0 and flags == ()
    tag, conf, flags = decide(acc_for({"S", "VS", "AS", "VAS"}), blind_acc=0.0)
    assert tag == S and conf == 1.0 and flags == ()


def test_confidence_is_the_worst_margin() -> None:
    acc = acc_for({"VA", "VAS"})
    acc[VA], acc[VAS], acc[V] = 0.75, 0.9, 0.25
    # support = min(acc VA, acc VAS) = 0.75; subsets V 0.25, A 0.0 -> 1 - 0.25 = 0.75
    tag, conf, _ = decide(acc)
    assert tag == VA and conf == pytest.approx(0.75)
    acc[A] = 0.4  # still below the 0.5 threshold, but weaker evidence: 1 - 0.4 = 0.6
    assert decide(acc)[1] == pytest.approx(0.6)


def test_redundant_evidence_is_ambiguous() -> None:
    # V alone and S alone both suffice (and so do all their supersets).
    tag, _, flags = decide(acc_for({"V", "S", "VA", "VS", "AS", "VAS"}))
    assert FLAG_AMBIGUOUS in flags and tag in (V, S)


def test_failing_with_everything_is_flagged() -> None:
    tag, conf, flags = decide(acc_for(set()))
    assert tag is None and conf == 0.0 and FLAG_FAILS_FULL in flags


def test_superset_failure_blocks_a_set() -> None:
    # V passes but VA fails: V is not closed upward; VS/VAS pass -> VS? no: VS's superset VAS
    # passes, so VS is closed; V is not (VA fails). The proposal is VS, flagged not monotone.
    tag, _, flags = decide(acc_for({"V", "VS", "VAS"}))
    assert tag == VS and "not_monotone" in flags


def test_blind_solvable() -> None:
    tag, conf, flags = decide(acc_for({"AS", "VAS"}), blind_acc=1.0)
    assert flags == (FLAG_BLIND,) and tag is None and conf == 0.0


def _item(qid: str, rmt: str) -> Sample:
    return Sample(
        id=qid, video_id=f"v{qid}", question="Q?", rmt=rmt, options=("x", "y", "z"), answer="y"
    )


def test_ablation_samples_cover_every_presentation() -> None:
    abl = ablation_samples([_item("q1", "VA")])
    assert len(abl) == 8 and {s.shown.name for s in abl} == {t.name for t in ALL_TAGS} | {""}
    for s in abl:
        assert s.options[-1] == NONE_OPTION and s.answer == "y" and s.question_id == "q1"
        assert s.metadata["labelled_rmt"] == "VA"


def test_propose_from_rows_and_table_round_trip(tmp_path: Path) -> None:
    rows = []
    truth = {"q1": AS, "q2": V}
    for qid, rmt in truth.items():
        for p in ALL_TAGS:
            for draw in range(2):
                rows.append(
                    {
                        "question_id": qid,
                        "video_id": f"v{qid}",
                        "presentation": p.name,
                        "correct": rmt <= p,
                        "draw": draw,
                        "rmt": "VAS" if qid == "q2" else rmt.name,
                    }
                )
        rows.append({"question_id": qid, "presentation": "none", "correct": False, "draw": 0})
    props = propose_from_rows(rows)
    by = {p.item_id: p for p in props}
    assert parse_tag(by["q1"].proposed) == AS and by["q1"].flags == ()
    assert by["q2"].proposed == "V" and FLAG_MISMATCH in by["q2"].flags  # labelled VAS
    assert (
        by["q1"].draws == 2 and by["q1"].evidence["AS"] == 1.0 and by["q1"].evidence["none"] == 0.0
    )
    path = write_proposals(props, tmp_path / "p.csv")
    assert read_proposals(path) == props


def test_errors_count_as_failures() -> None:
    rows = [
        {"question_id": "q", "presentation": p.name, "correct": True, "error": "corrupt"}
        for p in ALL_TAGS
    ]
    assert propose_from_rows(rows)[0].proposed is None
