"""Served models through the ``openai_chat`` adapter, against the loopback server of
:mod:`tests.openai_server`; plus ``--tasks``, ``--limit`` per tag, the exit code of a run where
every item failed, and the Python API.

The synthetic set: 7 tags x 1 question, 2-second 64x48 clips (49 QA+ items).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evaluators.api import AllItemsFailed, evaluate
from evaluators.runner.config import RunConfig
from evaluators.runner.run import run_eval
from evaluators.samplelog import read_log
from evaluators.tasks import get_task, load_task
from evaluators.tasks.load import generate_synth, limit_per_tag
from tests.openai_server import Faults, LoopbackServer, expected_from_samples

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "MAPLE_TEST_API_KEY"
SECRET = "sk-test-7f3a9c1e5b2d4a6f8e0c"


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("api") / "raw"
    return generate_synth(out, per_tag=1, seed=11, clip_seconds=2.0, width=64, height=48)


@pytest.fixture(scope="module")
def expected(raw: Path) -> dict[str, Any]:
    task = load_task(get_task("synth_qa_plus"), data=str(raw))
    return expected_from_samples(task.samples)


def _config(raw: Path, out: Path, base_url: str, **kw: Any) -> RunConfig:
    args = {"base_url": base_url, "max_concurrency": 4, "backoff_s": 0.01, "timeout_s": 30}
    args.update(kw.pop("model_args", {}))
    base: dict[str, Any] = dict(task="synth_qa_plus", model="openai_chat:served-omni",
                                model_args=args, data=str(raw), output=str(out), num_workers=0,
                                batch_size=16, progress=False)  # fmt: skip
    base.update(kw)
    return RunConfig(**base)


def _all_text(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*")
                   if p.is_file())  # fmt: skip


def test_served_model_gets_exactly_the_presented_streams(
    raw: Path, expected: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    faults = Faults(latency_s=0.05, rate_429=0.2, rate_500=0.15, rate_malformed=0.15,
                    rate_slow=0.15, slow_s=3.0)  # fmt: skip
    with LoopbackServer(expected, faults, api_key=SECRET) as srv:
        out = run_eval(_config(raw, tmp_path / "run", srv.base_url,
                               model_args={"api_key_env": KEY_ENV, "timeout_s": 1.5}))  # fmt: skip
    st = srv.state
    assert st.violations == []
    recs = read_log(out.log_path)
    assert len(recs) == len(expected) == 49
    # Answers come from the true option only when the streams on the wire match the
    # presentation, so solver-style accuracy 1.0 means the wiring is right for all 7 of them.
    assert all(r["correct"] and r["error"] is None for r in recs)
    assert out.results["maple"]["headline"]["micro_acc"] == 1.0
    seen = {s.request_id.split("#")[0]: s for s in st.seen}
    for doc_id, exp in expected.items():
        s = seen[doc_id]
        assert s.streams == exp.presentation, doc_id
        assert (s.frames == 8) == ("V" in exp.presentation)
        if "V" in exp.presentation and "A" not in exp.presentation:
            assert not s.video_has_audio and s.audio_seconds == 0.0  # decoded: no soundtrack
        if "A" in exp.presentation:
            assert s.audio_seconds > 1.5  # the 2-second clip's audio
    # Faults were injected and survived: faulty items needed several attempts (a slow first
    # attempt ran past the 1.5 s timeout and was retried).
    from tests.openai_server import fault_of

    attempts = Counter(r["usage"]["attempts"] for r in recs)
    assert attempts[1] and sum(n for a, n in attempts.items() if a > 1) > 0
    kinds = {r["doc_id"]: fault_of(r["doc_id"], faults) for r in recs}
    assert {"429", "500", "malformed", "slow"} <= set(kinds.values())
    assert all(r["usage"]["attempts"] >= 2 for r in recs if kinds[r["doc_id"]] is not None)
    assert all(isinstance(r["usage"]["prompt_tokens"], int) and r["usage"]["latency_s"] > 0
               for r in recs)  # fmt: skip
    assert 2 <= st.max_in_flight <= 4
    # Greedy, with the per-(item, draw) seed the local adapters use.
    from evaluators.runner.data import item_seed

    assert all(s.temperature == 0.0 and s.seed == item_seed(0, s.request_id.split("#")[0], 0)
               for s in st.seen)  # fmt: skip
    assert out.results["maple"]["timing"]["usage"]["completion_tokens"] == 49
    prov = out.results["maple"]["provenance"]["model"]
    assert prov["adapter"] == "openai_chat" and prov["id"] == "served-omni"
    assert prov["api_key_env"] == KEY_ENV and prov["format"] == "vllm"
    assert SECRET not in _all_text(out.output_dir)


def test_resume_sends_no_request_twice_for_a_finished_item(
    raw: Path, expected: dict[str, Any], tmp_path: Path
) -> None:
    out_dir = tmp_path / "run"
    with LoopbackServer(expected) as srv:
        first = run_eval(_config(raw, out_dir, srv.base_url))
    assert sorted(srv.state.answered.values()) == [1] * 49
    lines = first.log_path.read_text().splitlines(keepends=True)
    dropped = {json.loads(x)["doc_id"] for x in lines[-10:]}
    first.log_path.write_text("".join(lines[:-10]))
    with LoopbackServer(expected) as srv2:
        again = run_eval(_config(raw, out_dir, srv2.base_url, resume=True))
    assert again.n_new == 10
    assert {rid.split("#")[0] for rid in srv2.state.answered} == dropped
    assert sorted(srv2.state.answered.values()) == [1] * 10
    with LoopbackServer(expected) as srv3:
        assert run_eval(_config(raw, out_dir, srv3.base_url)).n_new == 0
    assert srv3.state.attempts == {}


def test_openai_format_sends_frames_and_input_audio(
    raw: Path, expected: dict[str, Any], tmp_path: Path
) -> None:
    with LoopbackServer(expected) as srv:
        out = run_eval(_config(raw, tmp_path / "o", srv.base_url, limit=14,
                               model_args={"format": "openai"}))  # fmt: skip
    assert srv.state.violations == []
    assert out.results["maple"]["headline"]["micro_acc"] == 1.0
    assert {s.streams for s in srv.state.seen} >= {"V", "A", "VA"}


def test_every_item_failed_exits_non_zero_with_one_line_and_no_key(
    raw: Path, expected: dict[str, Any], tmp_path: Path
) -> None:
    env = {**os.environ, KEY_ENV: SECRET, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    # The server expects another key and echoes the one it got in its 401 error body.
    with LoopbackServer(expected, api_key="sk-other") as srv:
        cmd = [sys.executable, "-m", "evaluators.cli", "run", "--task", "synth_qa_plus",
               "--model", "openai_chat:served-omni", "--data", str(raw), "--limit", "7",
               "--output", str(tmp_path / "f"), "--num-workers", "0", "--no-progress",
               "--model-args", f"base_url={srv.base_url},api_key_env={KEY_ENV},max_retries=1,"
               "backoff_s=0.01"]  # fmt: skip
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr[-2000:]
    err_lines = [x for x in res.stderr.splitlines() if "every item" in x]
    assert len(err_lines) == 1 and "HTTP 401 Unauthorized" in err_lines[0]
    assert "bad key" not in err_lines[0]  # status and reason only, never the echoing body
    assert SECRET not in res.stderr + res.stdout
    assert SECRET not in _all_text(tmp_path / "f")
    with (
        LoopbackServer(expected, Faults(always_500=True)) as srv,
        pytest.raises(AllItemsFailed, match="HTTP 500"),
    ):
        evaluate("synth_qa_plus", "openai_chat:m", data=str(raw), limit=7, progress=False,
                     output=str(tmp_path / "g"), num_workers=0,
                     model_args=f"base_url={srv.base_url},max_retries=0")  # fmt: skip


def test_missing_key_variable_is_a_clear_error(raw: Path, tmp_path: Path) -> None:
    from evaluators.adapters import AdapterArgumentError

    os.environ.pop("MAPLE_NO_SUCH_KEY", None)
    with pytest.raises(AdapterArgumentError, match="MAPLE_NO_SUCH_KEY"):
        run_eval(_config(raw, tmp_path / "k", "http://127.0.0.1:9/v1",
                         model_args={"api_key_env": "MAPLE_NO_SUCH_KEY"}))  # fmt: skip


def test_limit_is_per_tag_seeded_count_or_fraction(raw: Path) -> None:
    samples = load_task(get_task("synth_qa_plus"), data=str(raw)).samples
    picked = limit_per_tag(samples, 7, seed=0)
    assert Counter(s.rmt.name for s in picked) == Counter({t: 1 for t in
                                                          ("V", "A", "S", "VA", "VS", "AS", "VAS")})  # fmt: skip
    assert [s.id for s in picked] == [s.id for s in samples if s in picked]  # task order kept
    assert picked == limit_per_tag(samples, 7, seed=0) != limit_per_tag(samples, 7, seed=1)
    assert len(limit_per_tag(samples, 0.5, seed=0)) == 24 or len(
        limit_per_tag(samples, 0.5, seed=0)) == 25  # fmt: skip
    assert len(limit_per_tag(samples, 3, seed=0)) == 3
    task = load_task(get_task("synth_qa_plus"), data=str(raw), limit=0.2, seed=4)
    assert len(task.samples) == 10 and task.dataset["limit"]["value"] == 0.2
    assert task.dataset["n_before_limit"] == 49


def test_several_tasks_in_one_command_and_the_python_api(raw: Path, tmp_path: Path) -> None:
    res = evaluate(["synth_qa", "synth_qa_plus"], "solver", data=str(raw), num_workers=0,
                   output=str(tmp_path / "multi"), progress=False, limit=14)  # fmt: skip
    assert list(res) == ["synth_qa", "synth_qa_plus"]
    for name, r in res.items():
        assert (tmp_path / "multi" / name / "results.json").is_file()
        assert r["maple"]["task"] == name and r["maple"]["headline"]["micro_acc"] == 1.0
        assert r["n-samples"][name]["effective"] == (7 if name == "synth_qa" else 14)
    assert res["synth_qa_plus"]["n-samples"]["synth_qa_plus"]["original"] == 49


def test_batch_size_auto_shrinks_on_out_of_memory(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from evaluators.adapters.simple import RandomAdapter

    sizes: list[int] = []
    real = RandomAdapter.replies

    def replies(self: RandomAdapter, requests: Any) -> Any:
        sizes.append(len(requests))
        if len(requests) > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 GiB")
        return real(self, requests)

    monkeypatch.setattr(RandomAdapter, "replies", replies)
    out = run_eval(RunConfig(task="synth_qa_plus", model="random", data=str(raw), num_workers=0,
                             output=str(tmp_path / "a"), batch_size="auto", progress=False))  # fmt: skip
    assert len(read_log(out.log_path)) == 49
    # CPU start is 8; each OOM retries the same batch 10% smaller (int(8 * 0.9) = 7, 6, 5, 4,
    # 3: accelerate's rule) until it fits; later batches keep the size that fit.
    fit = next(i for i, n in enumerate(sizes) if n <= 3)
    assert sizes[: fit + 1] == [8, 7, 6, 5, 4, 3] and max(sizes[fit:]) == 3
