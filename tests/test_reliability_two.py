"""Issue 19, "Reliability, round two": one test (or a few) per numbered item of the issue.

Every test here failed on the code before the fix (see the table in the issue note) and passes
after it. Items: 1 names that become paths, 2 stale resume and dataset identity, 3 concurrent
writers, 4 values that pass the builder and crash the run, 5 orphaned workers, 6 OS errors as
one line, 7 results that lie, 8 the smaller ones.
"""

from __future__ import annotations

import copy
import errno
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evaluators.runner.config import RunConfig
from evaluators.runner.run import RunMismatchError, run_eval
from evaluators.samplelog import read_log
from evaluators.tasks.load import generate_synth
from tests.test_data_build import qa_row, write_raw

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rel2_synth") / "raw"
    return generate_synth(out, per_tag=2, seed=5, clip_seconds=2.0, width=64, height=48)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _cfg(data: str | Path, out: Path, **kw: Any) -> RunConfig:
    base: dict[str, Any] = dict(task="synth_qa", model="solver", data=str(data), output=str(out),
                                num_workers=0, batch_size=4, progress=False)  # fmt: skip
    base.update(kw)
    return RunConfig(**base)


def _relabel(raw: Path) -> int:
    """Move every answer to another option (ids unchanged). Returns the rows changed."""
    rows = [json.loads(line) for line in (raw / "qa.jsonl").read_text().splitlines()]
    for r in rows:
        opts = r["options"]
        r["answer"] = opts[(opts.index(r["answer"]) + 1) % len(opts)]
    (raw / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return len(rows)


# -- 1. a file written outside --out --------------------------------------------------------------


def test_1_split_name_that_climbs_out_is_refused(tmp_path: Path, capsys: Any) -> None:
    from maple_bench.cli import main

    raw = write_raw(tmp_path / "raw", [qa_row(0, split="../../../ESCAPED"), qa_row(1)])
    out = tmp_path / "a" / "b" / "out"
    assert main(["build", "qa", "--data", str(raw), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "row id 'q0'" in err and "'split'" in err and "ESCAPED" in err
    assert not list(tmp_path.rglob("ESCAPED*")) and not out.exists()


def test_1_writer_refuses_bad_config_and_split_names(tmp_path: Path) -> None:
    from maple_bench.data.errors import DataError
    from maple_bench.data.writer import write_dataset
    from maple_bench.schema import Sample, samples_to_table

    table = samples_to_table([Sample(id="a", video_id="v", question="q?", rmt="V",
                                     options=("x", "y"), answer="x")])  # fmt: skip
    for config, split in (("maple_qa", "../x"), ("../../cfg", "test"), ("maple_qa", "a/b")):
        with pytest.raises(DataError, match="not a valid name"):
            write_dataset(tmp_path / "out", config, {split: table}, {})
    assert not (tmp_path / "out").exists() and not list(tmp_path.rglob("*.parquet"))


def test_1_dataset_folder_follows_the_umask(tmp_path: Path) -> None:
    from maple_bench.cli import main

    raw = write_raw(tmp_path / "raw", [qa_row(0), qa_row(1)])
    old = os.umask(0o027)
    try:
        assert main(["build", "qa", "--data", str(raw), "--out", str(tmp_path / "out")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750  # not forced 0755: umask wins


# -- 2. stale resume; dataset identity -------------------------------------------------------------


def test_2_relabelled_data_is_not_resumed_silently(synth: Path, tmp_path: Path) -> None:
    raw = _copy(synth, tmp_path / "syn")
    out = tmp_path / "run"
    first = run_eval(_cfg(raw, out, limit=6))
    assert first.results is not None and first.results["maple"]["n_items"] == 6
    _relabel(raw)
    # Before: the fingerprint held the path string, so this resumed and kept the 6 old answers.
    with pytest.raises(RunMismatchError, match="dataset_hash"):
        run_eval(_cfg(raw, out))


def test_2_each_record_item_hash_is_compared_on_resume(synth: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = run_eval(_cfg(synth, out, limit=4))
    log = done.log_path
    recs = read_log(log)
    recs[1]["item_hash"] = "0" * 16  # a record made for another version of that item
    log.write_text("".join(json.dumps(r) + "\n" for r in recs))
    with pytest.raises(RunMismatchError, match="item_hash differs"):
        run_eval(_cfg(synth, out, limit=4))


def test_2_relative_and_absolute_data_paths_are_one_run(
    synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy(synth, tmp_path / "syn")
    monkeypatch.chdir(tmp_path)
    run_eval(_cfg("syn", tmp_path / "run", limit=3))
    again = run_eval(_cfg(str(tmp_path / "syn"), tmp_path / "run", limit=3))
    assert again.n_new == 0  # resumed: nothing left to do


def test_2_relabelled_data_goes_to_another_board(synth: Path, tmp_path: Path) -> None:
    from leaderboards.publish import publish
    from leaderboards.schema import LeaderboardError

    raw = _copy(synth, tmp_path / "syn")
    a = run_eval(_cfg(raw, tmp_path / "a", limit=5))
    _relabel(raw)
    b = run_eval(_cfg(raw, tmp_path / "b", limit=5))
    da, db = (o.results["maple"]["provenance"]["dataset"] for o in (a, b))  # type: ignore[index]
    assert da["ids_hash"] == db["ids_hash"] and da["content_hash"] != db["content_hash"]
    board = tmp_path / "board.json"
    publish([a.results_path], board)  # type: ignore[list-item]
    with pytest.raises(LeaderboardError, match="task hash"):
        publish([b.results_path], board)  # type: ignore[list-item]


def test_2_one_ids_hash_for_builder_loader_and_runner(synth: Path, tmp_path: Path) -> None:
    import evaluators.tasks.load as task_load
    from maple_bench.data import build_dataset

    assert not hasattr(task_load, "ids_hash")  # one definition, in maple_bench.data.identity
    built = build_dataset("qa", synth, tmp_path / "ds")
    info = json.loads((built.out / "build_info.json").read_text())
    run = run_eval(_cfg(built.out, tmp_path / "run"))
    prov = run.results["maple"]["provenance"]["dataset"]  # type: ignore[index]
    # Same items, same hash: before, the runner wrote sha256[:16] of the ordered ids and the
    # builder sha256 of the sorted ids, so the two never matched.
    assert prov["ids_hash"] == info["configs"]["maple_qa"]["splits"]["test"]["ids_hash"]


# -- 3. concurrent writers ------------------------------------------------------------------------

_HOLD = """
import sys, time
from pathlib import Path
from maple_bench.locks import path_lock
with path_lock(sys.argv[1], what="test holder"):
    Path(sys.argv[2]).touch()
    time.sleep(120)
"""


def test_3_second_eval_into_one_output_is_refused(synth: Path, tmp_path: Path) -> None:
    from maple_bench.locks import PathBusyError

    out, ready = tmp_path / "run", tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out), str(ready)], env=_env())
    try:
        for _ in range(600):
            if ready.exists():
                break
            time.sleep(0.05)
        with pytest.raises(PathBusyError, match="another process"):
            run_eval(_cfg(synth, out, limit=2))
        assert not (out / "samples_synth_qa.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
    assert run_eval(_cfg(synth, out, limit=2)).results is not None  # lock released with its holder


_BUILD = """
import sys, time
from pathlib import Path
from maple_bench.data import build_dataset
builder, raw, out, go = sys.argv[1:]
while not Path(go).exists():
    time.sleep(0.005)
build_dataset(builder, raw, out)
"""


@pytest.mark.slow
def test_3_two_builds_into_one_folder_keep_both_configs(synth: Path, tmp_path: Path) -> None:
    out, go = tmp_path / "ds", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _BUILD, b, str(synth), str(out), str(go)], env=_env()
        )
        for b in ("qa", "qa-plus")
    ]
    time.sleep(1.0)  # let both import
    go.touch()
    assert [p.wait(120) for p in procs] == [0, 0]
    info = json.loads((out / "build_info.json").read_text())
    assert sorted(info["configs"]) == ["maple_qa", "maple_qa_plus"]
    assert (out / "data" / "maple_qa").is_dir() and (out / "data" / "maple_qa_plus").is_dir()


def test_3_publish_leaves_no_lock_file_in_boards(synth: Path, tmp_path: Path) -> None:
    from leaderboards.publish import publish

    run = run_eval(_cfg(synth, tmp_path / "run", limit=3))
    boards = tmp_path / "boards"
    publish([run.results_path], boards / "b.json")  # type: ignore[list-item]
    assert sorted(p.name for p in boards.iterdir()) == ["b.json"]


def test_3_one_jsonl_reader_everywhere(tmp_path: Path) -> None:
    """The torn-last-line rule lives once (maple_bench.jsonl); training metrics use it too."""
    from evaluators.captions.judge import VerdictCache
    from maple_bench.mapo.metrics import read_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "los')  # killed mid-write
    assert [r["step"] for r in read_metrics(path)] == [1, 2]
    cache = tmp_path / "verdicts.jsonl"
    cache.write_text('{"key": "a", "verdict": {"score": 1}}\n{"key": "b", "ver')
    vc = VerdictCache(cache)
    assert len(vc) == 1
    vc.put("c", {"score": 2})  # appending first cuts the torn tail: the file stays valid
    assert [json.loads(x)["key"] for x in cache.read_text().splitlines()] == ["a", "c"]
    pkgs = ("evaluators", "maple_bench", "annotation", "leaderboards")
    files = [f for pkg in pkgs for f in ROOT.glob(f"{pkg}/**/*.py")]
    rule = [
        f.name for f in files if "i == last" in f.read_text() or "len(lines) - 1" in f.read_text()
    ]
    assert rule == ["jsonl.py"]  # the torn-last-line rule, once
    assert not [f.name for f in files if "import fcntl" in f.read_text()]


# -- 4. values that pass the builder and crash the run --------------------------------------------


@pytest.mark.parametrize(
    ("over", "column", "words"),
    [
        ({"end": math.inf}, "end", "finite"),
        ({"end": math.nan}, "end", "NaN"),
        ({"start": 5.0, "end": 2.0}, "end", "not after start"),
        ({"start": -1.0}, "start", "negative"),
        ({"question": ["what", "colour"]}, "question", "list"),
        ({"options": [["red"], ["blue"], ["green"]]}, "options", "list"),
        ({"id": None}, "id", "empty"),
    ],
)
def test_4_bad_values_are_refused_with_file_row_and_column(
    tmp_path: Path, capsys: Any, over: dict[str, Any], column: str, words: str
) -> None:
    from maple_bench.cli import main

    raw = write_raw(tmp_path / "raw", [qa_row(0), qa_row(1, **over)])
    assert main(["build", "qa", "--data", str(raw), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "qa.jsonl" in err and f"'{column}'" in err and words in err
    assert ("row id 'q1'" in err) or ("data row 2" in err)
    assert not (tmp_path / "out").exists()


def test_4_non_media_error_fails_its_item_not_the_run(
    synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import maple_bench.present as present_mod

    real = present_mod.present
    victim: list[str] = []

    def present(sample: Any, *a: Any, **kw: Any) -> Any:
        if not victim:
            victim.append(sample.id)
        if sample.id == victim[0]:
            raise OverflowError("cannot convert float infinity to integer")
        return real(sample, *a, **kw)

    monkeypatch.setattr(present_mod, "present", present)
    out = run_eval(_cfg(synth, tmp_path / "run", limit=5))
    recs = read_log(out.log_path)
    bad = [r for r in recs if r["error"]]
    assert [r["doc_id"] for r in bad] == victim and bad[0]["error_type"] == "OverflowError"
    assert out.results["maple"]["headline"]["error_rate"] == pytest.approx(1 / 5)  # type: ignore[index]


# -- 5. orphaned DataLoader workers ----------------------------------------------------------------

_WORKERS = """
import os, sys, time
import evaluators.runner.data as d
from evaluators.runner.data import WorkItem, iter_prepared

def slow(group, *a):
    time.sleep(0.2)
    return [0] * 200000  # large results: the queues fill up

d.prepare_group = slow
groups = [[i] for i in range(500)]
it = iter_prepared(groups, None, num_workers=2, prefetch_factor=8)
next(it)
print(os.getpid(), flush=True)
time.sleep(300)
"""


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        kids += [int(x) for x in text]
    return kids


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]  # a zombie has exited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_5_workers_exit_when_the_main_process_is_killed() -> None:
    main = subprocess.Popen(
        [sys.executable, "-c", _WORKERS], env=_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert main.stdout is not None
        pid = int(main.stdout.readline())
        workers = _children(pid)
        assert len(workers) == 2
        os.kill(pid, signal.SIGKILL)
        main.wait()
        # Generous polling (not a timing assertion): before the fix they stayed for minutes.
        for _ in range(200):
            if not any(_alive(w) for w in workers):
                break
            time.sleep(0.05)
        left = [w for w in workers if _alive(w)]
        for w in left:
            os.kill(w, signal.SIGKILL)
        assert not left, f"DataLoader workers {left} outlived the killed main process"
    finally:
        if main.poll() is None:
            main.kill()


# -- 6. OS errors as one line ----------------------------------------------------------------------


def _one_line(capsys: Any) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_6_output_path_under_a_file(tmp_path: Path, capsys: Any) -> None:
    from maple_bench.cli import main

    raw = write_raw(tmp_path / "raw", [qa_row(i) for i in range(4)])
    (tmp_path / "afile").write_text("x")
    assert main(["build", "qa", "--data", str(raw), "--out", str(tmp_path / "afile" / "out")]) == 2
    assert "afile: already exists" in _one_line(capsys)


def test_6_eval_output_under_a_file(synth: Path, tmp_path: Path, capsys: Any) -> None:
    from evaluators.cli import main

    (tmp_path / "afile").write_text("x")
    argv = ["run", "--task", "synth_qa", "--model", "random", "--data", str(synth),
            "--out", str(tmp_path / "afile" / "run"), "--limit", "2", "--num-workers", "0",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 2
    assert "afile" in _one_line(capsys)


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.EACCES, "permission denied"), (errno.ENOSPC, "no space left")],
)
def test_6_permission_denied_and_disk_full(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch, code: int, words: str
) -> None:
    import pyarrow.parquet as pq

    from maple_bench.cli import main

    raw = write_raw(tmp_path / "raw", [qa_row(i) for i in range(4)])

    def refuse(table: Any, where: Any, *a: Any, **kw: Any) -> None:
        raise OSError(code, os.strerror(code), str(where))

    monkeypatch.setattr(pq, "write_table", refuse)  # tests run as root: chmod cannot deny
    assert main(["build", "qa", "--data", str(raw), "--out", str(tmp_path / "out")]) == 2
    assert words in _one_line(capsys)
    assert not (tmp_path / "out").exists()


def test_6_non_utf8_path(tmp_path: Path, capsys: Any) -> None:
    from maple_bench.cli import main

    bad = os.fsdecode(os.fsencode(str(tmp_path)) + b"/syn\xff")
    assert main(["synth", "--out", bad, "--per-tag", "1"]) == 2
    assert "UTF-8" in _one_line(capsys)
    assert list(tmp_path.iterdir()) == []


# -- 7. results that lie ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder: sample log + results.json (5 videos per tag, 300 bootstrap draws)."""
    from evaluators.results import score_log, write_results
    from tests.test_metrics import row

    folder = tmp_path_factory.mktemp("honest")
    rows = [
        row(f"{t}-{i}", f"vid-{t}-{i}", t, (i + j) % 3 != 0)
        for j, t in enumerate(("V", "A", "S", "VA", "VS", "AS", "VAS"))
        for i in range(10)
    ]
    log = folder / "samples_maple_qa.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    doc = score_log(log, task="maple_qa", n_bootstrap=300)
    doc["maple"]["provenance"]["dataset"].update(ids_hash="ids", content_hash="content")
    doc["maple"]["provenance"]["model"]["id"] = "honest-model"
    write_results(folder / "results.json", doc)
    return folder


def _edit(honest: Path, tmp_path: Path, change: Any, keep_log: bool = False) -> Path:
    doc = json.loads((honest / "results.json").read_text())
    change(doc)
    folder = tmp_path / "edited"
    folder.mkdir()
    if keep_log:
        shutil.copy(honest / "samples_maple_qa.jsonl", folder)
    path = folder / "results.json"
    path.write_text(json.dumps(doc))
    return path


def _headline_lie(doc: dict[str, Any]) -> None:
    doc["maple"]["headline"]["avg_acc"] = 0.95
    doc["results"]["maple_qa"]["avg_acc,none"] = 0.95


def _ci_above(doc: dict[str, Any]) -> None:
    v = doc["maple"]["by_tag"]["V"]["acc"]
    doc["maple"]["by_tag"]["V"].update(ci_low=v + 0.1, ci_high=v + 0.2)


def _extra_key(doc: dict[str, Any]) -> None:
    doc["leaderboard_rank"] = 1


def _string_metric(doc: dict[str, Any]) -> None:
    doc["results"]["maple_qa"]["acc,none"] = "0.99"


def _consistent_lie(doc: dict[str, Any]) -> None:
    """Every tag +0.05, headline recomputed to match: only the sample log can tell."""
    from evaluators.results.consistency import recompute_headline

    m = doc["maple"]
    for e in m["by_tag"].values():
        e["acc"] += 0.05
        e["ci_low"] += 0.05
        e["ci_high"] += 0.05
    for k, v in recompute_headline(m["by_tag"]).items():
        m["headline"][k] = v
        if f"{k},none" in doc["results"]["maple_qa"]:
            doc["results"]["maple_qa"][f"{k},none"] = v
    doc["results"]["maple_qa"]["acc,none"] = m["headline"]["micro_acc"]
    for k, ci in m["headline_ci"].items():
        v = m["headline"].get(k)
        if isinstance(v, float) and ci["ci_low"] is not None:
            ci["ci_low"], ci["ci_high"] = min(ci["ci_low"], v), max(ci["ci_high"], v)


LIES = {
    "headline_0.95_over_tables": (_headline_lie, False, "avg_acc"),
    "ci_above_value": (_ci_above, False, "by_tag.V"),
    "extra_top_level_key": (_extra_key, False, "leaderboard_rank"),
    "string_in_results_block": (_string_metric, False, "acc,none"),
    "consistent_lie_vs_sample_log": (_consistent_lie, True, "sample log"),
}


def test_7_honest_file_validates_and_publishes(honest: Path, tmp_path: Path, capsys: Any) -> None:
    from evaluators.cli import main
    from leaderboards.publish import publish

    assert main(["validate", str(honest / "results.json")]) == 0
    assert publish([honest / "results.json"], tmp_path / "b.json").n_entries == 1


@pytest.mark.parametrize("case", sorted(LIES))
def test_7_lying_results_fail_validate_and_publish(
    honest: Path, tmp_path: Path, capsys: Any, case: str
) -> None:
    from evaluators.cli import main
    from leaderboards.publish import publish
    from leaderboards.schema import LeaderboardError

    change, keep_log, words = LIES[case]
    path = _edit(honest, tmp_path, change, keep_log)
    assert main(["validate", str(path)]) == 1
    assert words in capsys.readouterr().err
    with pytest.raises(LeaderboardError, match=words.replace(".", r"\.")):
        publish([path], tmp_path / "board.json")
    assert not (tmp_path / "board.json").exists()


def test_7_na_stderr_and_omitted_metrics_are_accepted(honest: Path) -> None:
    """lm-eval writes "N/A" for an inapplicable stderr and may omit metrics: not a lie."""
    from evaluators.results.consistency import check_consistency

    doc = json.loads((honest / "results.json").read_text())
    block = doc["results"]["maple_qa"]
    block["none_f1_stderr,none"] = "N/A"
    block.pop("none_f1,none", None)
    doc["maple"]["headline"].pop("none_f1", None)
    assert check_consistency(copy.deepcopy(doc)) == []


# -- 8. the smaller ones ---------------------------------------------------------------------------


def test_8_propose_model_honours_config_and_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synth: Path
) -> None:
    import annotation.ablate as ablate
    from evaluators.tasks import get_task, load_task
    from maple_bench.cli import main

    seen: dict[str, Any] = {}

    def fake(data: str, **kw: Any) -> list[dict[str, Any]]:
        seen.update(kw)
        return []

    monkeypatch.setattr(ablate, "run_ablation", fake)
    main(["annotate", "propose", "--data", str(synth), "--model", "solver", "--dataset-config",
          "maple_qa", "--split", "train", "--out", str(tmp_path / "p.csv")])  # fmt: skip
    assert seen.get("config") == "maple_qa" and seen.get("split") == "train"
    # ... and the runner's loader reads that split.
    rows = [qa_row(i, split="train" if i % 5 < 2 else "test") for i in range(10)]
    raw = write_raw(tmp_path / "raw", rows)
    task = load_task(get_task("maple_ablation"), data=str(raw), split="train")
    assert task.samples and {s.split for s in task.samples} == {"train"}
    assert task.dataset["split"] == "train"


def test_8_inspect_checks_media_paths(tmp_path: Path, capsys: Any) -> None:
    from maple_bench.cli import main

    raw = write_raw(tmp_path / "raw", [qa_row(0), qa_row(1, video="../../etc/passwd.mp4")])
    assert main(["inspect", str(raw / "qa.jsonl"), "--media-root", str(raw / "media")]) == 1
    assert "passwd" in capsys.readouterr().err
    raw2 = write_raw(tmp_path / "raw2", [qa_row(0), qa_row(1, video="gone.mp4")])
    assert main(["inspect", str(raw2)]) == 1
    assert "gone.mp4" in capsys.readouterr().err


def test_8_judge_http_error_does_not_echo_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from evaluators.captions.judge import EndpointJudge, JudgeConfig, JudgeError

    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # a server that echoes the request headers in its error
            body = f"bad request; you sent {self.headers.get('Authorization')}".encode()
            self.send_response(401, "Unauthorized")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("JUDGE_KEY", "sk-secret-123")
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        judge = EndpointJudge(JudgeConfig(backend="endpoint", model="m", base_url=url,
                                          api_key_env="JUDGE_KEY"))  # fmt: skip
        with pytest.raises(JudgeError) as info:
            judge.generate("hello")
        assert "401" in str(info.value) and "Unauthorized" in str(info.value)
        assert "sk-secret" not in str(info.value)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_8_absolute_media_path_inside_root_refused_at_run_time(tmp_path: Path) -> None:
    from maple_bench.media import UnsafePathError, resolve_media_path

    (tmp_path / "clip.mp4").write_bytes(b"x")
    with pytest.raises(UnsafePathError, match="is absolute"):
        resolve_media_path(tmp_path, str(tmp_path / "clip.mp4"))
