"""Prompts with an answer anchor, the caption instruction in one place, versions in logs and
results, rescoring a sample log, and the opt-in LLM choice extractor (loopback endpoint)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from maple_bench.data.columns import resolve_columns
from maple_bench.data.records import caption_rows
from maple_bench.modality import VA, A, S, V
from maple_bench.prompts import PROMPT_VERSION, caption_prompt, mcq_prompt
from maple_bench.schema import NONE_OPTION, Sample, SchemaError
from maple_bench.scoring import SCORER_VERSION

OPTS = ["red circle, high tone", "red circle, low tone", "blue square, high tone", NONE_OPTION]


def _qa(**kw: object) -> Sample:
    base: dict[str, object] = dict(
        id="q1", video_id="v1", question="What shape and tone?", rmt=VA, options=tuple(OPTS),
        answer=OPTS[1],
    )  # fmt: skip
    base.update(kw)
    return Sample(**base)  # type: ignore[arg-type]


def _caption(question: str, presentation: object) -> Sample:
    return Sample(
        id="c1", video_id="v1", question=question, rmt=VA, presentation=presentation,
        task="caption", captions=("a red circle beeps",),
    )  # fmt: skip


def test_mcq_prompt_ends_with_the_answer_anchor() -> None:
    text = mcq_prompt(_qa(), subtitles="hello there")
    assert text.startswith("Subtitles: hello there\n\nQuestion: What shape and tone?\nOptions:\nA.")
    assert (
        text.splitlines()[-1] == "Answer with only the letter (A, B, C or D) of the correct option."
    )
    assert "D. " + NONE_OPTION in text
    assert PROMPT_VERSION == "mcq-v2"


def test_caption_instruction_names_the_presented_streams() -> None:
    audio_only = caption_prompt(_caption("", A), subtitles=None)
    assert audio_only == (
        "Describe what the given audio contain in one or two sentences.\n"
        "Reply with the description only."
    )
    assert "video" not in audio_only  # an audio-only item is not asked to "describe the video"
    assert "video, audio and subtitles" in caption_prompt(_caption("", VA | S), subtitles="hi")
    assert "the given video contain" in caption_prompt(_caption("", V), subtitles=None)
    # A source's own instruction is kept; the anchor still closes the prompt.
    own = caption_prompt(_caption("Summarise the clip.", V), subtitles=None)
    assert own == "Summarise the clip.\nReply with the description only."


def test_loader_leaves_the_caption_instruction_to_the_prompt() -> None:
    rows = [{"video_id": "v1", "rmt": "A", "caption": ["a beep"]}]
    cmap = resolve_columns(list(rows[0]), kind="caption")
    (sample,) = caption_rows(rows, cmap, file="captions.jsonl").samples
    assert sample.question == ""
    assert caption_prompt(sample, None).startswith("Describe what the given audio contain")


def test_empty_question_is_still_refused_for_qa() -> None:
    with pytest.raises(SchemaError, match="empty question"):
        _qa(question=" ")


def test_sample_log_records_prompt_and_scorer_versions() -> None:
    from evaluators.samplelog import LOG_FIELDS, make_record
    from maple_bench.scoring import score

    s = _qa()
    verdict = score(s, "Option A is wrong. Answer: B")
    rec = make_record(
        s, draw=0, raw_output="Option A is wrong. Answer: B", parsed_index=verdict.parsed_index,
        parsed_text=verdict.parsed_text, correct=verdict.correct, invalid=verdict.invalid,
        scorer=verdict.provenance(),
    )  # fmt: skip
    assert set(rec) == set(LOG_FIELDS)
    assert rec["prompt_version"] == PROMPT_VERSION
    assert rec["scorer"] == {"version": SCORER_VERSION, "rule": "answer-statement"}
    assert rec["correct"] is True


def _log_rows() -> list[dict[str, object]]:
    """A QA log as an older scorer wrote it: three verdicts it got wrong, one it got right."""
    from evaluators.samplelog import make_record

    replies = [
        # (reply, what the old scorer logged: parsed index, correct, invalid)
        ("Option A is incorrect since the tone is low. Answer: B", (None, False, True)),
        ("None of the options.", (None, False, True)),  # read as S by the old regex -> invalid
        ("B. red circle, high tone", (1, True, False)),  # letter contradicts its text
        ("B", (1, True, False)),
    ]
    rows = []
    for i, (reply, (idx, correct, invalid)) in enumerate(replies):
        s = _qa(id=f"q{i}", video_id=f"v{i}", rmt=[V, A, S, VA][i])
        rows.append(
            make_record(
                s,
                draw=0,
                raw_output=reply,
                parsed_index=idx,
                correct=correct,
                invalid=invalid,
                parsed_text=None if idx is None else OPTS[idx],
            )  # fmt: skip
        )
    return rows


def test_rescore_log_rereads_replies_and_lists_changes() -> None:
    import pandas as pd

    from evaluators.rescore import rescore_log

    out, summary = rescore_log(pd.DataFrame(_log_rows()))
    assert list(out["parsed_index"]) == [1, 3, None, 1]
    assert list(out["correct"]) == [True, False, False, True]
    assert list(out["invalid"]) == [False, False, True, False]
    assert [c["row"] for c in summary["changed"]] == [1, 2, 3]
    assert {r["version"] for r in out["scorer"]} == {SCORER_VERSION}
    assert "choice_extractor" not in summary


class _Extractor(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that answers the choice-extractor prompt with a letter."""

    requests: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        type(self).requests.append(prompt)
        # a paraphrase the rules do not read; the model reads it as B. Anything else: Z.
        answer = "B" if "the low-pitched red one, I guess" in prompt else "Z"
        data = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def endpoint():
    _Extractor.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Extractor)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def _write_run(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    log = run / "samples_maple_qa_plus.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return log


def test_cli_rescore_changes_only_where_the_old_verdict_was_wrong(tmp_path, capsys) -> None:
    from evaluators.cli_metrics import main as cli_main
    from evaluators.results import load_results

    log = _write_run(tmp_path, _log_rows())
    out = tmp_path / "rescored.json"
    assert cli_main(["score", str(log), "--rescore", "--n-bootstrap", "20", "--out", str(out),
                     "--rescored-log", str(tmp_path / "re.jsonl")]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "3 verdicts changed" in err and "row 3 q2" in err
    res = load_results(out)
    assert res["maple"]["provenance"]["scorer_version"] == SCORER_VERSION
    assert res["maple"]["task_config"]["rescored"]["n_changed"] == 3
    assert res["maple"]["headline"]["micro_acc"] == pytest.approx(0.5)
    rows = [json.loads(x) for x in (tmp_path / "re.jsonl").read_text().splitlines()]
    assert [r["parsed_index"] for r in rows] == [1, 3, None, 1]


def test_llm_extractor_is_opt_in_cached_and_recorded(tmp_path, endpoint, capsys) -> None:
    from evaluators.cli_metrics import main as cli_main
    from evaluators.results import load_results
    from evaluators.samplelog import make_record

    rows = _log_rows()
    s = _qa(id="q9", video_id="v9", rmt=S)
    rows.append(make_record(s, draw=0, raw_output="the low-pitched red one, I guess", invalid=True,
                            correct=False))  # fmt: skip
    log = _write_run(tmp_path, rows)
    # Without the flag the extractor never runs (the reply stays invalid).
    assert cli_main(["score", str(log), "--rescore", "--n-bootstrap", "10"]) == 0
    assert _Extractor.requests == []
    # --llm-extract without a judge is a clear error.
    assert cli_main(["score", str(log), "--llm-extract", "--n-bootstrap", "10"]) == 2
    assert "--llm-extract needs the judge model" in capsys.readouterr().err
    out = tmp_path / "x.json"
    argv = ["score", str(log), "--llm-extract", "--n-bootstrap", "10", "--out", str(out),
            "--judge-backend", "endpoint", "--judge-url", endpoint, "--judge-model", "m",
            "--rescored-log", str(tmp_path / "re.jsonl")]  # fmt: skip
    assert cli_main(argv) == 0
    assert "LLM choice extractor endpoint:" in capsys.readouterr().err
    # Only the replies the rules left invalid were sent ("B. red circle, high tone" and q9).
    assert len(_Extractor.requests) == 2
    assert "Options:\nA. red circle, high tone" in _Extractor.requests[0]
    res = load_results(out)
    ce = res["maple"]["task_config"]["rescored"]["choice_extractor"]
    assert ce["n_extracted"] == 1 and ce["judge_id"].startswith("endpoint:")
    rows_out = [json.loads(x) for x in (tmp_path / "re.jsonl").read_text().splitlines()]
    last = rows_out[-1]
    assert last["parsed_index"] == 1 and last["scorer"]["rule"] == "llm-extractor"
    assert last["scorer"]["extractor"]["raw"] == "B"
    assert rows_out[2]["parsed_index"] is None  # the model said Z: still invalid
    assert (log.parent / "choice_cache.jsonl").exists()
    assert cli_main(argv) == 0  # second time: every answer from the cache
    assert len(_Extractor.requests) == 2
