"""Errors that used to point the wrong way now name the cause and the fix (one test each)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from evaluators.adapters import build_adapter
from evaluators.adapters.base import AdapterArgumentError
from evaluators.cli import main as eval_main
from maple_bench.cli import main as bench_main
from tests.test_metrics import row


@pytest.fixture(scope="module")
def raw_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny raw MAPLE-Synth folder whose rows carry their split (train / test)."""
    from maple_bench.synth import SynthConfig, generate

    return generate(
        tmp_path_factory.mktemp("err") / "syn",
        SynthConfig(per_tag=2, seed=3, clip_seconds=1.0, fps=4.0, test_fraction=0.5),
    )


def test_model_args_typo_lists_every_valid_key_and_the_closest(tmp_path: Path) -> None:
    # Before: "valid: ['system_prompt', 'use_chat_template']" (the common keys were already
    # taken, so max_new_tokens looked invalid).
    with pytest.raises(AdapterArgumentError) as e:
        build_adapter("causal_lm", {"pretrained": str(tmp_path), "max_new_token": 4})
    msg = str(e.value)
    assert "'max_new_token' -> did you mean 'max_new_tokens'?" in msg
    assert "max_new_tokens" in msg and "system_prompt" in msg and "temperature" in msg


def test_missing_checkpoint_folder_is_one_line_not_a_hub_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "runs" / "nope" / "model"
    with pytest.raises(AdapterArgumentError, match="does not exist"):
        build_adapter("causal_lm", {"pretrained": str(missing)})
    with pytest.raises(AdapterArgumentError, match="checkpoint folder .* does not exist"):
        build_adapter("compact", {"pretrained": str(missing)})
    code = eval_main(
        ["run", "--task", "synth_qa", "--model", f"compact:{missing}", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"checkpoint folder {missing} does not exist" in err and "save_pretrained" in err


def _run_dir(path: Path, rows: list[dict], config: dict) -> Path:
    path.mkdir(parents=True)
    with open(path / "samples_synth_qa.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    (path / "run_meta.json").write_text(json.dumps({"config": config}))
    return path


def test_compare_names_the_setting_that_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "Rerun both on the same task, --limit and --num-draws" (no such flag); the real
    # cause was --presentations.
    full = [row(f"q{i}", f"v{i}", t, 1) for i, t in enumerate(["S", "VS", "V", "A"])]
    base = {"task": "synth_qa", "data": None, "limit": None, "k": 1}
    a = _run_dir(tmp_path / "a", full, {**base, "presentations": None})
    b = _run_dir(tmp_path / "b", full[:2], {**base, "presentations": ["S", "VS"]})
    assert eval_main(["compare", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "--num-draws" not in err
    assert "--presentations None (A) vs ['S', 'VS'] (B)" in err


def test_compare_unknown_metric_lists_the_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [row(f"q{i}", f"v{i}", "V", i % 2) for i in range(4)]
    cfg = {"task": "synth_qa"}
    a, b = _run_dir(tmp_path / "a", rows, cfg), _run_dir(tmp_path / "b", rows, cfg)
    assert eval_main(["compare", str(a), str(b), "--metric", "avg_accuracy"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'avg_accuracy'; choose --metric from" in err and "avg_acc" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "run", "--seed", "-1"],
        ["compare", "a", "b", "--n-bootstrap", "-1"],
        ["compare", "a", "b", "--n-permutations", "many"],
    ],
)
def test_negative_or_non_numeric_counts_name_the_flag(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: numpy's "negative dimensions are not allowed" (or nothing at all for score).
    with pytest.raises(SystemExit) as e:
        eval_main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and "Traceback" not in err
    assert f"argument {argv[-2]}" in err and "expected a whole number >= 0" in err


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--prefetch-factor", "0", "prefetch_factor must be >= 1"),
        ("--synth-per-tag", "0", "synth_per_tag must be >= 1"),
        ("--frames", "0", "num_frames must be >= 1"),  # before: 0 fell back to the default
        ("--fps", "-1", "fps must be > 0"),
        ("--audio-rate", "0", "sample_rate must be >= 1"),
    ],
)
def test_run_media_and_loader_settings_out_of_range_are_one_line(
    flag: str, value: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--task", "synth_qa", "--model", "random", "--out", str(tmp_path / "o")]
    code = eval_main([*argv, "--cache-dir", str(tmp_path / "c"), flag, value])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and says in err


def test_a_key_error_inside_score_is_a_bug_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: every KeyError became "maple-eval score: error: 'x'" with exit 2.
    import evaluators.cli_metrics as cm

    def broken(*a: object, **k: object) -> Path:
        return {}["maple"]  # type: ignore[return-value]

    monkeypatch.setattr(cm, "find_log", broken)
    with pytest.raises(KeyError, match="maple"):
        eval_main(["score", str(tmp_path)])


def test_synth_warning_tells_maple_eval_users_what_to_do(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: maple-eval run without --data warned about --num-options, a flag it lacks.
    from evaluators.tasks.load import generate_synth

    with caplog.at_level(logging.WARNING, logger="maple_bench.synth.generate"):
        generate_synth(tmp_path / "s", per_tag=1, seed=0, clip_seconds=1.0, fps=4.0)
    text = caplog.text
    assert "maple-bench synth --out DIR --num-options 8" in text
    assert "maple-eval run --data DIR" in text


def test_build_test_fraction_on_a_split_source_is_an_error(
    raw_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: ignored without a word (the source rows already carry train/test).
    out = tmp_path / "ds"
    argv = ["build", "qa", "--data", str(raw_synth), "--out", str(out), "--test-fraction", "0.2"]
    assert bench_main(argv) == 2
    err = capsys.readouterr().err
    assert "--test-fraction 0.2 would be ignored: every row already has a split" in err
    assert "Drop --test-fraction" in err and not out.exists()
    assert bench_main(argv[:-2]) == 0  # without it, the source's splits are kept


def test_import_of_the_task_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "0 labels from 0 annotator(s)" and exit 0.
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"id": 1, "data": {"item_id": "q1", "question": "?"}}]))
    assert bench_main(["annotate", "import", str(tasks), "--out", str(tmp_path / "l.csv")]) == 2
    err = capsys.readouterr().err
    assert "no verdicts among its 1 task(s)" in err and "Export > JSON" in err
    assert not (tmp_path / "l.csv").exists()
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("item_id,annotator,rmt\nq1,ann,\n")
    assert bench_main(["annotate", "import", str(sheet), "--out", str(tmp_path / "l.csv")]) == 2
    assert "fill the rmt column" in capsys.readouterr().err


def test_audit_says_which_checks_ran(raw_synth: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: "0 finding(s)" without saying what was checked.
    code = bench_main(["annotate", "audit", "--data", str(raw_synth)])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "checks run: leakage, near_duplicate, option_length_bias, tag_balance" in out
    assert "skipped: label_disagreement (pass --proposals)" in out


def test_adapter_registry_checks_the_base_class() -> None:
    from evaluators.adapters import ADAPTERS, ModelAdapter
    from evaluators.runner.registry import Registry

    reg: Registry[type[ModelAdapter]] = Registry("adapter", base=ModelAdapter)
    with pytest.raises(TypeError, match="not a subclass of evaluators.adapters.base.ModelAdapter"):
        reg.register("bad", dict)
    reg.register("lazy_bad", "collections:OrderedDict")
    with pytest.raises(TypeError, match="'lazy_bad' is"):
        reg.get("lazy_bad")
    for name in ADAPTERS.names():
        assert issubclass(ADAPTERS.get(name), ModelAdapter)


def test_cider_definition_says_document_frequencies_are_per_video() -> None:
    from evaluators.metrics.definitions import DEFINITIONS, METRICS_VERSION

    text = DEFINITIONS["cider_d"]
    assert "counted per video" in text and "coco-caption counts one document per scored" in text
    assert METRICS_VERSION == "1.1"  # the definition changed: results files say so
