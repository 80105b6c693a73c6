"""The shared chat-completions transport (:mod:`evaluators.endpoint`) and its two users: the
``openai_chat`` adapter and the endpoint LLM judge. A loopback server that echoes the
Authorization header (in its body and its reason phrase) must not leak the key through either."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from evaluators.adapters.base import Reply, Request
from evaluators.adapters.openai_chat import EndpointSettings, OpenAIChatAdapter
from evaluators.captions.judge import EndpointJudge, JudgeConfig, JudgeError
from evaluators.endpoint import MissingKeyError, Transport, chat_url, parse_reply, read_key

KEY_ENV = "MAPLE_ENDPOINT_TEST_KEY"
SECRET = "sk-echo-5e1d9b7c3a"


class _Echo(BaseHTTPRequestHandler):
    """Fails each request's first ``fail_times`` attempts with ``status``, echoing the request's
    Authorization header in the body and in the reason phrase; then answers ``"7"``."""

    status = 500
    fail_times = 99
    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        auth = str(self.headers.get("Authorization"))
        cls = type(self)
        cls.seen.append({"path": self.path, "auth": auth, "body": body})
        if len(cls.seen) <= cls.fail_times:
            data = json.dumps({"error": f"bad request; you sent {auth}"}).encode()
            self.send_response(cls.status, f"Rejected {auth}")
            extra = {"Retry-After": "0"} if cls.status == 429 else {}
        else:
            data = json.dumps({"choices": [{"message": {"content": "7"}}],
                               "usage": {"prompt_tokens": 5, "completion_tokens": 1}}).encode()  # fmt: skip
            self.send_response(200)
            extra = {}
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def echo() -> Iterator[str]:
    """The server root WITHOUT /v1 (both users must add it)."""
    _Echo.seen, _Echo.status, _Echo.fail_times = [], 500, 99
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _request() -> Request:
    prepared = {"content": [{"type": "text", "text": "hi"}], "extra": {}, "doc_id": "q1"}
    return Request(input=None, prompt="hi", draw=0, seed=3, prepared=prepared)


def _adapter_reply(base_url: str, **kw: Any) -> Reply:
    adapter = OpenAIChatAdapter(EndpointSettings(base_url=base_url, model="m", api_key_env=KEY_ENV,
                                                 backoff_s=0.0, **kw))  # fmt: skip
    try:
        return adapter.replies([_request()])[0]
    finally:
        adapter.close()


def _judge(base_url: str, **kw: Any) -> EndpointJudge:
    return EndpointJudge(JudgeConfig(backend="endpoint", model="j", base_url=base_url,
                                     api_key_env=KEY_ENV, backoff_s=0.0, **kw))  # fmt: skip


def test_chat_url_accepts_the_root_with_or_without_v1() -> None:
    assert chat_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    assert chat_url("https://h/v1beta/openai") == "https://h/v1beta/openai/chat/completions"
    assert chat_url("http://h/v1/chat/completions") == "http://h/v1/chat/completions"


def test_missing_key_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert read_key(None) is None
    with pytest.raises(MissingKeyError, match=rf"\${KEY_ENV} \(api_key_env\) is not set"):
        read_key(KEY_ENV)
    monkeypatch.setenv(KEY_ENV, "")
    with pytest.raises(MissingKeyError):
        Transport("http://h", api_key_env=KEY_ENV)
    with pytest.raises(ValueError, match="must start with http"):
        Transport("h:8000/v1")


def test_reply_parsing_and_retry_after() -> None:
    ok = json.dumps({"choices": [{"message": {"content": " B "}}], "usage": {"prompt_tokens": 3}})
    assert parse_reply(ok.encode()) == (
        " B ",
        {"prompt_tokens": 3, "completion_tokens": None},
        None,
    )
    assert parse_reply(b'{"choices": []}')[2] == "no choices[0].message.content"
    assert parse_reply(b"{")[2] == "body is not JSON"
    t = Transport("http://h", backoff_s=1.0)
    assert t.delay(0, "2") == 2.0 and t.delay(0, "999") == 60.0
    # No Retry-After: 1 s * 2**attempt, times a jitter in [1, 1.25).
    assert 4.0 <= t.delay(2, None) < 5.0 and 4.0 <= t.delay(2, "soon") < 5.0


@pytest.mark.parametrize("status", [401, 500])
def test_echoing_server_does_not_leak_the_key_through_either_user(
    echo: str, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    _Echo.status = status
    tries = 1 if status == 401 else 3  # 401 is final; 500 is retried (max_retries=2)

    reply = _adapter_reply(echo, max_retries=2)
    assert _Echo.seen[0]["auth"] == f"Bearer {SECRET}"  # the key was sent, and echoed
    assert _Echo.seen[0]["path"] == "/v1/chat/completions"
    assert reply.error is not None and reply.error_type == "EndpointError"
    assert f"HTTP {status} Rejected Bearer ***" in reply.error  # the reason phrase, redacted
    assert "you sent" not in reply.error and SECRET not in reply.error  # never the body
    assert reply.usage is not None and reply.usage["attempts"] == tries == len(_Echo.seen)

    _Echo.seen = []
    judge = _judge(echo, max_retries=2)
    with pytest.raises(JudgeError) as info:
        judge.generate("hello")
    msg = str(info.value)
    assert f"HTTP {status} Rejected Bearer ***" in msg and f"after {tries} attempt" in msg
    assert "you sent" not in msg and SECRET not in msg and SECRET not in repr(judge.transport)
    assert len(_Echo.seen) == tries and _Echo.seen[0]["path"] == "/v1/chat/completions"


def test_judge_gains_retries_and_adapter_keeps_its_usage_fields(
    echo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    _Echo.status, _Echo.fail_times = 429, 2
    assert _judge(echo + "/v1").generate("hello") == "7"  # two 429s (Retry-After: 0), then 200
    assert len(_Echo.seen) == 3
    assert _Echo.seen[0]["body"] == {"model": "j", "messages": [{"role": "user", "content":
                                     "hello"}], "temperature": 0.0, "max_tokens": 8}  # fmt: skip

    _Echo.seen = []
    reply = _adapter_reply(echo + "/v1")
    assert reply.error is None and reply.text == "7"
    assert reply.usage is not None and reply.usage["attempts"] == 3
    assert reply.usage["prompt_tokens"] == 5 and reply.usage["completion_tokens"] == 1
    assert reply.usage["latency_s"] >= 0 and reply.usage["total_s"] >= reply.usage["latency_s"]
    assert _Echo.seen[0]["auth"] == f"Bearer {SECRET}"
    assert _Echo.seen[0]["body"]["seed"] == 3


def test_judge_without_retries_fails_on_the_first_error(
    echo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(JudgeError, match=rf"\${KEY_ENV}"):
        _judge(echo).generate("hello")
    assert _Echo.seen == []  # nothing sent without the key
    judge = EndpointJudge(JudgeConfig(backend="endpoint", model="j", base_url=echo, max_retries=0))
    with pytest.raises(JudgeError, match=r"HTTP 500 Rejected None \(after 1 attempt\)"):
        judge.generate("hello")
    assert len(_Echo.seen) == 1


def test_bad_settings_are_one_line_errors() -> None:
    from evaluators.adapters.base import AdapterArgumentError
    from evaluators.runner.config import parse_model_args

    for url, why in (("http://", "has no host"), ("http://h:port/v1", "not a valid URL"),
                     ("http://[h/v1", "not a valid URL"), ("h:8000/v1", "must start with http")):  # fmt: skip
        with pytest.raises(ValueError, match=why):
            Transport(url)
        with pytest.raises(ValueError, match=f"the endpoint judge: .*{why}"):
            JudgeConfig(backend="endpoint", model="j", base_url=url)
        with pytest.raises(AdapterArgumentError, match=f"openai_chat: .*{why}"):
            EndpointSettings(base_url=url, model="m")
    # --model-args values are parsed to int/float/bool/str: a wrong kind names the key
    for args, msg in (("max_concurrency=four", "max_concurrency='four' is not int"),
                      ("max_concurrency=2.5", "max_concurrency=2.5 is not int"),
                      ("timeout_s=soon", "timeout_s='soon' is not float"),
                      ("send_seed=maybe", "send_seed='maybe' is not bool")):  # fmt: skip
        kw = parse_model_args(f"base_url=http://h:8000/v1,{args}")
        with pytest.raises(AdapterArgumentError, match=f"^openai_chat: {msg}$"):
            OpenAIChatAdapter.create(dict(kw, model="m"))
    s = EndpointSettings(base_url="http://h:8000", model="m", timeout_s=30, api_key_env=None)
    assert s.timeout_s == 30  # an int is a float here
