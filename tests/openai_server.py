"""A loopback OpenAI-compatible Chat Completions server for the ``openai_chat`` adapter's tests.

Bound to 127.0.0.1 only, on a free port, in a daemon thread (``with LoopbackServer(...) as s``).
For every request it

- checks the body against :data:`REQUEST_SCHEMA` (the content-part format vLLM documents for
  Qwen2.5-Omni: ``video_url`` / ``audio_url`` / ``input_audio`` / ``image_url`` / ``text``);
- decodes the media it received with PyAV (frames, audio track of the mp4, wav audio) and compares
  the streams with the item's presentation (V-without-A must carry no audio at all);
- answers with the item's true option letter when everything matches (so accuracy 1.0 proves the
  wiring), and a wrong letter plus a recorded violation when it does not;
- injects a fixed latency and, per item on its first attempts, 429s, 500s and malformed replies.

Items are found by the ``X-Request-Id: <doc_id>#<draw>`` header the adapter sends. The server
never loops on its own: each handler answers one request and returns.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PART = {
    "oneOf": [
        {"type": "object", "required": ["type", "text"], "additionalProperties": False,
         "properties": {"type": {"const": "text"}, "text": {"type": "string"}}},
        {"type": "object", "required": ["type", "video_url"], "additionalProperties": False,
         "properties": {"type": {"const": "video_url"},
                        "video_url": {"type": "object", "required": ["url"],
                                      "properties": {"url": {"type": "string",
                                                             "pattern": "^data:video/mp4;base64,"}}}}},
        {"type": "object", "required": ["type", "audio_url"], "additionalProperties": False,
         "properties": {"type": {"const": "audio_url"},
                        "audio_url": {"type": "object", "required": ["url"],
                                      "properties": {"url": {"type": "string",
                                                             "pattern": "^data:audio/wav;base64,"}}}}},
        {"type": "object", "required": ["type", "image_url"], "additionalProperties": False,
         "properties": {"type": {"const": "image_url"},
                        "image_url": {"type": "object", "required": ["url"],
                                      "properties": {"url": {"type": "string",
                                                             "pattern": "^data:image/jpeg;base64,"}}}}},
        {"type": "object", "required": ["type", "input_audio"], "additionalProperties": False,
         "properties": {"type": {"const": "input_audio"},
                        "input_audio": {"type": "object", "required": ["data", "format"],
                                        "properties": {"data": {"type": "string"},
                                                       "format": {"enum": ["wav", "mp3"]}}}}},
    ]
}  # fmt: skip

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "messages": {
            "type": "array", "minItems": 1,
            "items": {"type": "object", "required": ["role", "content"],
                      "properties": {"role": {"enum": ["system", "user", "assistant"]},
                                     "content": {"oneOf": [{"type": "string"},
                                                           {"type": "array", "items": _PART}]}}},
        },
        "max_tokens": {"type": "integer", "minimum": 1},
        "max_completion_tokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "top_p": {"type": "number"},
        "seed": {"type": "integer"},
        "mm_processor_kwargs": {"type": "object",
                                "properties": {"use_audio_in_video": {"type": "boolean"}}},
    },
}  # fmt: skip
"""The request schema the server enforces (OpenAI Chat Completions + vLLM's extra fields)."""


@dataclass(frozen=True)
class Expected:
    """What the server should receive for one item, and the answer it gives when it does."""

    answer: str
    """The true option letter."""
    presentation: str
    """Streams presented (``V``, ``VA`` ...)."""
    frames: int
    """Frames expected when V is presented."""


@dataclass
class Seen:
    """What one request carried (decoded by the server)."""

    request_id: str
    streams: str
    frames: int
    audio_seconds: float
    video_has_audio: bool
    authorization: str | None
    body_bytes: int
    seed: int | None = None
    temperature: float | None = None


@dataclass
class Faults:
    """Deterministic fault injection by item: a hash of the item id picks its fault, which is
    returned on the item's first ``times`` attempts."""

    latency_s: float = 0.0
    """Sleep before every answer."""
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_malformed: float = 0.0
    rate_slow: float = 0.0
    """Share of items whose first attempts take ``slow_s`` (past the client's timeout)."""
    slow_s: float = 0.0
    times: int = 1
    """How many attempts of a faulty item fail before it succeeds."""
    always_500: bool = False
    """Every request fails (the every-item-failed test)."""


def _unit(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 2**32


def fault_of(doc_id: str, f: Faults) -> str | None:
    """The fault an item's first attempts get (``429``, ``500``, ``malformed``, ``slow``)."""
    u = _unit(doc_id)
    if u < f.rate_429:
        return "429"
    if u < f.rate_429 + f.rate_500:
        return "500"
    if 1.0 - f.rate_slow <= u:
        return "slow"
    if u < f.rate_429 + f.rate_500 + f.rate_malformed:
        return "malformed"
    return None


@dataclass
class ServerState:
    """Shared between the handler threads (guarded by ``lock``)."""

    expected: Mapping[str, Expected]
    faults: Faults
    api_key: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: dict[str, int] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    answered: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0


def _decode_b64(url_or_data: str) -> bytes:
    return base64.b64decode(
        url_or_data.split(",", 1)[1] if url_or_data.startswith("data:") else url_or_data
    )


def decode_mp4(blob: bytes) -> tuple[int, float]:
    """(video frames, seconds of audio in the container) decoded with PyAV."""
    import av

    with av.open(io.BytesIO(blob)) as c:
        has_audio = bool(c.streams.audio)
        frames = sum(1 for _ in c.decode(video=0))
    audio_s = 0.0
    if has_audio:
        with av.open(io.BytesIO(blob)) as c:
            for fr in c.decode(audio=0):
                audio_s += fr.samples / fr.sample_rate
    return frames, audio_s


def decode_wav(blob: bytes) -> float:
    """Seconds of audio in a wav file (PyAV)."""
    import av

    with av.open(io.BytesIO(blob)) as c:
        return sum(fr.samples / fr.sample_rate for fr in c.decode(audio=0))


def inspect_request(body: dict[str, Any]) -> tuple[str, int, float, bool, str]:
    """(streams, frames, audio seconds, mp4 carries audio, prompt text) of one request body."""
    user = [m for m in body["messages"] if m["role"] == "user"][-1]
    content = user["content"] if isinstance(user["content"], list) else [
        {"type": "text", "text": user["content"]}]  # fmt: skip
    frames, audio_s, video_audio, text = 0, 0.0, False, ""
    for part in content:
        kind = part["type"]
        if kind == "video_url":
            n, a = decode_mp4(_decode_b64(part["video_url"]["url"]))
            frames += n
            audio_s += a
            video_audio = video_audio or a > 0
        elif kind == "image_url":
            frames += 1
        elif kind == "audio_url":
            audio_s += decode_wav(_decode_b64(part["audio_url"]["url"]))
        elif kind == "input_audio":
            audio_s += decode_wav(_decode_b64(part["input_audio"]["data"]))
        elif kind == "text":
            text += part["text"]
    streams = ("V" if frames else "") + ("A" if audio_s > 0 else "")
    streams += "S" if text.startswith("Subtitles:") else ""
    return streams, frames, audio_s, video_audio, text


def _wrong(letter: str) -> str:
    return "B" if letter != "B" else "C"


class _Handler(BaseHTTPRequestHandler):
    state: ServerState  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, code: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        raw = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        st, f = self.state, self.state.faults
        deadline = time.perf_counter() + f.latency_s
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        # Counted only while no reply has been written: the client is surely still waiting.
        with st.lock:
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
        self._counted = True
        try:
            self._reply(raw, deadline)
        finally:
            self._uncount()

    def _uncount(self) -> None:
        if getattr(self, "_counted", False):
            with self.state.lock:
                self.state.in_flight -= 1
            self._counted = False

    def _wait(self, deadline: float) -> None:
        """Answer at ``deadline``: a fixed latency per request, checking time included."""
        left = deadline - time.perf_counter()
        if left > 0:
            time.sleep(left)
        self._uncount()  # about to answer: the client may send its next request any moment

    def _json_at(self, deadline: float, code: int, obj: Any,
                 headers: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self._wait(deadline)
        self._json(code, obj, headers)

    def _reply(self, raw: bytes, deadline: float) -> None:
        from jsonschema import Draft202012Validator

        st, f = self.state, self.state.faults
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json_at(deadline, 404, {"error": {"message": f"no route {self.path}"}})
            return
        rid = self.headers.get("X-Request-Id", "")
        with st.lock:
            attempt = st.attempts.get(rid, 0)
            st.attempts[rid] = attempt + 1
        auth = self.headers.get("Authorization")
        if st.api_key is not None and auth != f"Bearer {st.api_key}":
            # Echo the header back, as careless servers do: the client must redact it.
            self._json_at(deadline, 401, {"error": {"message": f"bad key {auth}"}})
            return
        fault = fault_of(rid.split("#")[0], f)
        if f.always_500:
            self._json_at(deadline, 500, {"error": {"message": "internal error (always_500)"}})
            return
        if attempt < f.times:
            if fault == "429":
                self._json_at(
                    deadline, 429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"}
                )
                return
            if fault == "500":
                self._json_at(deadline, 500, {"error": {"message": "internal error"}})
                return
            if fault == "slow":
                deadline += f.slow_s  # the client's timeout fires first
                self._uncount()  # abandoned by the client: no longer in flight for it
            elif fault == "malformed":
                self._wait(deadline)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"choices": [{"message": ')  # cut off mid-object
                return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._json_at(deadline, 400, {"error": {"message": "body is not JSON"}})
            return
        problems = [e.message for e in Draft202012Validator(REQUEST_SCHEMA).iter_errors(body)]
        exp = st.expected.get(rid.split("#")[0])
        if exp is None:
            problems.append(f"unknown X-Request-Id {rid!r}")
        if problems:
            with st.lock:
                st.violations.append(f"{rid}: {'; '.join(problems)[:300]}")
            self._json_at(deadline, 400, {"error": {"message": "; ".join(problems)[:300]}})
            return
        assert exp is not None
        streams, frames, audio_s, video_audio, _ = inspect_request(body)
        bad = []
        if streams != exp.presentation:
            bad.append(f"streams {streams!r} != presented {exp.presentation!r}")
        if "V" in exp.presentation and frames != exp.frames:
            bad.append(f"{frames} frames != {exp.frames}")
        if video_audio and "A" not in exp.presentation:
            bad.append("the video carries an audio track but A is not presented")
        muxed = bool((body.get("mm_processor_kwargs") or {}).get("use_audio_in_video"))
        if muxed != video_audio:
            bad.append(f"use_audio_in_video={muxed} but the mp4 audio track is {video_audio}")
        with st.lock:
            st.seen.append(Seen(rid, streams, frames, audio_s, video_audio, auth, len(raw),
                                body.get("seed"), body.get("temperature")))  # fmt: skip
            st.answered[rid] = st.answered.get(rid, 0) + 1
            if bad:
                st.violations.append(f"{rid}: {'; '.join(bad)}")
        letter = _wrong(exp.answer) if bad else exp.answer
        self._json_at(deadline, 200, {
            "id": f"chatcmpl-{rid}", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": letter},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(raw) // 100, "completion_tokens": 1,
                      "total_tokens": len(raw) // 100 + 1},
        })  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # an abandoned attempt is expected


class LoopbackServer:
    """``with LoopbackServer(expected, faults) as srv: srv.base_url`` (127.0.0.1 only)."""

    def __init__(self, expected: Mapping[str, Expected], faults: Faults | None = None,
                 api_key: str | None = None) -> None:  # fmt: skip
        self.state = ServerState(
            expected=dict(expected), faults=faults or Faults(), api_key=api_key
        )
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def expected_from_samples(samples: Any, frames: int = 8) -> dict[str, Expected]:
    """The server's answer table for a task's items (true letter, presentation, frame count)."""
    from maple_bench.schema import option_letter

    return {s.id: Expected(option_letter(s.answer_index), s.shown.name, frames) for s in samples}
