"""MAPLE-Synth: generation, option-set rules, determinism, and the reference solver end to end.

The solver check runs every question of a 7 x 10 set under all seven presentations through the
real path (raw rows -> Sample -> ``present`` -> decoders -> perception) and asserts the issue's
acceptance rule: 100% on exact and superset presentations, and at least two consistent options
(so the None answer) on every deficit presentation.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from maple_bench.cli import main as cli_main
from maple_bench.media.cache import MediaCache
from maple_bench.modality import ALL_TAGS, PRESENTATIONS, Condition, condition, parse_tag
from maple_bench.present import MediaConfig, present
from maple_bench.schema import NONE_OPTION, MediaRef, Sample, option_letter
from maple_bench.synth import OptionGrammarError, SynthConfig, format_option, generate, parse_option
from maple_bench.synth.attributes import KINDS
from maple_bench.synth.questions import check_plan, consistent, plan_question
from maple_bench.synth.render import sample_attributes
from maple_bench.synth.solver import ReferenceSolver

SMALL = SynthConfig(per_tag=10, seed=7, clip_seconds=2.0, width=64, height=64, fps=8.0)


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "set", SMALL)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _question_sample(row: dict[str, Any]) -> Sample:
    """A raw QA row as an exact-presentation Sample (what the builders do for MAPLE-QA)."""
    return Sample(
        id=row["id"],
        video_id=row["video_id"],
        question=row["question"],
        rmt=parse_tag(row["rmt"]),
        options=tuple(row["options"]),
        answer=row["answer"],
        media=MediaRef(video=row["video"], subtitle=row["subtitle"]),
        split=row["split"],
        metadata=row["metadata"],
    )


def _qa_plus(q: Sample) -> list[Sample]:
    """QA+-style rows: the None option appended; deficit rows answer None."""
    rows = []
    for p in PRESENTATIONS:
        deficit = condition(q.rmt, p) is Condition.DEFICIT
        rows.append(
            q.present_as(
                p,
                id=f"{q.id}__{p.name}",
                question_id=q.id,
                options=(*q.options, NONE_OPTION),
                answer=NONE_OPTION if deficit else q.answer,
                none_reason="deficit" if deficit else None,
            )
        )
    return rows


# -- option grammar and option-set rules (pure) -------------------------------------------------


def test_option_grammar_round_trips_every_value() -> None:
    for name, kind in KINDS.items():
        if not kind.asked:
            continue
        for value in kind.values:
            assert parse_option(format_option({name: value})) == {name: value}
    combo = {"colour": "red", "pitch": "very high", "name": "Alice"}
    assert format_option(combo) == "red shapes, very high tone, name Alice"
    assert parse_option("red shapes, very high tone, name Alice") == combo
    assert parse_option("1 moving object, 1 beep") == {"count": 1, "beeps": 1}
    for bad in ("pink shapes", "name Zed", "red shapes, blue shapes", NONE_OPTION):
        with pytest.raises(OptionGrammarError):
            parse_option(bad)


@pytest.mark.parametrize("num_options", [4, 5, 6, 7, 8, 9, 12, 13, 16])
def test_option_sets_meet_the_deficit_and_exact_rules(num_options: int) -> None:
    rng = np.random.default_rng(num_options)
    for trial, tag in itertools.product(range(15), ALL_TAGS):
        truth = sample_attributes(rng)
        plan = plan_question(tag, truth, num_options, trial % num_options, rng)
        check_plan(plan, truth)  # raises on any violation
        assert len(plan.options) == num_options and plan.answer_index == trial % num_options
        assert {KINDS[k].stream for k in plan.kinds} == set(tag)
        assert len(set(plan.option_texts)) == num_options
        for pres in PRESENTATIONS:
            known = {k: truth[k] for k in plan.kinds if KINDS[k].stream in pres}
            hits = consistent(plan.kinds, plan.options, known)
            if tag <= pres:
                assert hits == [plan.answer_index]
            else:
                assert len(hits) >= 2, (tag, pres, plan)
        if plan.design == "grid":  # every value of every asked kind appears equally often
            for i in range(len(plan.kinds)):
                counts = Counter(o[i] for o in plan.options)
                assert len(set(counts.values())) == 1, plan


def test_vas_with_four_options_uses_the_star_design_and_eight_gives_grids() -> None:
    rng = np.random.default_rng(0)
    truth = sample_attributes(rng)
    vas = parse_tag("VAS")
    assert plan_question(vas, truth, 4, 0, rng).design == "star"
    for tag in ALL_TAGS:
        assert plan_question(tag, truth, 8, 3, rng).design == "grid"
    with pytest.raises(ValueError, match="at least 4"):
        plan_question(vas, truth, 3, 0, rng)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="num_options"):
        SynthConfig(num_options=3)
    with pytest.raises(ValueError, match="even"):
        SynthConfig(width=63)
    with pytest.raises(ValueError, match="width >= 64"):
        SynthConfig(width=48, height=48)
    with pytest.raises(ValueError, match="height >= 48"):
        SynthConfig(width=64, height=32)
    with pytest.raises(ValueError, match="test_fraction"):
        SynthConfig(test_fraction=1.5)


# -- the generated set ---------------------------------------------------------------------------


def test_layout_balance_and_truth(synth_dir: Path) -> None:
    qa = _read_jsonl(synth_dir / "qa.jsonl")
    truth = json.loads((synth_dir / "synth.json").read_text())
    assert truth["config"]["per_tag"] == 10 and len(truth["videos"]) == 10
    assert Counter(r["rmt"] for r in qa) == {t.name: 10 for t in ALL_TAGS}
    assert len({r["id"] for r in qa}) == len(qa) == 70
    assert [r["id"] for r in qa][:2] == ["syn7-00000-V", "syn7-00000-A"]
    for vid in truth["videos"]:
        assert (synth_dir / "media" / f"{vid}.mp4").stat().st_size > 0
        assert (synth_dir / "media" / f"{vid}.srt").read_text().strip()
    # the answer is the option whose values are the video's true attributes
    for r in qa:
        attrs = truth["videos"][r["video_id"]]["attributes"]
        true_opts = [
            o for o in r["options"] if all(attrs[k] == v for k, v in parse_option(o).items())
        ]
        assert true_opts == [r["answer"]]
        assert r["metadata"]["kinds"] == list(parse_option(r["answer"]))
    # answer letters are balanced per tag (each of 4 positions 2 or 3 times out of 10)
    for tag in ALL_TAGS:
        pos = Counter(r["options"].index(r["answer"]) for r in qa if r["rmt"] == tag.name)
        assert set(pos) == {0, 1, 2, 3} and max(pos.values()) - min(pos.values()) <= 1
    assert not list(synth_dir.parent.glob(".set.*"))  # no temp folders left behind


def test_caption_rows_describe_only_the_tagged_streams(synth_dir: Path) -> None:
    caps = _read_jsonl(synth_dir / "captions.jsonl")
    truth = json.loads((synth_dir / "synth.json").read_text())["videos"]
    assert len(caps) == 70
    per_video = Counter(c["video_id"] for c in caps)
    assert set(per_video.values()) == {7}
    for c in caps:
        attrs = truth[c["video_id"]]["attributes"]
        tag = parse_tag(c["rmt"])
        text = c["caption"]
        assert (attrs["colour"] in text) == tag.has_video
        assert (f"{attrs['pitch']} pitch" in text) == tag.has_audio
        assert (attrs["name"] in text) == tag.has_subtitles
    assert len({c["rmt"] for c in caps if c["video_id"] == "syn7-00000"}) == 7


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_output_and_other_seeds_differ(tmp_path: Path) -> None:
    cfg = SynthConfig(per_tag=3, seed=11, clip_seconds=1.5, width=64, height=48)
    a = _digest(generate(tmp_path / "a", cfg))
    b = _digest(generate(tmp_path / "b", cfg, workers=2))
    again = _digest(generate(tmp_path / "again", cfg))  # same process, after other encodes
    # annotations, truth AND media bytes (maple_bench.media.write explains how)
    assert a == b == again
    assert sum(name.endswith(".mp4") for name in a) == 3
    c = _digest(
        generate(
            tmp_path / "c", SynthConfig(per_tag=3, seed=12, clip_seconds=1.5, width=64, height=48)
        )
    )
    assert a["qa.jsonl"] != c["qa.jsonl"] and a["synth.json"] != c["synth.json"]


_SYNTH_ARGS = ["--per-tag", "3", "--seed", "11", "--clip-seconds", "1.5", "--size", "64x48"]


def _synth_process(out: Path, workers: int, hash_seed: str, perturb: str) -> subprocess.Popen:
    """``maple-bench synth`` in a fresh interpreter with its own string-hash seed and its own
    glibc heap fill byte (``MALLOC_PERTURB_``: memory that code reads without initialising then
    holds that byte, so a dependence on uninitialised memory shows up every time, not by luck)."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "MALLOC_PERTURB_": perturb}
    cmd = [sys.executable, "-m", "maple_bench", "synth", "--out", str(out),
           "--workers", str(workers), *_SYNTH_ARGS]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen) -> None:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out.decode(errors="replace")


@pytest.mark.slow
def test_synth_bytes_do_not_depend_on_process_heap_workers_or_load(tmp_path: Path) -> None:
    # two processes one after the other: different hash seeds, heap fill bytes, worker counts
    first = _synth_process(tmp_path / "p1", 1, "1", "85")
    _finish(first)
    second = _synth_process(tmp_path / "p2", 2, "2", "170")
    _finish(second)
    # and two at once while a third process keeps a core busy
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        loaded = [_synth_process(tmp_path / f"l{i}", 1 + i, str(3 + i), "51") for i in (0, 1)]
        for proc in loaded:
            _finish(proc)
    finally:
        hog.kill()
        hog.wait()
    in_process = _digest(
        generate(tmp_path / "here", SynthConfig(per_tag=3, seed=11, clip_seconds=1.5, height=48))
    )
    for name in ("p1", "p2", "l0", "l1"):
        assert _digest(tmp_path / name) == in_process, name


def test_output_folders_and_files_follow_the_umask(tmp_path: Path) -> None:
    cfg = SynthConfig(per_tag=1, seed=5, clip_seconds=1.0, width=64, height=48)
    for umask, dir_mode, file_mode in ((0o022, 0o755, 0o644), (0o027, 0o750, 0o640)):
        old = os.umask(umask)
        try:
            out = generate(tmp_path / f"u{umask:o}", cfg)
        finally:
            os.umask(old)
        modes = {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*")}
        assert stat.S_IMODE(out.stat().st_mode) == dir_mode
        assert modes.pop("media") == dir_mode
        assert len(modes) == 5 and set(modes.values()) == {file_mode}, modes


def test_cli_writes_atomically_and_refuses_to_clobber(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cli"
    args = ["synth", "--out", str(out), "--per-tag", "1", "--seed", "3", "--clip-seconds", "1",
            "--size", "64x48", "--fps", "4", "--num-options", "8", "--test-fraction", "0"]  # fmt: skip
    assert cli_main(args) == 0
    qa = _read_jsonl(out / "qa.jsonl")
    assert len(qa) == 7 and all(len(r["options"]) == 8 for r in qa)
    assert {r["split"] for r in qa} == {"train"}
    assert {r["metadata"]["option_design"] for r in qa} == {"grid"}
    before = _digest(out)
    assert cli_main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert _digest(out) == before
    assert cli_main([*args[:3], "--per-tag", "2", *args[5:], "--overwrite"]) == 0
    assert len(_read_jsonl(out / "qa.jsonl")) == 14
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli"]
    assert cli_main(["synth", "--out", str(tmp_path / "x"), "--num-options", "2"]) == 2


# -- the reference solver, end to end through present() and the real decoders -------------------


@pytest.mark.slow
def test_reference_solver_on_all_presentations(synth_dir: Path) -> None:
    qa = [_question_sample(r) for r in _read_jsonl(synth_dir / "qa.jsonl")]
    assert len(qa) >= 70
    config = MediaConfig(media_root=synth_dir / "media")
    cache = MediaCache()
    solver = ReferenceSolver(config)
    seen = Counter()
    for q in qa:
        for row in _qa_plus(q):
            mi = present(row, config, cache=cache)
            hits = solver.consistent_options(mi)
            letter = solver.answer(mi)
            seen[row.condition] += 1
            if row.condition is Condition.DEFICIT:
                assert len(hits) >= 2, (row.id, hits)
                assert letter == option_letter(row.none_index) == row.answer_letter
            else:
                assert hits == [q.answer_index], (row.id, hits)
                assert letter == row.answer_letter, row.id
        # MAPLE-QA (no None option): exactly one consistent option, and it is the answer
        assert solver.answer(present(q, config, cache=cache)) == q.answer_letter
    # 7 x 10 questions x 7 presentations: 70 exact, 10*(3*3 + 3*1) superset, the rest deficit
    assert seen == {Condition.EXACT: 70, Condition.SUPERSET: 120, Condition.DEFICIT: 300}


@pytest.mark.slow
def test_solver_answers_none_when_the_answer_is_removed_and_under_blank_policy(
    synth_dir: Path,
) -> None:
    rows = _read_jsonl(synth_dir / "qa.jsonl")
    solver = ReferenceSolver()
    drop = MediaConfig(media_root=synth_dir / "media")
    blank = MediaConfig(media_root=synth_dir / "media", policy="blank")
    cache = MediaCache()
    for row in rows[:7]:
        q = _question_sample(row)
        replaced = q.present_as(
            "VAS",
            options=(*[o for o in q.options if o != q.answer], NONE_OPTION),
            answer=NONE_OPTION,
            none_reason="replaced",
        )
        assert solver.consistent_options(present(replaced, drop)) == []
        assert solver.answer(present(replaced, drop)) == replaced.answer_letter
        # blank policy: the black frames / silence of absent streams must not count as evidence
        plus = _qa_plus(q)
        for r in plus:
            mi = present(r, blank, cache=cache)
            assert solver.answer(mi) == r.answer_letter, r.id


def test_solver_caption_matches_reference_from_perception(synth_dir: Path) -> None:
    caps = _read_jsonl(synth_dir / "captions.jsonl")
    config = MediaConfig(media_root=synth_dir / "media")
    solver = ReferenceSolver(config)
    cache = MediaCache()
    for c in caps[:21]:
        s = Sample(
            id=c["id"], video_id=c["video_id"], question="Describe the clip.", rmt=c["rmt"],
            task="caption", captions=(c["caption"],),
            media=MediaRef(video=c["video"], subtitle=c["subtitle"]),
        )  # fmt: skip
        assert solver.caption(present(s, config, cache=cache)) == c["caption"]


# -- the builders: the set loads into MAPLE-QA and MAPLE-QA+ -------------------------------------


@pytest.mark.slow
def test_set_builds_and_loads_as_maple_qa_and_qa_plus(synth_dir: Path, tmp_path: Path) -> None:
    from maple_bench.data import build_dataset, load_samples
    from maple_bench.scoring import score

    raw = {r["id"]: r for r in _read_jsonl(synth_dir / "qa.jsonl")}
    build_dataset("qa", synth_dir, tmp_path / "qa", seed=0)
    qa = load_samples(tmp_path / "qa", "maple_qa", split="test")
    assert len(qa) == 70 and {s.id for s in qa} == set(raw)
    for s in qa:
        assert s.condition is Condition.EXACT and s.answer == raw[s.id]["answer"]
        assert s.options == tuple(raw[s.id]["options"])
    build_dataset("qa-plus", synth_dir, tmp_path / "plus", seed=0)
    plus = load_samples(tmp_path / "plus", "maple_qa_plus", split="test")
    assert len(plus) == 490
    assert Counter(s.rmt.name for s in plus) == {t.name: 70 for t in ALL_TAGS}
    reasons = Counter(s.none_reason for s in plus)
    assert reasons["deficit"] == 300 and reasons["replaced"] > 0
    # the solver, scored by the project's scorer, is right on every loaded row of two videos,
    # including "replaced" rows (the answer was removed, so nothing is consistent -> None)
    config = MediaConfig(media_root=plus.media_root)
    solver, cache = ReferenceSolver(config), MediaCache()
    videos = sorted({s.video_id for s in plus})[:2]
    rows = [s for s in plus if s.video_id in videos]
    assert any(s.none_reason == "replaced" for s in rows)
    for s in rows:
        assert score(s, solver.answer(present(s, config, cache=cache))).correct, s.id
