"""Any OpenAI-compatible Chat Completions endpoint: ``vllm serve`` / SGLang, or a hosted API.

Each request carries exactly the presented streams as content parts, in one of two formats
(``--model-args format=...``):

- ``vllm`` (default; the format vLLM documents for Qwen2.5-Omni): V as one ``video_url`` part
  (an h264 mp4 data URL holding exactly the sampled frames, with NO audio track unless the
  presentation puts the soundtrack in the video), A as an ``audio_url`` part (a 16-bit PCM wav data
  URL), then the prompt as a ``text`` part. When A is presented and comes from the video file
  (``ModelInput.use_audio_in_video``), the audio is muxed into the mp4 instead and the request
  sets ``mm_processor_kwargs: {"use_audio_in_video": true}``, as the local thinker does.
- ``openai`` (hosted APIs that take images and ``input_audio`` but no video): V as one
  ``image_url`` part per sampled frame (JPEG data URLs), A as ``input_audio`` (base64 wav), text.

Subtitles are inside the prompt text only when S is presented (:mod:`maple_bench.prompts`). A
stream that is not presented is not sent at all, so masking survives the wire.

Requests of a batch run concurrently (at most ``max_concurrency`` in flight), each with a
timeout, retried with exponential backoff on 429, 5xx, timeouts, connection errors and
malformed replies, by the transport the LLM judge shares (:mod:`evaluators.endpoint`).
Decoding is greedy (``temperature=0``) with the per-(item, draw) seed. The API key is read from
the environment variable named by ``api_key_env`` and is never written to the results, the log
or an error message (which gives the HTTP status and reason, never the server's body). Media
encoding runs in the DataLoader workers.
"""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from evaluators.adapters.base import AdapterArgumentError, ModelAdapter, Reply, Request, pop_args
from evaluators.endpoint import (
    EndpointError,
    MissingKeyError,
    Transport,
    check_base_url,
    public_url,
)
from maple_bench.modality import VAS

FORMATS = ("vllm", "openai")
"""Wire formats: vLLM's Qwen2.5-Omni content parts, or OpenAI-style frames + input_audio."""
_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,),
                                       "str": (str,)}  # fmt: skip
"""Value types each annotation accepts (``type`` is exact: a bool is not an int here)."""


@dataclass(frozen=True)
class EndpointSettings:
    """How requests are sent (everything here except the key is recorded in provenance)."""

    base_url: str
    """Server root, with or without ``/v1`` (``http://127.0.0.1:8000/v1``); see
    :func:`evaluators.endpoint.chat_url`."""
    model: str
    """The served model name sent as ``model``."""
    format: str = "vllm"
    """``vllm`` or ``openai`` (see the module docstring)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (None: no Authorization header)."""
    max_concurrency: int = 8
    """Requests in flight at once."""
    timeout_s: float = 120.0
    """Per-request timeout (seconds)."""
    max_retries: int = 5
    """Retries after the first attempt before the item is logged as failed."""
    backoff_s: float = 1.0
    """First retry delay; doubles per retry (capped at 60 s), or the server's Retry-After."""
    max_tokens: int = 16
    """Reply length cap (an MCQ letter needs few tokens; raise it for captions)."""
    temperature: float = 0.0
    """0 = greedy."""
    send_seed: bool = True
    """Send the per-(item, draw) seed as ``seed`` (servers that reject it: false)."""
    audio_in_video: bool = True
    """vllm format: mux the soundtrack into the mp4 when the presentation takes it from the
    video (Qwen ``use_audio_in_video``); false sends it as a separate audio part."""
    system_prompt: str | None = None
    """Optional system message."""
    jpeg_quality: int = 90
    """openai format: JPEG quality of the frames."""

    def __post_init__(self) -> None:
        for f in fields(self):  # --model-args values arrive as whatever they parse to
            value, kinds = getattr(self, f.name), str(f.type).split(" | ")
            ok = (value is None and "None" in kinds) or any(
                type(value) in _TYPES.get(k, ()) for k in kinds
            )
            if not ok:
                raise AdapterArgumentError(
                    f"openai_chat: {f.name}={value!r} is not {' or '.join(kinds)}"
                )
        if self.format not in FORMATS:
            raise AdapterArgumentError(f"openai_chat: format={self.format!r}; use one of {FORMATS}")
        try:
            check_base_url(self.base_url)
        except ValueError as e:
            raise AdapterArgumentError(f"openai_chat: {e}") from None
        if self.max_concurrency < 1 or self.max_retries < 0 or self.timeout_s <= 0:
            raise AdapterArgumentError(
                "openai_chat: max_concurrency >= 1, max_retries >= 0 and timeout_s > 0 required"
            )
        if not self.model:
            raise AdapterArgumentError(
                "openai_chat needs the served model name: --model openai_chat:MODEL"
            )

    def public(self) -> dict[str, Any]:
        """Settings for provenance: the base URL without credentials, query or fragment."""
        d = asdict(self)
        d["base_url"] = public_url(self.base_url)
        return d


# -- media -> content parts ---------------------------------------------------------------------


def _data_url(mime: str, blob: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(blob).decode('ascii')}"


def encode_wav(audio: Any) -> bytes:
    """Decoded audio (float32 ``[n]`` or ``[C, n]``) as 16-bit PCM wav bytes."""
    import numpy as np
    import soundfile as sf

    data = np.asarray(audio.data, dtype=np.float32)
    buf = io.BytesIO()
    sf.write(buf, data.T if data.ndim == 2 else data, audio.sample_rate, format="WAV",
             subtype="PCM_16")  # fmt: skip
    return buf.getvalue()


def frame_rate(frames: Any) -> float:
    """The rate at which the sampled frames span the clip (so the mp4 lasts as long as it)."""
    ts = frames.timestamps
    n = len(ts)
    if n > 1 and float(ts[-1] - ts[0]) > 0:
        return (n - 1) / float(ts[-1] - ts[0])
    return 1.0


def encode_mp4(frames: Any, audio: Any = None) -> bytes:
    """The sampled frames as an h264 mp4 (audio track only when ``audio`` is given).

    h264 with yuv420p needs even sides: an odd last row/column is cropped (one pixel).
    """
    from maple_bench.media.write import write_video

    data = frames.data
    h, w = data.shape[1] - data.shape[1] % 2, data.shape[2] - data.shape[2] % 2
    data = data[:, :h, :w]
    with tempfile.TemporaryDirectory(prefix="maple_wire_") as tmp:
        path = Path(tmp) / "clip.mp4"
        kw: dict[str, Any] = {}
        if audio is not None:
            kw = {"audio": audio.data, "sample_rate": audio.sample_rate}
        write_video(path, data, frame_rate(frames), **kw)
        return path.read_bytes()


def encode_jpeg(frame: Any, quality: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


_ENCODED: dict[bytes, str] = {}
"""Per-process cache of encoded media data URLs, keyed by a hash of the decoded content: the
presentations of one question share their frames (V, VS) or frames + soundtrack (VA, VAS), so
each distinct clip is encoded once per worker."""


def _cached_url(kind: str, arrays: Sequence[Any], make: Any) -> str:
    import hashlib

    h = hashlib.blake2b(kind.encode(), digest_size=20)
    for a in arrays:
        h.update(str((a.shape, str(a.dtype))).encode())
        h.update(a.tobytes())
    key = h.digest()
    url = _ENCODED.get(key)
    if url is None:
        if len(_ENCODED) >= 64:
            _ENCODED.pop(next(iter(_ENCODED)))
        url = _ENCODED[key] = make()
    return url


def content_parts(model_input: Any, prompt: str, settings: EndpointSettings) -> dict[str, Any]:
    """The user message's content parts (and request extras) for one presented item."""
    parts: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    frames, audio = model_input.frames, model_input.audio
    if settings.format == "vllm":
        if frames is not None:
            mux = audio is not None and model_input.use_audio_in_video and settings.audio_in_video
            arrays = [frames.data, frames.timestamps] + ([audio.data] if mux else [])
            url = _cached_url("mp4", arrays, lambda: _data_url(
                "video/mp4", encode_mp4(frames, audio if mux else None)))  # fmt: skip
            parts.append({"type": "video_url", "video_url": {"url": url}})
            if mux:
                extra["mm_processor_kwargs"] = {"use_audio_in_video": True}
                audio = None
        if audio is not None:
            url = _cached_url(
                "wav", [audio.data], lambda: _data_url("audio/wav", encode_wav(audio))
            )
            parts.append({"type": "audio_url", "audio_url": {"url": url}})
    else:
        if frames is not None:
            for frame in frames.data:
                url = _data_url("image/jpeg", encode_jpeg(frame, settings.jpeg_quality))
                parts.append({"type": "image_url", "image_url": {"url": url}})
        if audio is not None:
            b64 = base64.b64encode(encode_wav(audio)).decode("ascii")
            parts.append({"type": "input_audio", "input_audio": {"data": b64, "format": "wav"}})
    parts.append({"type": "text", "text": prompt})
    return {"content": parts, "extra": extra, "doc_id": model_input.sample.id}


class _BuildParts:
    """Picklable preparer: encodes one item's streams into content parts in a worker."""

    def __init__(self, settings: EndpointSettings) -> None:
        self.settings = settings

    def __call__(self, model_input: Any, prompt: str) -> dict[str, Any]:
        return content_parts(model_input, prompt, self.settings)


# -- the adapter --------------------------------------------------------------------------------


class OpenAIChatAdapter(ModelAdapter):
    """``--model openai_chat:MODEL --model-args base_url=URL[,api_key_env=VAR,...]``."""

    name: ClassVar[str] = "openai_chat"
    accepts = VAS
    keep_inputs = False  # the workers send encoded content parts, not decoded frames

    def __init__(self, settings: EndpointSettings) -> None:
        self.settings = settings
        try:
            self.transport = Transport(settings.base_url, api_key_env=settings.api_key_env,
                                       timeout_s=settings.timeout_s,
                                       max_retries=settings.max_retries,
                                       backoff_s=settings.backoff_s)  # fmt: skip
        except (MissingKeyError, ValueError) as e:
            raise AdapterArgumentError(f"openai_chat: {e}") from None
        self._pool = ThreadPoolExecutor(
            max_workers=settings.max_concurrency, thread_name_prefix="openai_chat"
        )

    @classmethod
    def create(cls, kwargs: dict[str, Any], **runtime: Any) -> OpenAIChatAdapter:
        allowed = {
            f: getattr(EndpointSettings, f, None) for f in EndpointSettings.__dataclass_fields__
        }
        allowed["pretrained"] = None
        args = pop_args(kwargs, allowed, cls.name)
        model = args.pop("model") or args.pop("pretrained")
        args.pop("pretrained", None)
        if args.get("base_url") is None:
            raise AdapterArgumentError(
                "openai_chat needs --model-args base_url=http://HOST:PORT/v1 (the server's "
                "OpenAI-compatible root)"
            )
        return cls(EndpointSettings(model=str(model or ""), **args))

    @property
    def max_in_flight(self) -> int:
        return self.settings.max_concurrency

    def preparer(self) -> _BuildParts:
        return _BuildParts(self.settings)

    # -- requests -------------------------------------------------------------------------------
    def payload(self, request: Request) -> dict[str, Any]:
        """The JSON body for one request (content parts from the worker, or built here)."""
        s = self.settings
        built = request.prepared or content_parts(request.input, request.prompt, s)
        messages: list[dict[str, Any]] = []
        if s.system_prompt:
            messages.append({"role": "system", "content": s.system_prompt})
        messages.append({"role": "user", "content": built["content"]})
        body: dict[str, Any] = {"model": s.model, "messages": messages,
                                "temperature": s.temperature, "top_p": 1.0}  # fmt: skip
        body["max_tokens" if s.format == "vllm" else "max_completion_tokens"] = s.max_tokens
        if s.send_seed:
            body["seed"] = int(request.seed)
        body.update(built["extra"])
        return body

    def _send(self, request: Request) -> Reply:
        """One item through the shared transport (retries, backoff, redaction live there)."""
        doc_id = request.prepared["doc_id"] if request.prepared else request.sample.id
        res = self.transport.send(self.payload(request),
                                  {"X-Request-Id": f"{doc_id}#{request.draw}"})  # fmt: skip
        if res.error is None:
            usage = dict(res.usage, latency_s=res.latency_s, attempts=res.attempts,
                         total_s=res.total_s)  # fmt: skip
            return Reply(text=res.text.strip(), usage=usage)
        return Reply(text="", error=res.error, error_type=EndpointError.__name__,
                     usage={"attempts": res.attempts, "total_s": res.total_s})  # fmt: skip

    def replies(self, requests: Sequence[Request]) -> list[Reply]:
        """Every request of the batch concurrently (bounded by the pool), answers in order."""
        return list(self._pool.map(self._send, requests))

    def generate(self, requests: Sequence[Request]) -> list[str]:
        out = []
        for r in self.replies(requests):
            if r.error is not None:
                raise EndpointError(r.error)
            out.append(r.text)
        return out

    def provenance(self) -> dict[str, Any]:
        s = self.settings.public()
        return {"adapter": self.name, "id": self.settings.model, "revision": None, "dtype": None,
                "chat_template_hash": None, "endpoint": s["base_url"], "format": s["format"],
                "api_key_env": s["api_key_env"],
                "generation": {k: s[k] for k in ("max_tokens", "temperature", "send_seed")},
                "transport": {k: s[k] for k in ("max_concurrency", "timeout_s", "max_retries",
                                                "backoff_s")}}  # fmt: skip

    def close(self) -> None:
        self._pool.shutdown(wait=True)
