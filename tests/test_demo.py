"""``maple-bench demo``: the quick demo end to end, its final table and the output checker.

The end-to-end tests run ``maple-bench demo --quick`` once per module (about a minute on 2 CPU
cores, marked slow) and check the folder with :func:`evaluators.demo.check.check_outputs`, the
printed table against the results files and sample logs, and that a rerun refuses to clobber it.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from evaluators.demo.check import check_outputs
from evaluators.demo.check import main as check_main
from evaluators.demo.layout import Layout
from maple_bench.modality import TAG_NAMES

MODELS = ["random", "compact-mupo", "compact-mapo", "solver"]


def _pct(x: float | None, signed: bool = False) -> str:
    # written out here (not imported) so a formatting bug in the demo cannot hide itself
    if x is None:
        return "-"
    return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}"


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    from maple_bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "maple-demo"
    rc, stdout, stderr = _run_cli(["demo", "--out", str(out), "--quick", "--seed", "0"])
    assert rc == 0, stderr[-3000:]
    return out, stdout


def _section(stdout: str, title_prefix: str) -> list[str]:
    """The model rows of the table whose title line starts with ``title_prefix``."""
    blocks = stdout.split("\n\n")
    for block in blocks:
        lines = block.strip("\n").splitlines()
        if lines and lines[0].startswith(title_prefix):
            return lines[2:]  # title, header, then one row per model
    raise AssertionError(f"no table titled {title_prefix!r} in the demo output")


def _results(out: Path, task: str, model: str) -> dict:
    return json.loads(Layout(out).results(task, model).read_text())


@pytest.mark.slow
def test_quick_demo_outputs_exist_and_validate(quick_demo: tuple[Path, str]) -> None:
    out, stdout = quick_demo
    assert check_outputs(out) == []
    layout = Layout(out)
    manifest = json.loads(layout.manifest.read_text())
    assert manifest["models"] == MODELS
    assert set(manifest["timings_s"]) >= {"synth", "build", "train", "evaluate", "total"}
    for n in range(1, 8):  # numbered step headers with their timing
        assert f"[{n}/7] " in stdout
    assert stdout.count("    done in ") == 7
    # the data cards name both datasets' configs; the site shows every model
    assert "maple_qa_plus" in (layout.dataset("maple_qa_plus") / "README.md").read_text()
    page = (layout.site / "index.html").read_text()
    assert all(m in page for m in MODELS)
    # every path the demo printed exists
    written = [
        ln.split(": ", 1)[1] for ln in stdout.splitlines() if ln.startswith("  ") and ": /" in ln
    ]
    assert written and all(Path(p).exists() for p in written)


@pytest.mark.slow
def test_final_table_numbers_come_from_the_results_files(quick_demo: tuple[Path, str]) -> None:
    out, stdout = quick_demo
    for task, title in (("maple_qa", "MAPLE-QA ("), ("maple_qa_plus", "MAPLE-QA+ (")):
        rows = _section(stdout, title)
        assert [r.split()[0] for r in rows] == MODELS
        for row in rows:
            tokens = [t.strip("[],") for t in row.split()]
            m = _results(out, task, tokens[0])["maple"]
            head = m["headline"]
            ci = m["headline_ci"]["avg_acc"]
            want = [_pct(m["by_tag"][t]["acc"]) for t in TAG_NAMES]
            want += [_pct(head["avg_acc"]), _pct(ci["ci_low"]), _pct(ci["ci_high"])]
            want += [_pct(head["acc_uni"]), _pct(head["acc_multi"]), _pct(head["uni_multi_gap"])]
            want += [_pct(head["fusion_gain"], signed=True)]
            if task == "maple_qa_plus":
                want += [
                    _pct(m["by_condition"][c]["acc"]) for c in ("exact", "superset", "deficit")
                ]
                want += [_pct(head["abstention_rate"]), _pct(head["hallucination_rate"])]
            assert tokens[1:] == want, f"{task} / {tokens[0]}"
    # the solver perceives the streams: exact on MAPLE-QA, so the pipeline really ran end to end
    assert _results(out, "maple_qa", "solver")["maple"]["headline"]["avg_acc"] == 1.0


@pytest.mark.slow
def test_mapo_vs_mupo_comparison_is_recomputable(quick_demo: tuple[Path, str]) -> None:
    from evaluators.metrics import compare_logs, read_sample_log

    out, stdout = quick_demo
    layout = Layout(out)
    summary = json.loads(layout.summary_json.read_text())
    assert {(c["task"], c["metric"]) for c in summary["comparisons"]} == {
        (t, k) for t in ("maple_qa", "maple_qa_plus") for k in ("avg_acc", "uni_multi_gap")
    }
    for c in summary["comparisons"]:
        res = compare_logs(
            read_sample_log(layout.sample_log(c["task"], "compact-mupo")),
            read_sample_log(layout.sample_log(c["task"], "compact-mapo")),
            metric=c["metric"],
            n_bootstrap=summary["config"]["n_bootstrap"],
            seed=summary["config"]["seed"],
        )
        assert res.difference == pytest.approx(c["difference"])
        assert (res.ci_low, res.ci_high) == pytest.approx((c["ci_low"], c["ci_high"]))
        line = next(
            ln
            for ln in stdout.splitlines()
            if ln.startswith(c["task"] + " ") and f" {c['metric']} " in ln
        )
        assert f"[{_pct(res.ci_low, True)}, {_pct(res.ci_high, True)}]" in line
        assert _pct(res.difference, True) in line
        # MAPLE-QA values of A and B are the checkpoints' own headline numbers
        if c["metric"] == "avg_acc":
            a = _results(out, c["task"], "compact-mupo")["maple"]["headline"]["avg_acc"]
            assert c["a"] == pytest.approx(a)


@pytest.mark.slow
def test_rerun_refuses_an_existing_folder(quick_demo: tuple[Path, str]) -> None:
    out, _ = quick_demo
    before = Layout(out).manifest.stat().st_mtime_ns
    rc, _, err = _run_cli(["demo", "--out", str(out), "--quick"])
    assert rc == 2
    assert "already exists" in err and "--overwrite" in err
    assert Layout(out).manifest.stat().st_mtime_ns == before


@pytest.mark.slow
def test_check_reports_broken_outputs(quick_demo: tuple[Path, str], tmp_path: Path) -> None:
    src, _ = quick_demo
    out = tmp_path / "copy"
    shutil.copytree(src, out, symlinks=True)
    layout = Layout(out)
    (layout.plots / "per_tag_accuracy.png").unlink()
    res = layout.results("maple_qa", "solver")
    doc = json.loads(res.read_text())
    doc["maple"]["headline"]["avg_acc"] = "100%"
    res.write_text(json.dumps(doc))
    board = json.loads(layout.board("maple_qa_plus").read_text())
    board["entries"][0]["headline"] = "oops"
    layout.board("maple_qa_plus").write_text(json.dumps(board))
    problems = check_outputs(out)
    text = "\n".join(problems)
    assert "per_tag_accuracy.png" in text
    assert "maple_qa/solver/results.json: results schema" in text
    assert "maple_qa_plus.json: leaderboard schema" in text
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert check_main([str(out)]) == 1
    assert "problem(s)" in err.getvalue()


def test_check_a_folder_without_a_finished_demo(tmp_path: Path) -> None:
    assert check_outputs(tmp_path / "nope") == [f"missing: the demo folder {tmp_path / 'nope'}"]
    (tmp_path / "half").mkdir()
    problems = check_outputs(tmp_path / "half")
    assert any("did not finish" in p for p in problems)


def test_overwrite_never_deletes_a_foreign_folder(tmp_path: Path) -> None:
    from evaluators.demo.pipeline import DemoError, prepare_output

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(DemoError, match="already exists"):
        prepare_output(mine, overwrite=False)
    with pytest.raises(DemoError, match="not made by `maple-bench demo`"):
        prepare_output(mine, overwrite=True)
    assert (mine / "notes.txt").read_text() == "keep me"
    # a folder the demo claimed is replaced
    demo = tmp_path / "demo"
    layout = prepare_output(demo, overwrite=False)
    (demo / "stale.txt").write_text("old run")
    prepare_output(demo, overwrite=True)
    assert layout.marker.exists() and not (demo / "stale.txt").exists()


def test_demo_config_rejects_bad_settings() -> None:
    from evaluators.demo.config import demo_config, model_names

    cfg = demo_config(quick=True, seed=3, presets=("mupo", "mapo-adaptive"))
    assert cfg.seed == 3 and cfg.name == "quick"
    assert model_names(cfg) == ["random", "compact-mupo", "compact-mapo-adaptive", "solver"]
    with pytest.raises(ValueError, match="choose one or more of"):
        demo_config(presets=("mapo", "grpo"))
    with pytest.raises(ValueError, match="test_fraction"):
        demo_config().replace(test_fraction=1.0)
