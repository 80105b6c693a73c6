"""Hand-built results files for the leaderboard tests (the Results JSON contract in CONTRACTS.md,
shaped to pass ``evaluators/results/schema.json``), plus a check that they do pass it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evaluators.metrics.stats import HEADLINE_NAMES
from maple_bench.modality import TAG_NAMES

# The names come from the code that writes real results files, so the fixtures cannot drift
# from them (the leaderboards package itself reads results through their schema only).
TAGS = TAG_NAMES
HEADLINE = HEADLINE_NAMES
DEFAULT_ACCS = {"V": 0.6, "A": 0.5, "S": 0.7, "VA": 0.55, "VS": 0.65, "AS": 0.6, "VAS": 0.5}


def make_results(
    model: str = "org/model-a",
    *,
    revision: str | None = "r1",
    accs: dict[str, float] | None = None,
    half_width: float = 0.05,
    task: str = "maple_qa",
    ids_hash: str = "ids0123456789abcd",
    dataset_revision: str | None = "dsrev1",
    qa_plus: bool = False,
    n_per_tag: int = 20,
    avg_ci: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """A results document whose headline numbers follow from ``accs`` by the metric definitions."""
    accs = dict(DEFAULT_ACCS if accs is None else accs)
    uni = sum(accs[t] for t in TAGS[:3]) / 3
    multi = sum(accs[t] for t in TAGS[3:]) / 4
    avg = sum(accs.values()) / 7
    best_uni = max(accs[t] for t in TAGS[:3])
    headline: dict[str, float | None] = dict.fromkeys(HEADLINE)
    headline.update(
        avg_acc=avg,
        avg_acc_present=avg,
        micro_acc=avg,
        acc_uni=uni,
        acc_multi=multi,
        uni_multi_gap=abs(uni - multi),
        modality_spread=max(accs.values()) - min(accs.values()),
        fusion_gain=multi - best_uni,
        fusion_gain_rel=(multi - best_uni) / best_uni,
        invalid_rate=0.05,
        error_rate=0.0,
    )
    if qa_plus:
        headline.update(
            abstention_rate=0.4, hallucination_rate=0.55, none_f1=0.5, superset_robustness=0.9
        )

    def cell(acc: float) -> dict[str, Any]:
        return {
            "acc": acc,
            "n": n_per_tag,
            "n_videos": n_per_tag // 2,
            "ci_low": max(0.0, acc - half_width),
            "ci_high": min(1.0, acc + half_width),
        }

    headline_ci = {k: {"ci_low": None, "ci_high": None, "stderr": None} for k in HEADLINE}
    lo, hi = avg_ci if avg_ci else (avg - half_width / 2, avg + half_width / 2)
    headline_ci["avg_acc"] = {"ci_low": lo, "ci_high": hi, "stderr": half_width / 4}
    n = 7 * n_per_tag
    return {
        "results": {task: {"name": task, "alias": task, "sample_len": n, "acc,none": avg}},
        "groups": {},
        "configs": {task: {"task": task, "version": "1"}},
        "versions": {task: 1},
        "n-shot": {task: 0},
        "n-samples": {task: {"original": n, "effective": n}},
        "config": {
            "model": "hf",
            "model_args": f"pretrained={model}",
            "batch_size": "1",
            "device": "cpu",
        },
        "git_hash": "abc1234",
        "date": 1764100000.0,
        "model_name": model,
        "total_evaluation_time_seconds": "12.5",
        "maple": {
            "metrics_version": "1.0",
            "task": task,
            "task_kind": "qa",
            "qa_plus": qa_plus,
            "primary_score": "accuracy",
            "definitions": {
                "avg_acc": "Macro mean of the 7 tag accuracies.",
                "fusion_gain": "acc_multi - best uni.",
            },
            "n_items": n,
            "n_rows": n,
            "n_videos": n // 2,
            "draws_per_item": {"min": 1, "max": 1, "mean": 1.0},
            "bootstrap": {
                "n_bootstrap": 200,
                "seed": 0,
                "cluster": "video_id",
                "ci_level": 0.95,
                "method": "percentile",
            },
            "by_tag": {t: cell(accs[t]) for t in TAGS},
            "by_presentation": {t: cell(accs[t]) for t in TAGS},
            "by_condition": {
                c: cell(a) for c, a in (("exact", 0.7), ("superset", 0.63), ("deficit", 0.4))
            }
            if qa_plus
            else {},
            "headline": headline,
            "headline_ci": headline_ci,
            "captions": None,
            "task_config": {"task": task, "version": 1},
            "run_config": {"model": "hf", "model_args": {"pretrained": model}},
            "provenance": {
                "dataset": {
                    "repo_id": "lihVerma/MAPLE-bench",
                    "revision": dataset_revision,
                    "config": "MAPLE_QA_exact",
                    "split": "test",
                    "ids_hash": ids_hash,
                },
                "media": {
                    "video": {"num_frames": 8, "fps": None},
                    "audio": {"sample_rate": 16000},
                    "policy": "drop",
                },
                "model": {
                    "id": model,
                    "revision": revision,
                    "dtype": "float32",
                    "adapter": "qwen2_5_omni",
                },
                "prompt_hash": "p" * 16,
                "chat_template_hash": None,
                "seeds": {"eval": 0},
                "versions": {"maple-bench": "0.1.0", "torch": "2.13.0"},
                "git_hash": "abc1234",
            },
            "timing": {"scoring_seconds": 0.1},
            "sample_log": f"samples_{task}.jsonl",
        },
    }


def write_results(path: Path, doc: dict[str, Any]) -> Path:
    """Write a results document as JSON (no validation: tests also write broken ones)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def test_hand_built_results_pass_the_evaluators_schema() -> None:
    """The helper must produce what maple-eval writes, or every other test proves nothing."""
    import jsonschema

    from leaderboards.entries import results_schema_path

    schema = json.loads(results_schema_path().read_text())
    jsonschema.Draft202012Validator(schema).validate(make_results())
    jsonschema.Draft202012Validator(schema).validate(make_results(qa_plus=True, revision=None))


def test_check_results_numbers_without_evaluators_is_one_clear_error(monkeypatch, tmp_path):
    """Publishing where the evaluators package is missing names what to install, no traceback."""
    import sys

    import pytest

    from leaderboards.entries import check_results_numbers
    from leaderboards.schema import LeaderboardError

    monkeypatch.setitem(sys.modules, "evaluators.results.consistency", None)
    with pytest.raises(LeaderboardError, match="needs the evaluators package"):
        check_results_numbers({}, tmp_path / "results.json")


def test_export_model_index_needs_model_name_in_either_spelling(capsys):
    """--model-name is required; the old --model still satisfies it (with a deprecation line)."""
    import argparse

    import pytest

    from leaderboards.cli import add_parser

    parser = argparse.ArgumentParser(prog="maple-bench")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["leaderboard", "export-model-index", "b.json", "--model", "m"])
    assert args.model_name == "m"
    assert "use --model-name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["leaderboard", "export-model-index", "b.json"])
    assert "--model-name is required" in capsys.readouterr().err
