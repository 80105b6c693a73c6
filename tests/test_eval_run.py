"""End-to-end runs of maple-eval on a tiny synthetic QA+ set: accuracy, errors, resume, processes.

The set is generated once per session with ``maple_bench.synth`` (2 videos x 7 tags = 14
questions, x 7 presentations = 98 QA+ items, 2-second 64x48 clips) and built in memory by the
data builders when the task loads it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evaluators.runner.config import RunConfig
from evaluators.runner.run import MediaFailure, RunMismatchError, run_eval
from evaluators.samplelog import read_log
from evaluators.tasks.load import generate_synth
from maple_bench.schema import NONE_OPTION

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
N_ITEMS = 98


@pytest.fixture(scope="session")
def synth_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval_synth") / "raw"
    return generate_synth(out, per_tag=2, seed=3, clip_seconds=2.0, width=64, height=48)


def _config(data: Path, out: Path, **kw: Any) -> RunConfig:
    base: dict[str, Any] = dict(task="synth_qa_plus", model="solver", data=str(data), output=str(out),
                                num_workers=2, batch_size=4, progress=False)  # fmt: skip
    base.update(kw)
    return RunConfig(**base)


def _metrics(results: dict[str, Any]) -> dict[str, Any]:
    """Everything in a results file that depends on the answers (not on time or paths)."""
    m = results["maple"]
    return {
        "results": results["results"],
        "n-samples": results["n-samples"],
        **{
            k: m[k]
            for k in ("by_tag", "by_presentation", "by_condition", "headline", "headline_ci")
        },
    }


def _answers(log_path: Path) -> list[tuple[str, int, str, bool]]:
    return sorted(
        (r["doc_id"], r["draw"], r["raw_output"], r["correct"]) for r in read_log(log_path)
    )


@pytest.fixture(scope="module")
def solver_run(synth_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One uninterrupted single-process solver run: the reference for the other tests."""
    return run_eval(_config(synth_raw, tmp_path_factory.mktemp("solver") / "run"))


def test_solver_is_exact_on_exact_and_superset_and_abstains_on_deficit(solver_run: Any) -> None:
    recs = read_log(solver_run.log_path)
    assert len(recs) == N_ITEMS and len({r["doc_id"] for r in recs}) == N_ITEMS
    by_cond = Counter(r["condition"] for r in recs)
    assert set(by_cond) == {"exact", "superset", "deficit"}
    for r in recs:
        assert r["error"] is None and r["invalid"] is False
        if r["condition"] in ("exact", "superset"):
            assert r["correct"], r
        else:
            assert r["parsed_text"] == NONE_OPTION, r
    # What was delivered follows the presentation exactly.
    for r in recs:
        d = r["delivered"]
        assert (d["frames"] > 0) == ("V" in r["presentation"])
        assert (d["audio_seconds"] > 0) == ("A" in r["presentation"])
        assert (d["subtitle_chars"] > 0) == ("S" in r["presentation"])
        assert d["audio_in_video"] == ("V" in r["presentation"] and "A" in r["presentation"])
    res = json.loads((solver_run.output_dir / "results.json").read_text())
    assert res["maple"]["headline"]["micro_acc"] == 1.0
    assert {c: v["acc"] for c, v in res["maple"]["by_condition"].items()} == {
        "exact": 1.0, "superset": 1.0, "deficit": 1.0,
    }  # fmt: skip
    prov = res["maple"]["provenance"]
    assert prov["dataset"]["config"] == "maple_qa_plus" and prov["dataset"]["ids_hash"]
    assert prov["media"]["video"]["num_frames"] == 8 and prov["media"]["policy"] == "drop"
    assert prov["model"]["adapter"] == "solver" and prov["versions"]["torch"]
    assert prov["prompt_hash"] and res["config"]["model"] == "solver"


def test_random_adapter_sits_at_chance(synth_raw: Path, tmp_path: Path) -> None:
    out = run_eval(_config(synth_raw, tmp_path / "rnd", model="random", k=4, seed=1))
    recs = read_log(out.log_path)
    assert len(recs) == 4 * N_ITEMS
    chance = sum(1 / len(r["options"]) for r in recs) / len(recs)
    acc = sum(r["correct"] for r in recs) / len(recs)
    assert abs(acc - chance) < 0.08, (acc, chance)  # sd of the mean here is about 0.02
    assert out.results["maple"]["headline"]["invalid_rate"] == 0.0


def test_corrupt_clip_fails_its_items_not_the_run(synth_raw: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    shutil.copytree(synth_raw / "media", media)
    victim = sorted(media.glob("*.mp4"))[0]
    victim.write_bytes(victim.read_bytes()[:2000])  # truncated: the container cannot be read
    out = run_eval(_config(synth_raw, tmp_path / "bad", media_root=str(media)))
    recs = read_log(out.log_path)
    assert len(recs) == N_ITEMS
    broken = [r for r in recs if r["error"]]
    assert broken and all(r["video_id"] == victim.stem for r in broken)
    assert all(r["error_type"] and r["correct"] is False for r in broken)
    # Items of the other video, and S-only items of the broken one, are scored normally.
    assert all(r["correct"] for r in recs if not r["error"] and r["condition"] != "deficit")
    assert not any(r["error"] for r in recs if r["presentation"] == "S")
    assert out.results["maple"]["headline"]["error_rate"] == pytest.approx(len(broken) / N_ITEMS)
    with pytest.raises(MediaFailure, match="--strict"):
        run_eval(_config(synth_raw, tmp_path / "strict", media_root=str(media), strict=True))


def test_changed_model_or_media_spec_refuses_to_mix(solver_run: Any, synth_raw: Path) -> None:
    with pytest.raises(RunMismatchError, match=r"model.adapter: 'solver' -> 'random'"):
        run_eval(_config(synth_raw, solver_run.output_dir, model="random"))
    with pytest.raises(RunMismatchError, match=r"media.video"):
        run_eval(_config(synth_raw, solver_run.output_dir, frames=4))
    # Same run again: everything is already done, nothing is recomputed, results unchanged.
    again = run_eval(_config(synth_raw, solver_run.output_dir, resume=True, num_workers=0))
    assert again.n_new == 0
    assert _metrics(again.results) == _metrics(solver_run.results)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "evaluators.cli", "run", *args, "--no-progress"]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _run_job(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a launcher in its own process group; on timeout kill the whole group (no orphans)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"job did not finish within {timeout} s (hang):\n{err[-2000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _torchrun(*args: str) -> list[str]:
    # --standalone: a private rendezvous on a free port (parallel test runs cannot collide).
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "evaluators.cli", "run", *args, "--no-progress"]  # fmt: skip


def test_sigkill_then_resume_gives_every_id_once_and_same_results(
    solver_run: Any, synth_raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    log = out / "samples_synth_qa_plus.jsonl"
    args = _cli("--task", "synth_qa_plus", "--model", "solver", "--data", str(synth_raw),
                "--output", str(out), "--batch-size", "1", "--num-workers", "0")  # fmt: skip
    proc = subprocess.Popen(
        args, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and log.read_bytes().count(b"\n") >= 10:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    partial = read_log(log)
    assert 10 <= len(partial) < N_ITEMS
    resumed = run_eval(_config(synth_raw, out, resume=True))
    assert resumed.n_new == N_ITEMS - len(partial)
    ids = [(r["doc_id"], r["draw"]) for r in read_log(log)]
    assert len(ids) == len(set(ids)) == N_ITEMS
    assert _answers(log) == _answers(solver_run.log_path)
    assert _metrics(resumed.results) == _metrics(solver_run.results)


def test_two_gloo_processes_match_one(solver_run: Any, synth_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "two"
    cmd = _torchrun("--task", "synth_qa_plus", "--model", "solver", "--data", str(synth_raw),
                    "--output", str(out), "--num-workers", "0")  # fmt: skip
    res = _run_job(cmd, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "merged" in res.stderr and not list(out.glob("samples_*.rank*.jsonl"))
    log = out / "samples_synth_qa_plus.jsonl"
    assert _answers(log) == _answers(solver_run.log_path)
    results = json.loads((out / "results.json").read_text())
    assert _metrics(results) == _metrics(solver_run.results)


def test_failure_on_one_rank_ends_the_job_with_a_clear_message(
    synth_raw: Path, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    shutil.copytree(synth_raw / "media", media)
    for clip in sorted(media.glob("*.mp4"))[:1]:
        clip.write_bytes(b"not a video")
    cmd = _torchrun("--task", "synth_qa_plus", "--model", "solver", "--data", str(synth_raw),
                    "--media-root", str(media), "--output", str(tmp_path / "o"), "--num-workers", "0",
                    "--strict", "--dist-timeout-s", "60")  # fmt: skip
    t0 = time.time()
    res = _run_job(cmd, timeout=180)
    assert res.returncode != 0
    assert "maple-eval run: error (rank" in res.stderr and "--strict" in res.stderr
    assert time.time() - t0 < 120  # no hang until the 60 s collective timeout and beyond
