"""`annotate propose` on MAPLE-Synth, through the real runner and the reference solver:
it recovers every constructed tag, notices a solver that ignores a stream, and catches a planted
question that gives its own answer away."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotation.cli import add_parser  # noqa: F401  (the subcommand under test)
from annotation.propose import FLAG_BLIND, FLAG_FAILS_FULL, read_proposals
from maple_bench.cli import main
from maple_bench.modality import parse_tag

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synth_with_plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from maple_bench.synth import SynthConfig, generate

    raw = generate(
        tmp_path_factory.mktemp("ann") / "syn",
        SynthConfig(per_tag=2, seed=11, clip_seconds=1.0, fps=4.0),
    )
    rows = [json.loads(x) for x in (raw / "qa.jsonl").read_text().splitlines()]
    s_row = next(r for r in rows if r["rmt"] == "S" and r["answer"].startswith("name "))
    name = s_row["answer"].split(" ", 1)[1]
    plant = {
        **s_row,
        "id": "planted-blind",
        "question": f"{name} is the one greeting everybody here. Which name is mentioned?",
    }
    with (raw / "qa.jsonl").open("a") as f:
        f.write(json.dumps(plant, sort_keys=True) + "\n")
    return raw


def _propose(raw: Path, out: Path, *extra: str) -> dict:
    code = main(
        ["annotate", "propose", "--data", str(raw), "--model", "solver", "--out", str(out), *extra]
    )
    assert code == 0
    return {p.item_id: p for p in read_proposals(out)}


def test_reference_solver_recovers_every_tag_and_catches_the_plant(
    synth_with_plant: Path, tmp_path: Path
) -> None:
    props = _propose(synth_with_plant, tmp_path / "p.csv")
    assert len(props) == 15  # 2 per tag + the plant
    plant = props.pop("planted-blind")
    for qid, p in props.items():
        assert p.proposed is not None and parse_tag(p.proposed) == parse_tag(p.labelled), qid
        assert p.flags == () and p.confidence == 1.0, (qid, p.flags)
        assert p.evidence["none"] == 0.0
    # Right with no media at all: no stream is required, so no RMT is proposed.
    assert plant.flags == (FLAG_BLIND,) and plant.proposed is None
    assert plant.evidence["none"] == 1.0


def test_a_solver_that_ignores_audio_is_noticed(synth_with_plant: Path, tmp_path: Path) -> None:
    props = _propose(synth_with_plant, tmp_path / "p.csv", "--model-args", "ignore=A")
    assert props.pop("planted-blind").flags == (FLAG_BLIND,)
    for qid, p in props.items():
        needs_audio = parse_tag(p.labelled).has_audio
        if needs_audio:
            # Without A the item is never answerable: even VAS fails, so it is flagged.
            assert p.proposed is None and FLAG_FAILS_FULL in p.flags, qid
        else:
            assert (
                parse_tag(p.proposed) == parse_tag(p.labelled) and FLAG_FAILS_FULL not in p.flags
            ), qid
