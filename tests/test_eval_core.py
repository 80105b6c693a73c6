"""Unit tests of the eval runner's machinery: registry, config, sample log, stream checks, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evaluators.adapters import ADAPTERS, UnsupportedStreamError, check_streams
from evaluators.adapters.base import ModelAdapter
from evaluators.cli import build_parser, config_from_args, main
from evaluators.runner.config import ConfigError, RunConfig, parse_model_args
from evaluators.runner.data import WorkItem, group_by_video, item_seed, shard_of
from evaluators.runner.provenance import diff_fields
from evaluators.runner.registry import Registry, RegistryError
from evaluators.samplelog import (
    LOG_FIELDS,
    LogFormatError,
    SampleLogWriter,
    done_keys,
    make_record,
    merge_logs,
    read_log,
)
from evaluators.tasks import TASKS, get_task
from maple_bench.modality import AS, BLIND, VA, VAS, S, Tag, V
from maple_bench.schema import Sample


def _sample(i: int, video: str = "v0", pres: Tag | None = None) -> Sample:
    return Sample(
        id=f"q{i}", video_id=video, question="What colour?", rmt=V, options=("red", "blue"),
        answer="red", presentation=pres,
    )  # fmt: skip


# -- registry -------------------------------------------------------------------------------------
def test_registry_duplicate_and_did_you_mean() -> None:
    reg: Registry[object] = Registry("widget")
    reg.register("alpha_one", object())
    reg.register("json_dumps", "json:dumps")
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("alpha_one", object())
    with pytest.raises(RegistryError, match="Did you mean 'alpha_one'"):
        reg.get("alpha_onr")
    assert reg.get("json_dumps") is json.dumps  # lazy "module:attr" import


def test_builtin_registries_are_complete_and_helpful() -> None:
    assert set(TASKS.names()) == {
        "maple_qa",
        "maple_qa_plus",
        "maple_caption",
        "synth_qa",
        "synth_qa_plus",
        "maple_ablation",
        "synth_ablation",
    }
    assert {"random", "solver", "qwen2_5_omni", "causal_lm", "chat_mm", "compact"} <= set(
        ADAPTERS.names()
    )
    with pytest.raises(RegistryError, match="Did you mean 'synth_qa_plus'"):
        get_task("synth_qa_pluss")
    spec = get_task("maple_qa_plus")
    assert (spec.hub_config, spec.local_config, spec.kind) == (
        "MAPLE_QA_all_combinations",
        "maple_qa_plus",
        "qa_plus",
    )


# -- config ---------------------------------------------------------------------------------------
def test_config_rejects_unknown_keys_and_flags_override_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Did you mean 'batch_size'"):
        RunConfig.from_mapping({"task": "synth_qa", "model": "random", "batchsize": 3})
    yml = tmp_path / "run.yaml"
    yml.write_text(
        "task: synth_qa\nmodel: random\nbatch_size: 3\nseed: 5\nmodel_args: {seed_offset: 1}\n"
    )
    args = build_parser().parse_args(
        ["run", "--config", str(yml), "--seed", "9", "--model-args", "x=2", "--strict"]
    )
    cfg = config_from_args(args)
    assert (cfg.task, cfg.batch_size, cfg.seed, cfg.strict) == ("synth_qa", 3, 9, True)
    assert cfg.model_args == {"seed_offset": 1, "x": 2}
    assert parse_model_args("pretrained=/a/b,dtype=bfloat16,n=3,t=0.5,f=false") == {
        "pretrained": "/a/b", "dtype": "bfloat16", "n": 3, "t": 0.5, "f": False,
    }  # fmt: skip
    assert RunConfig(task="t", model="causal_lm:/ckpt").adapter_kwargs() == {"pretrained": "/ckpt"}
    with pytest.raises(ConfigError, match="masking"):
        RunConfig(task="t", model="random", masking="zero")


# -- sample log -----------------------------------------------------------------------------------
def test_log_tolerates_torn_last_line_and_trims_it_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "samples_t.jsonl"
    with SampleLogWriter(path, fsync=False) as w:
        w.write(make_record(_sample(0), draw=0, raw_output="A", correct=True, invalid=False))
        w.write(make_record(_sample(1), draw=0, raw_output="B", correct=False, invalid=False))
    with open(path, "a") as f:
        f.write('{"doc_id": "q2", "dra')  # killed mid-write
    assert [r["doc_id"] for r in read_log(path)] == ["q0", "q1"]
    with SampleLogWriter(path, fsync=False) as w:
        w.write(make_record(_sample(2), draw=0, raw_output="A", correct=True, invalid=False))
    recs = read_log(path)
    assert [r["doc_id"] for r in recs] == ["q0", "q1", "q2"]
    assert set(recs[0]) == set(LOG_FIELDS)
    # A bad line in the middle is not a crash artefact: refuse it.
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "{oops", lines[1]]) + "\n")
    with pytest.raises(LogFormatError, match="line 2"):
        read_log(path)


def test_merge_by_id_not_position(tmp_path: Path) -> None:
    main_log = tmp_path / "samples_t.jsonl"
    shards = [tmp_path / "samples_t.rank1-of-2.jsonl", tmp_path / "samples_t.rank0-of-2.jsonl"]
    with SampleLogWriter(main_log, fsync=False) as w:
        w.write(make_record(_sample(1), draw=0, raw_output="A"))
    with SampleLogWriter(shards[0], fsync=False) as w:
        for i in (3, 1):  # q1 duplicates the main log: must not be added twice
            w.write(make_record(_sample(i), draw=0, raw_output="A"))
    with SampleLogWriter(shards[1], fsync=False) as w:
        w.write(make_record(_sample(0), draw=0, raw_output="A"))
        w.write(make_record(_sample(2), draw=1, raw_output="A"))
    added = merge_logs(main_log, shards, order=["q0", "q1", "q2", "q3"])
    assert added == 3
    assert [(r["doc_id"], r["draw"]) for r in read_log(main_log)] == [
        ("q1", 0),
        ("q0", 0),
        ("q2", 1),
        ("q3", 0),
    ]
    assert done_keys([main_log]) == {("q0", 0), ("q1", 0), ("q2", 1), ("q3", 0)}
    assert not any(s.exists() for s in shards)


def test_error_record_counts_as_wrong() -> None:
    rec = make_record(
        _sample(0), draw=0, raw_output=None, error="bad file", error_type="CorruptMediaError"
    )
    assert (rec["correct"], rec["invalid"], rec["error_type"]) == (
        False,
        False,
        "CorruptMediaError",
    )


# -- sharding, seeds, grouping --------------------------------------------------------------------
def test_sharding_and_seeds_are_stable_and_group_by_video() -> None:
    vids = [f"vid{i}" for i in range(200)]
    owners = [shard_of(v, 3) for v in vids]
    assert owners == [shard_of(v, 3) for v in reversed(vids)][::-1]
    assert set(owners) == {0, 1, 2} and min(owners.count(r) for r in range(3)) > 40
    assert item_seed(0, "q1", 0) == item_seed(0, "q1", 0) != item_seed(0, "q1", 1)
    items = [
        WorkItem(_sample(i, video=f"v{i % 2}", pres=p), 0, 0) for i, p in enumerate([V, VA, V, VAS])
    ]
    groups = group_by_video(items)
    assert [[it.sample.id for it in g] for g in groups] == [["q0", "q2"], ["q1", "q3"]]


# -- stream checks --------------------------------------------------------------------------------
class _TextOnly(ModelAdapter):
    name = "text_only_test"
    accepts = S

    def generate(self, requests):  # pragma: no cover - never reached
        raise AssertionError


def test_adapter_refuses_streams_it_cannot_take() -> None:
    with pytest.raises(UnsupportedStreamError, match=r"video\+audio \(VA\)"):
        check_streams(_TextOnly(), [S, VA], policy="drop")
    with pytest.raises(UnsupportedStreamError, match="blank masking"):
        check_streams(_TextOnly(), [S], policy="blank")
    assert check_streams(_TextOnly(), [S], policy="drop") == S
    assert check_streams(ADAPTERS.get("random")(), [V, AS], policy="drop") == VAS
    assert check_streams(_TextOnly(), [], policy="drop") == BLIND


def test_fingerprint_diff_names_fields() -> None:
    old = {"model": {"adapter": "random", "args": {}}, "media": {"video": "n8"}}
    new = {"model": {"adapter": "solver", "args": {}}, "media": {"video": "n4"}}
    assert diff_fields(old, new) == [
        "media.video: 'n8' -> 'n4'",
        "model.adapter: 'random' -> 'solver'",
    ]


# -- CLI ------------------------------------------------------------------------------------------
def test_cli_help_version_ls_and_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    assert "synth_qa_plus" in out and "qwen2_5_omni" in out
    assert (
        main(["run", "--task", "synth_qa", "--model", "randm", "--output", "/nonexistent/x"]) == 2
    )
    assert "Did you mean 'random'" in capsys.readouterr().err
    res = subprocess.run(
        [sys.executable, "-m", "evaluators.cli", "--version"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "maple-eval" in res.stdout
    res = subprocess.run(
        [sys.executable, "-m", "evaluators.cli", "run", "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "--model-args" in res.stdout and "--resume" in res.stdout
