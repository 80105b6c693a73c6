"""Results JSON: builder, schema validation with field-pointing messages, atomic I/O, CLI."""

from __future__ import annotations

import copy
import json

import pytest

from evaluators.cli_metrics import main as cli_main
from evaluators.results import (
    ResultsValidationError,
    build_results,
    load_results,
    score_log,
    validate_results,
    write_results,
)
from tests.test_metrics import qa_log, qa_plus_log

PROVENANCE = {
    "dataset": {"repo_id": "local/synth", "revision": None, "config": "maple_qa", "split": "test",
                "ids_hash": "abc123"},
    "media": {"frames": 8, "policy": "drop"},
    "model": {"id": "tiny", "revision": None, "dtype": "float32", "adapter": None},
    "prompt_hash": "0123456789abcdef",
    "chat_template_hash": None,
    "seeds": {"eval": 0},
    "versions": {"maple_bench": "0.1.0", "transformers": "5.0"},
    "git_hash": "deadbeef",
}  # fmt: skip


def build(rows=None, **kw):
    return build_results(
        rows if rows is not None else qa_log(),
        task="maple_qa",
        task_config={"version": 1, "dataset": "local/synth"},
        provenance=PROVENANCE,
        config={"model": "hf", "model_args": "pretrained=tiny", "batch_size": 1, "device": "cpu"},
        timing={"total_seconds": 12.5},
        n_bootstrap=200,
        **kw,
    )


def test_build_results_skeleton_and_maple_block():
    res = build()
    assert validate_results(res) == []
    # lm-eval skeleton
    for key in ("results", "configs", "versions", "n-samples", "config", "git_hash", "date"):
        assert key in res
    assert res["results"]["maple_qa"]["acc,none"] == pytest.approx(9 / 16)
    assert res["results"]["maple_qa"]["avg_acc,none"] == pytest.approx(4 / 7)
    assert res["n-samples"]["maple_qa"] == {"original": 16, "effective": 16}
    assert res["versions"]["maple_qa"] == 1
    assert res["git_hash"] == "deadbeef"
    assert res["total_evaluation_time_seconds"] == "12.5"  # lm-eval types it as a string
    m = res["maple"]
    assert m["metrics_version"] and "avg_acc" in m["definitions"]
    assert m["by_tag"]["VS"] == {"acc": 0.0, "n": 1, "n_videos": 1, "ci_low": 0.0, "ci_high": 0.0}
    assert m["by_tag"]["A"]["acc"] == 1.0
    assert m["by_condition"] == {}  # not QA+
    assert m["headline"]["abstention_rate"] is None  # null, never a fake 0
    assert m["provenance"]["dataset"]["ids_hash"] == "abc123"
    assert m["timing"]["scoring_seconds"] >= 0
    json.dumps(res, allow_nan=False)  # strict JSON


def test_qa_plus_results_have_condition_table():
    res = build(qa_plus_log())
    assert validate_results(res) == []
    bc = res["maple"]["by_condition"]
    assert bc["exact"]["acc"] == 0.5 and bc["superset"]["acc"] == 0.75
    assert bc["deficit"]["n"] == 8
    assert res["maple"]["qa_plus"] is True
    assert res["maple"]["by_tag"]["S"]["acc"] is None and res["maple"]["by_tag"]["S"]["n"] == 0


def test_missing_provenance_is_filled_with_nulls():
    res = build_results(qa_log(), task="t", n_bootstrap=10)
    assert validate_results(res) == []
    assert res["maple"]["provenance"]["model"] == {
        "id": None, "revision": None, "dtype": None, "adapter": None
    }  # fmt: skip


def test_broken_files_point_at_the_field(tmp_path):
    res = build()
    bad = copy.deepcopy(res)
    bad["maple"]["by_tag"]["V"]["acc"] = "0.5"  # a string where a number belongs
    errs = validate_results(bad)
    assert any(e.startswith("$.maple.by_tag.V.acc:") and "not of type" in e for e in errs), errs
    bad = copy.deepcopy(res)
    del bad["maple"]["headline"]["avg_acc"]
    assert any(e.startswith("$.maple.headline:") and "avg_acc" in e for e in validate_results(bad))
    bad = copy.deepcopy(res)
    bad["maple"]["headline"]["micro_acc"] = float("nan")
    assert any(e.startswith("$.maple.headline.micro_acc:") for e in validate_results(bad))
    bad = copy.deepcopy(res)
    bad["maple"]["headline"]["invalid_rate"] = 1.5
    assert any(e.startswith("$.maple.headline.invalid_rate:") for e in validate_results(bad))
    bad = copy.deepcopy(res)
    bad["n-samples"]["maple_qa"]["effective"] = 3.5
    assert any(e.startswith("$['n-samples'].maple_qa.effective:") or
               e.startswith("$.n-samples.maple_qa.effective:") for e in validate_results(bad))  # fmt: skip
    # writing refuses, names the field, and leaves no file behind
    bad = copy.deepcopy(res)
    bad["maple"]["by_tag"]["V"]["acc"] = "0.5"
    out = tmp_path / "r.json"
    with pytest.raises(ResultsValidationError, match=r"\$\.maple\.by_tag\.V\.acc"):
        write_results(out, bad)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_write_then_load_roundtrip(tmp_path):
    res = build()
    p = write_results(tmp_path / "sub" / "results.json", res)
    assert load_results(p) == res
    assert [x.name for x in p.parent.iterdir()] == ["results.json"]  # no temp file left
    p.write_text(json.dumps({**res, "date": "yesterday"}))
    with pytest.raises(ResultsValidationError, match=r"\$\.date"):
        load_results(p)


def write_run(dirpath, rows, task="maple_qa_plus"):
    dirpath.mkdir(parents=True, exist_ok=True)
    log = dirpath / f"samples_{task}.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    meta = {"task": task, "task_config": {"version": 2}, "provenance": PROVENANCE,
            "config": {"model": "hf", "model_args": "", "batch_size": 1, "device": "cpu"},
            "timing": {"total_seconds": 3.0}}  # fmt: skip
    (dirpath / "run_meta.json").write_text(json.dumps(meta))
    return log


def test_score_log_recomputes_from_the_log_and_sidecar(tmp_path):
    log = write_run(tmp_path / "run", qa_plus_log())
    res = score_log(log, n_bootstrap=100)
    assert res["maple"]["task"] == "maple_qa_plus"
    assert res["versions"]["maple_qa_plus"] == 2
    assert res["maple"]["provenance"]["git_hash"] == "deadbeef"
    assert res["maple"]["sample_log"] == log.name
    assert res["maple"]["headline"]["superset_robustness"] == pytest.approx(1.5)
    # same seed -> same numbers (except timing and date)
    again = score_log(log, n_bootstrap=100)
    assert again["maple"]["by_tag"] == res["maple"]["by_tag"]
    assert again["maple"]["headline_ci"] == res["maple"]["headline_ci"]


def test_cli_score_validate_compare(tmp_path, capsys):
    log = write_run(tmp_path / "a", qa_plus_log())
    out = tmp_path / "a" / "results.json"
    assert cli_main(["score", str(log), "--out", str(out), "--n-bootstrap", "50",
                     "--plots", str(tmp_path / "plots")]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "RMT" in text and "condition" in text and "95% CI" in text
    assert (tmp_path / "plots" / "maple_qa_plus_by_condition.png").exists()
    assert cli_main(["validate", str(out)]) == 0
    broken = json.loads(out.read_text())
    broken["maple"]["by_condition"]["exact"]["n"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken))
    capsys.readouterr()
    assert cli_main(["validate", str(out), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "$.maple.by_condition.exact.n" in err and str(bad) in err
    # compare: B fixes the hallucination on Q1 S (answers None): results file vs run directory
    rows_b = qa_plus_log()
    for r in rows_b:
        if r["doc_id"] == "q1@S":
            r.update(parsed_index=3, correct=True)
    write_run(tmp_path / "b", rows_b)
    assert cli_main(["compare", str(out), str(tmp_path / "b"), "--metric", "micro_acc",
                     "--json", "--n-bootstrap", "50", "--n-permutations", "50"]) == 0  # fmt: skip
    cmp = json.loads(capsys.readouterr().out)
    # micro: 8/14 -> 9/14, difference 1/14
    assert cmp["difference"] == pytest.approx(1 / 14)
    assert cmp["p_value_method"].startswith("sign-flip")
    assert cli_main(["compare", str(log), str(tmp_path / "b"), "--metric", "micro_acc"]) == 0
    assert "B-A" in capsys.readouterr().out


def test_cli_errors_are_messages_not_tracebacks(tmp_path, capsys):
    a = write_run(tmp_path / "a", qa_plus_log())
    b = write_run(tmp_path / "b", qa_plus_log()[:-1])
    assert cli_main(["compare", str(a), str(b)]) == 2
    assert "not evaluated on the same items" in capsys.readouterr().err
    assert cli_main(["score", str(tmp_path / "missing.jsonl")]) == 2
    assert "sample log not found" in capsys.readouterr().err
    assert cli_main(["validate", str(tmp_path / "missing.json")]) == 1
