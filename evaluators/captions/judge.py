"""LLM-judge scoring of captions: a local transformers causal LM or an OpenAI-compatible endpoint.

The judge reads the reference captions and a candidate and answers a score on a 0-10 (or 0-100)
scale; the score is normalised to [0, 1] and written into the sample log's ``judge`` field. Every
verdict records the judge id, the prompt template's hash and the decoding settings, and is cached
in a JSONL file keyed by (judge id, prompt hash, candidate, references). A configured judge that
fails (unreachable, HTTP error, unparseable answer) raises :class:`JudgeError`: there is no
silent fallback to another score. The endpoint judge shares its HTTP client with the
``openai_chat`` adapter (:mod:`evaluators.endpoint`): API keys are read from an environment
variable named in the config and never logged or written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evaluators.endpoint import MissingKeyError, Transport, check_base_url

JUDGE_PROMPT_VERSION = "1"
DEFAULT_TEMPLATE = (
    "You grade a video caption against reference captions written by people.\n"
    "Reference captions:\n{references}\n"
    "Candidate caption:\n{candidate}\n"
    "How well does the candidate describe the same content, without wrong details? "
    "Answer with one integer from 0 (unrelated or wrong) to {scale} (fully correct and complete), "
    "and nothing else.\nScore:"
)
"""Judge prompt (placeholders: references, candidate, scale); its hash is recorded."""


class JudgeError(RuntimeError):
    """The configured judge could not produce a verdict (never replaced by a fallback score)."""


@dataclass(frozen=True)
class JudgeConfig:
    """How to run the judge. ``judge_id`` and ``decoding()`` go into every verdict."""

    backend: str
    """``"local"`` (transformers causal LM) or ``"endpoint"`` (OpenAI-compatible HTTP)."""
    model: str
    """Local checkpoint directory / model id, or the endpoint's model name."""
    base_url: str | None = None
    """Endpoint root, e.g. ``http://127.0.0.1:8000`` or ``.../v1`` (endpoint backend only)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (the key itself is never stored)."""
    scale: int = 10
    """Top of the score scale: 10 or 100."""
    max_new_tokens: int = 8
    """Generation budget of the verdict."""
    temperature: float = 0.0
    """0 = greedy decoding (recommended: verdicts are cached and must be reproducible)."""
    timeout: float = 60.0
    """Seconds per HTTP request."""
    max_retries: int = 3
    """Endpoint retries after the first attempt (429, 5xx, timeouts, malformed replies)."""
    backoff_s: float = 0.5
    """First retry delay; doubles per retry (capped at 60 s), or the server's Retry-After."""
    template: str = DEFAULT_TEMPLATE
    """Prompt template with ``{references}``, ``{candidate}`` and ``{scale}``."""
    trust_remote_code: bool = False
    """Passed to transformers for the local backend (off by default)."""
    revision: str | None = None
    """Model revision for the local backend."""

    def __post_init__(self) -> None:
        if self.backend not in ("local", "endpoint"):
            raise ValueError(f"judge backend must be 'local' or 'endpoint', not {self.backend!r}")
        if self.scale not in (10, 100):
            raise ValueError(f"judge scale must be 10 or 100, not {self.scale!r}")
        if self.backend == "endpoint":
            if not self.base_url:
                raise ValueError(
                    "the endpoint judge needs base_url (e.g. http://127.0.0.1:8000/v1)"
                )
            try:
                check_base_url(self.base_url)
            except ValueError as e:
                raise ValueError(f"the endpoint judge: {e}") from None
        if self.timeout <= 0 or self.max_retries < 0 or self.backoff_s < 0:
            raise ValueError("judge timeout > 0, max_retries >= 0 and backoff_s >= 0 required")
        for key in ("{references}", "{candidate}"):
            if key not in self.template:
                raise ValueError(f"the judge template must contain {key}")

    @property
    def judge_id(self) -> str:
        """Stable identity of the judge (backend, model, endpoint, revision)."""
        if self.backend == "endpoint":
            return f"endpoint:{self.base_url}#{self.model}"
        return f"local:{self.model}" + (f"@{self.revision}" if self.revision else "")

    @property
    def prompt_hash(self) -> str:
        """sha256[:16] of the template and scale (what the verdict depends on besides inputs)."""
        blob = json.dumps([JUDGE_PROMPT_VERSION, self.template, self.scale])
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def decoding(self) -> dict[str, Any]:
        """Decoding settings recorded with every verdict."""
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "do_sample": self.temperature > 0,
        }

    def prompt(self, candidate: str, references: Sequence[str]) -> str:
        """The judge prompt for one caption."""
        refs = "\n".join(f"- {r}" for r in references)
        return (
            self.template.replace("{references}", refs)
            .replace("{candidate}", candidate)
            .replace("{scale}", str(self.scale))
        )


@dataclass(frozen=True)
class Verdict:
    """One judged caption."""

    score: float
    """Score on the judge's scale (0..scale)."""
    normalized: float
    """score / scale, in [0, 1]: what the metrics average."""
    raw: str
    """The judge's raw answer text."""
    judge_id: str
    """``JudgeConfig.judge_id``."""
    prompt_hash: str
    """``JudgeConfig.prompt_hash``."""
    scale: int
    """Top of the scale."""
    decoding: dict[str, Any] = field(default_factory=dict)
    """Decoding settings."""
    cached: bool = False
    """True when served from the verdict cache."""

    def to_log(self) -> dict[str, Any]:
        """The sample log's ``judge`` field."""
        d = asdict(self)
        d.pop("cached")
        return d


_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:/\s*(10|100)\b)?")


def parse_score(text: str, scale: int) -> float:
    """The first number in ``text`` ("7", "Score: 7/10", "85 / 100"), checked to lie in range.

    A "x/10" or "x/100" fraction is rescaled to ``scale``. Raises :class:`JudgeError` otherwise.
    """
    m = _NUMBER.search(text or "")
    if m is None:
        raise JudgeError(f"the judge answered {text!r}: no score found (expected 0-{scale})")
    value = float(m.group(1))
    if m.group(2):
        value = value * scale / int(m.group(2))
    if not 0 <= value <= scale:
        raise JudgeError(f"the judge answered {text!r}: {value} is outside 0-{scale}")
    return value


def cache_key(judge_id: str, prompt_hash: str, candidate: str, references: Sequence[str]) -> str:
    """sha256 of everything a verdict depends on."""
    blob = json.dumps([judge_id, prompt_hash, candidate, list(references)], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class VerdictCache:
    """Append-only JSONL of verdicts: ``{"key": ..., "verdict": {...}}`` per line."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._mem: dict[str, dict[str, Any]] = {}
        from maple_bench.jsonl import JsonlFormatError, iter_jsonl

        try:
            for rec in iter_jsonl(self.path, what="verdict cache", fix="Delete the cache."):
                self._mem[rec["key"]] = rec["verdict"]
        except (JsonlFormatError, KeyError) as e:
            raise JudgeError(f"{self.path}: not a verdict cache ({e}); delete it") from None

    def __len__(self) -> int:
        return len(self._mem)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._mem.get(key)

    def put(self, key: str, verdict: Mapping[str, Any]) -> None:
        self._mem[key] = dict(verdict)
        from maple_bench.jsonl import append_jsonl

        append_jsonl(self.path, {"key": key, "verdict": dict(verdict)})


class Judge:
    """Base judge: subclasses implement :meth:`generate` (prompt -> answer text)."""

    def __init__(self, config: JudgeConfig, cache: VerdictCache | None = None) -> None:
        self.config = config
        self.cache = cache

    def generate(self, prompt: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, candidate: str, references: Sequence[str]) -> Verdict:
        """Judge one caption (served from the cache when the same verdict was made before)."""
        c = self.config
        key = cache_key(c.judge_id, c.prompt_hash, candidate, references)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return Verdict(**hit, cached=True)
        raw = self.generate(c.prompt(candidate, references))
        value = parse_score(raw, c.scale)
        v = Verdict(
            score=value,
            normalized=value / c.scale,
            raw=raw,
            judge_id=c.judge_id,
            prompt_hash=c.prompt_hash,
            scale=c.scale,
            decoding=c.decoding(),
        )
        if self.cache is not None:
            self.cache.put(key, v.to_log())
        return v


class LocalJudge(Judge):
    """A transformers causal LM run locally (chat template applied when the tokenizer has one)."""

    def __init__(self, config: JudgeConfig, cache: VerdictCache | None = None) -> None:
        super().__init__(config, cache)
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:  # pragma: no cover - transformers is a core dependency
            raise JudgeError(f"the local judge needs transformers: {e}") from e
        try:
            kw = {"revision": config.revision, "trust_remote_code": config.trust_remote_code}
            self.tokenizer = AutoTokenizer.from_pretrained(config.model, **kw)
            self.model = AutoModelForCausalLM.from_pretrained(config.model, **kw)
        except Exception as e:
            raise JudgeError(f"cannot load the local judge model {config.model!r}: {e}") from e
        self.model.eval()

    def generate(self, prompt: str) -> str:
        import torch

        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            prompt = str(
                tok.apply_chat_template(
                    [{"role": "user", "content": prompt}],
                    tokenize=False,
                    add_generation_prompt=True,
                )
            )
        enc = tok(prompt, return_tensors="pt")
        c = self.config
        gen_kw: dict[str, Any] = {
            "max_new_tokens": c.max_new_tokens,
            "do_sample": c.temperature > 0,
        }
        if c.temperature > 0:
            gen_kw["temperature"] = c.temperature
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        try:
            with torch.no_grad():
                out = self.model.generate(**enc, pad_token_id=pad, **gen_kw)
        except Exception as e:
            raise JudgeError(f"the local judge {c.judge_id} failed to generate: {e}") from e
        return str(tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True))


class EndpointJudge(Judge):
    """An OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, TGI, llama.cpp, OpenAI).

    Requests go through :class:`evaluators.endpoint.Transport`, the client the ``openai_chat``
    adapter uses: retries with backoff on 429, 5xx, timeouts and malformed replies, and error
    text without the server's body or the key.
    """

    def __init__(self, config: JudgeConfig, cache: VerdictCache | None = None) -> None:
        super().__init__(config, cache)
        self._transport: Transport | None = None

    @property
    def transport(self) -> Transport:
        """The HTTP client, made on first use (the API key is read then)."""
        if self._transport is None:
            c = self.config
            try:
                self._transport = Transport(c.base_url or "", api_key_env=c.api_key_env,
                                            timeout_s=c.timeout, max_retries=c.max_retries,
                                            backoff_s=c.backoff_s)  # fmt: skip
            except (MissingKeyError, ValueError) as e:
                raise JudgeError(f"the judge endpoint: {e}") from None
        return self._transport

    def generate(self, prompt: str) -> str:
        c = self.config
        body = {
            "model": c.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": c.temperature,
            "max_tokens": c.max_new_tokens,
        }
        res = self.transport.send(body)
        if res.error is not None:
            raise JudgeError(f"judge endpoint {res.error}")
        return res.text


def make_judge(config: JudgeConfig, cache: VerdictCache | Path | str | None = None) -> Judge:
    """The judge for ``config`` (``cache`` may be a path to the verdict JSONL)."""
    if cache is not None and not isinstance(cache, VerdictCache):
        cache = VerdictCache(cache)
    return (LocalJudge if config.backend == "local" else EndpointJudge)(config, cache)


def judge_log(rows: pd.DataFrame | Iterable[Mapping[str, Any]], judge: Judge) -> pd.DataFrame:
    """A copy of a caption log with the ``judge`` field filled for every row that ran.

    Rows with an ``error`` keep ``judge = None`` (they count as 0). A judge failure raises
    :class:`JudgeError` naming the row's doc_id.
    """
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    verdicts: list[dict[str, Any] | None] = []
    errors = df["error"] if "error" in df else [None] * len(df)
    for i, (doc, cand, refs, err) in enumerate(
        zip(df["doc_id"], df["raw_output"], df["references"], errors)
    ):
        if err is not None and err == err:
            verdicts.append(None)
            continue
        if not isinstance(refs, (list, tuple)) or not refs:
            raise JudgeError(
                f"row {i + 1} (doc_id {doc!r}): no reference captions to judge against"
            )
        try:
            verdicts.append(judge.score(cand if isinstance(cand, str) else "", list(refs)).to_log())
        except JudgeError as e:
            raise JudgeError(f"row {i + 1} (doc_id {doc!r}): {e}") from e
    df["judge"] = verdicts
    return df
