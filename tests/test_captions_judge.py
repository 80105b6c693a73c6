"""LLM judge: score parsing, the OpenAI-compatible client against a local HTTP server, the verdict
cache, loud failures, and a local tiny transformers judge."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evaluators.captions import (
    JudgeConfig,
    JudgeError,
    VerdictCache,
    judge_log,
    make_judge,
    parse_score,
)
from evaluators.results import build_results, validate_results

SECRET = "sk-test-secret-value-123"


def test_parse_score():
    assert parse_score("7", 10) == 7
    assert parse_score("Score: 8/10", 10) == 8
    assert parse_score(" 85 / 100 because ...", 10) == 8.5  # rescaled to the 0-10 scale
    assert parse_score("6.5", 10) == 6.5
    assert parse_score("90", 100) == 90
    with pytest.raises(JudgeError, match="no score"):
        parse_score("great caption!", 10)
    with pytest.raises(JudgeError, match="outside 0-10"):
        parse_score("11", 10)


class _Handler(BaseHTTPRequestHandler):
    """A fake OpenAI-compatible server: answers "<n>/10" where n = words shared with refs."""

    requests: list = []
    fail_with: int | None = None

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                    "body": body})  # fmt: skip
        if type(self).fail_with:
            self.send_response(type(self).fail_with)
            self.end_headers()
            self.wfile.write(b'{"error": "overloaded"}')
            return
        prompt = body["messages"][0]["content"]
        refs_part, cand_part = prompt.split("Candidate caption:\n")
        cand = set(cand_part.split("\n")[0].lower().split())
        refs = set(refs_part.lower().replace("-", " ").split())
        answer = f"Score: {min(10, len(cand & refs))}/10"
        payload = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def server():
    _Handler.requests = []
    _Handler.fail_with = None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def caption_rows():
    """Two videos x tags V, A, S, VAS; the caption text decides the fake server's score."""
    refs = {"v1": ["a dog runs on the beach"], "v2": ["a man plays the guitar"]}
    caps = {
        ("v1", "V"): "a dog runs",  # shares a, dog, runs -> 3
        ("v1", "A"): "dog",  # 1
        ("v1", "S"): "nothing here",  # 0
        ("v1", "VAS"): "a dog runs on the beach",  # 6
        ("v2", "V"): "a man",  # 2
        ("v2", "A"): "guitar the plays",  # 3
        ("v2", "S"): "a man plays",  # 3
        ("v2", "VAS"): "a man plays guitar",  # 4
    }
    return [
        {"doc_id": f"{v}-{t}", "question_id": v, "video_id": v, "task": "caption", "rmt": t,
         "presentation": t, "condition": "exact", "draw": 0, "raw_output": c,
         "references": refs[v], "correct": None, "invalid": None, "error": None, "judge": None}
        for (v, t), c in caps.items()
    ]  # fmt: skip


def test_endpoint_judge_caches_and_feeds_the_metrics(server, tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    cfg = JudgeConfig(backend="endpoint", model="judge-1", base_url=server, api_key_env="JUDGE_KEY")
    cache_path = tmp_path / "cache.jsonl"
    judged = judge_log(caption_rows(), make_judge(cfg, cache_path))
    assert len(_Handler.requests) == 8
    req = _Handler.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["auth"] == f"Bearer {SECRET}"
    assert req["body"]["model"] == "judge-1" and req["body"]["temperature"] == 0.0
    v = judged["judge"].iloc[0]
    assert v["score"] == 3 and v["normalized"] == 0.3
    assert v["judge_id"] == f"endpoint:{server}#judge-1" and v["prompt_hash"] == cfg.prompt_hash
    assert v["decoding"] == {"max_new_tokens": 8, "temperature": 0.0, "do_sample": False}
    # The key never reaches the cache (or the results).
    assert SECRET not in cache_path.read_text()
    # Second pass: every verdict served from the cache, no request made.
    judge2 = make_judge(cfg, cache_path)
    assert len(judge2.cache) == 8
    judge_log(caption_rows(), judge2)
    assert len(_Handler.requests) == 8

    res = build_results(judged, task="maple_caption", n_bootstrap=100)
    assert validate_results(res) == []
    assert SECRET not in json.dumps(res)
    m = res["maple"]
    # Judge scores /10: V (0.3 + 0.2)/2 = 0.25; A (0.1 + 0.3)/2 = 0.2; S (0 + 0.3)/2 = 0.15;
    # VAS (0.6 + 0.4)/2 = 0.5.
    assert m["by_tag"]["V"]["acc"] == pytest.approx(0.25)
    assert m["by_tag"]["S"]["acc"] == pytest.approx(0.15)
    assert m["by_tag"]["VAS"]["acc"] == pytest.approx(0.5)
    assert m["primary_score"] == "judge_score"
    # Per-video fusion gain: v1 0.6 - max(0.3, 0.1, 0) = 0.3; v2 0.4 - max(0.2, 0.3, 0.3) = 0.1.
    # Mean over the 2 videos = 0.2.
    assert m["headline"]["per_video_fusion_gain"] == pytest.approx(0.2)
    assert m["captions"]["judge"]["judge_id"] == f"endpoint:{server}#judge-1"
    # Lexical: v1 VAS is identical to its reference -> ROUGE-L 1 for that caption.
    assert m["captions"]["lexical"]["by_tag"]["VAS"]["n"] == 2
    assert 0 < m["captions"]["lexical"]["overall"]["rouge_l"] < 1


def test_configured_judge_failures_are_errors(server, monkeypatch):
    cfg = JudgeConfig(backend="endpoint", model="m", base_url=server, api_key_env="NO_SUCH_VAR")
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    with pytest.raises(JudgeError, match=r"\$NO_SUCH_VAR"):
        judge_log(caption_rows(), make_judge(cfg))
    _Handler.fail_with = 503
    cfg = JudgeConfig(backend="endpoint", model="m", base_url=server, backoff_s=0.01)
    with pytest.raises(JudgeError, match=r"doc_id 'v1-V'.*HTTP 503"):
        judge_log(caption_rows(), make_judge(cfg))
    dead = JudgeConfig(
        backend="endpoint", model="m", base_url="http://127.0.0.1:9/v1", timeout=2, backoff_s=0.01
    )
    with pytest.raises(JudgeError, match="unreachable"):
        judge_log(caption_rows(), make_judge(dead))


def test_unjudged_caption_log_has_null_scores_and_mixed_is_refused(server):
    res = build_results(caption_rows(), task="cap", n_bootstrap=10)
    assert validate_results(res) == []
    assert res["maple"]["by_tag"]["V"]["acc"] is None
    assert res["maple"]["captions"]["judge"] is None
    cfg = JudgeConfig(backend="endpoint", model="m", base_url=server)
    judged = judge_log(caption_rows(), make_judge(cfg))
    judged.loc[0, "judge"] = None
    with pytest.raises(ValueError, match="no judge score"):
        build_results(judged, task="cap", n_bootstrap=10)


def test_cache_tolerates_a_torn_last_line(tmp_path):
    p = tmp_path / "c.jsonl"
    c = VerdictCache(p)
    c.put("k1", {"score": 1.0})
    with open(p, "a") as f:
        f.write('{"key": "k2", "verd')
    assert VerdictCache(p).get("k1") == {"score": 1.0}
    assert VerdictCache(p).get("k2") is None


SHORT_TEMPLATE = "Refs:\n{references}\nCaption: {candidate}\nScore 0-{scale}:"
"""A short judge prompt keeps the tiny model's fine-tuning to a second or two."""


@pytest.fixture(scope="module")
def tiny_judge_dir(tmp_path_factory):
    """A tiny Qwen2 causal LM (tokenizer trained locally) fine-tuned for a few steps to answer
    "7" to the judge prompt: a real model, real chat template, real generate()."""
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from maple_bench.models.tiny import tiny_causal_lm

    d = tiny_causal_lm(tmp_path_factory.mktemp("judge"), hidden_size=32, num_layers=1)
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForCausalLM.from_pretrained(d)
    cfg = JudgeConfig(backend="local", model=str(d), template=SHORT_TEMPLATE)
    torch.manual_seed(0)
    batch = []
    for cand in ("a cat", "the red car drives", "people talk"):
        prompt = tok.apply_chat_template(
            [{"role": "user", "content": cfg.prompt(cand, ["a cat sits on a mat"])}],
            tokenize=False,
            add_generation_prompt=True,
        )
        p_ids = tok(prompt)["input_ids"]
        t_ids = tok("7")["input_ids"] + [tok.eos_token_id]
        batch.append((p_ids + t_ids, [-100] * len(p_ids) + t_ids))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for step in range(60):
        ids, labels = batch[step % len(batch)]
        loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.01:
            break
    model.save_pretrained(d)
    return d


@pytest.mark.slow  # importing transformers + building the tiny checkpoint: ~10-20 s here
def test_local_tiny_judge(tiny_judge_dir, tmp_path):
    cfg = JudgeConfig(
        backend="local", model=str(tiny_judge_dir), max_new_tokens=4, template=SHORT_TEMPLATE
    )
    judge = make_judge(cfg, tmp_path / "cache.jsonl")
    v = judge.score("a small cat", ["a cat sits on a mat"])
    assert v.raw.strip() == "7"
    assert v.score == 7 and v.normalized == 0.7 and not v.cached
    assert v.judge_id == f"local:{tiny_judge_dir}"
    assert judge.score("a small cat", ["a cat sits on a mat"]).cached
    bad = JudgeConfig(backend="local", model=str(tmp_path / "no-model"))
    with pytest.raises(JudgeError, match="cannot load"):
        make_judge(bad)


def test_cli_score_with_endpoint_judge(server, tmp_path, capsys):
    from evaluators.cli_metrics import main as cli_main
    from evaluators.results import load_results

    run = tmp_path / "run"
    run.mkdir()
    log = run / "samples_maple_caption.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in caption_rows()))
    out = run / "rescored.json"
    argv = ["score", str(log), "--out", str(out), "--n-bootstrap", "20",
            "--judge-backend", "endpoint", "--judge-url", server, "--judge-model", "j"]  # fmt: skip
    assert cli_main(argv) == 0
    text = capsys.readouterr().out
    assert "BLEU-4" in text and "judge endpoint:" in text
    res = load_results(out)
    assert (
        res["maple"]["task_config"]["judge"]["prompt_hash"]
        == res["maple"]["captions"]["judge"]["prompt_hash"]
    )
    assert (
        json.loads(res["configs"]["maple_caption"]["judge"]) == res["maple"]["task_config"]["judge"]
    )
    assert res["maple"]["headline"]["per_video_fusion_gain"] == pytest.approx(0.2)
    assert (run / "judge_cache.jsonl").exists()
    n = len(_Handler.requests)
    assert cli_main(argv) == 0  # second time: all verdicts from the cache
    assert len(_Handler.requests) == n
