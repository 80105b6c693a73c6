"""The one HTTP client for OpenAI-compatible ``/v1/chat/completions`` endpoints.

Two users share it: the ``openai_chat`` model adapter (:mod:`evaluators.adapters.openai_chat`)
and the endpoint LLM judge (:mod:`evaluators.captions.judge`, also the rescorer's choice
extractor). It builds the URL, reads the API key from the environment variable the config names,
posts with a timeout, retries with exponential backoff (or the server's ``Retry-After``) on 429,
5xx, timeouts, connection errors and malformed replies, and parses
``choices[0].message.content`` and ``usage``.

The key is held in memory only. Error text gives the HTTP status and reason, never the server's
body (a server that echoes the request headers would put the key there), and is passed through
:meth:`Transport.redact` anyway, since the reason phrase comes from the server too.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
"""HTTP statuses worth retrying (rate limits, overload, transient server errors)."""

MAX_DELAY_S = 60.0
"""Cap on one backoff wait, and on a server's Retry-After."""


class EndpointError(RuntimeError):
    """A request failed after every retry (the adapter logs the item as failed, not the run)."""


class MissingKeyError(ValueError):
    """The environment variable named by ``api_key_env`` is unset or empty."""


def check_base_url(base_url: str) -> None:
    """Raise a one-line :class:`ValueError` unless ``base_url`` is an http(s) URL with a host
    (and a numeric port, if any): a typo fails at start-up, not as retried connection errors."""
    example = "e.g. http://127.0.0.1:8000/v1"
    if not str(base_url).startswith(("http://", "https://")):
        raise ValueError(f"base_url={base_url!r} must start with http:// or https:// ({example})")
    try:
        parts = urllib.parse.urlsplit(str(base_url))
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as e:
        raise ValueError(f"base_url is not a valid URL: {e} ({example})") from None
    if not parts.hostname:  # the URL is not echoed: it may hold credentials
        raise ValueError(f"base_url has no host ({example})")


def chat_url(base_url: str) -> str:
    """The ``/chat/completions`` URL for a server root given with or without ``/v1``.

    ``http://h:8000`` and ``http://h:8000/v1`` both give ``http://h:8000/v1/chat/completions``.
    Any other path is taken as the API root as given (hosted APIs such as
    ``https://host/v1beta/openai``), and a URL already ending in ``/chat/completions`` is kept.
    """
    base = base_url.rstrip("/")
    path = urllib.parse.urlsplit(base).path
    if path.endswith("/chat/completions"):
        return base
    if path == "":
        return base + "/v1/chat/completions"
    return base + "/chat/completions"


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment (for provenance and error text)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def read_key(api_key_env: str | None) -> str | None:
    """The API key from the environment variable named ``api_key_env`` (None: no key used).

    Raises :class:`MissingKeyError` (one line, naming the variable) when it is unset or empty.
    """
    if not api_key_env:
        return None
    key = os.environ.get(api_key_env)
    if not key:
        raise MissingKeyError(
            f"environment variable ${api_key_env} (api_key_env) is not set or empty; export it, "
            f"or drop api_key_env for a server without keys"
        )
    return key


def parse_reply(body: bytes) -> tuple[str, dict[str, Any], str | None]:
    """(text, usage, problem) of a 200 reply; ``problem`` names what is wrong when malformed.

    ``text`` is ``choices[0].message.content`` as sent; ``usage`` holds ``prompt_tokens`` and
    ``completion_tokens`` (None when the server does not report them).
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", {}, "body is not JSON"
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return "", {}, "no choices[0].message.content"
    if not isinstance(content, str):
        return "", {}, "choices[0].message.content is not a string"
    usage_in = data.get("usage")
    usage: dict[str, Any] = {"prompt_tokens": None, "completion_tokens": None}
    if isinstance(usage_in, dict):
        for k in ("prompt_tokens", "completion_tokens"):
            v = usage_in.get(k)
            usage[k] = int(v) if isinstance(v, int) and not isinstance(v, bool) else None
    return content, usage, None


@dataclass(frozen=True)
class ChatResult:
    """The outcome of one request after its retries: a reply text, or an error line."""

    text: str
    """``choices[0].message.content`` ("" on failure)."""
    usage: dict[str, Any] = field(default_factory=dict)
    """``prompt_tokens`` / ``completion_tokens`` of a successful reply."""
    error: str | None = None
    """One redacted line (URL, last failure, attempts); None on success."""
    attempts: int = 0
    """HTTP attempts made (1 = no retry)."""
    latency_s: float | None = None
    """Duration of the successful attempt (None on failure)."""
    total_s: float = 0.0
    """Duration of all attempts and backoff waits."""


class Transport:
    """POSTs JSON to one chat-completions URL with timeout, retries and key redaction.

    Thread-safe: the adapter shares one instance across its request threads.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key_env: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        seed: int = 0,
    ) -> None:
        check_base_url(base_url)
        if timeout_s <= 0 or max_retries < 0 or backoff_s < 0:
            raise ValueError("timeout_s > 0, max_retries >= 0 and backoff_s >= 0 required")
        self.url = chat_url(base_url)
        """Where requests go."""
        self.public_url = public_url(self.url)
        """The URL as error text shows it (no credentials, query or fragment)."""
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self._key = read_key(api_key_env)
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the key
        return f"Transport({self.public_url!r}, max_retries={self.max_retries})"

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Content-Type, ``extra``, and the Authorization header when a key is configured."""
        h = {"Content-Type": "application/json", **(extra or {})}
        if self._key:
            h["Authorization"] = f"Bearer {self._key}"
        return h

    def redact(self, text: str) -> str:
        """``text`` with the API key replaced by ``***``."""
        return text.replace(self._key, "***") if self._key else text

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry ``attempt + 1``: the server's Retry-After (seconds form)
        or ``backoff_s * 2**attempt`` with up to 25% jitter, capped at :data:`MAX_DELAY_S`."""
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), MAX_DELAY_S)
            except ValueError:
                pass
        with self._rng_lock:
            jitter = 1.0 + 0.25 * self._rng.random()
        return min(self.backoff_s * (2**attempt), MAX_DELAY_S) * jitter

    def post(self, raw: bytes, headers: Mapping[str, str]) -> tuple[int, str, bytes, str | None]:
        """One HTTP attempt: (status, reason, body, Retry-After). Network failures raise."""
        import urllib.error
        import urllib.request

        req = urllib.request.Request(self.url, data=raw, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return int(resp.status), str(resp.reason or ""), resp.read(), None
        except urllib.error.HTTPError as e:
            with e:  # the error body is never read: it may echo the request headers
                return int(e.code), str(e.reason or ""), b"", e.headers.get("Retry-After")

    def send(self, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> ChatResult:
        """POST ``body``; retry until a well-formed reply or the retry budget ends.

        Never raises for transport failures: they come back as :attr:`ChatResult.error`.
        """
        import http.client

        raw = json.dumps(body).encode("utf-8")
        hdrs = self.headers(headers)
        t_start = time.perf_counter()
        last = "no attempt made"
        attempt = 0
        for attempt in range(self.max_retries + 1):
            retry_after: str | None = None
            t0 = time.perf_counter()
            try:
                status, reason, reply, retry_after = self.post(raw, hdrs)
            except TimeoutError:
                last = f"timed out after {self.timeout_s:g} s"
            except (OSError, http.client.HTTPException) as e:
                cause = getattr(e, "reason", None)
                if isinstance(cause, TimeoutError):
                    last = f"timed out after {self.timeout_s:g} s"
                else:
                    last = f"unreachable (connection error {type(e).__name__}: {e})"
            else:
                if status == 200:
                    text, usage, problem = parse_reply(reply)
                    if problem is None:
                        now = time.perf_counter()
                        return ChatResult(text=text, usage=usage, attempts=attempt + 1,
                                          latency_s=round(now - t0, 4),
                                          total_s=round(now - t_start, 4))  # fmt: skip
                    last = f"malformed reply ({problem})"
                else:
                    phrase = " ".join(reason.split())[:80]
                    last = f"HTTP {status} {phrase}".rstrip()
                    if status not in RETRY_STATUS:
                        break
            if attempt < self.max_retries:
                time.sleep(self.delay(attempt, retry_after))
        n = attempt + 1
        msg = f"{self.public_url}: {last} (after {n} attempt{'s' if n > 1 else ''})"
        return ChatResult(text="", error=self.redact(msg), attempts=n,
                          total_s=round(time.perf_counter() - t_start, 4))  # fmt: skip
