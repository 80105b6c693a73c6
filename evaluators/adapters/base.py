"""The model adapter protocol: what the runner asks of a model, and nothing more.

An adapter turns a batch of :class:`Request` (a presented :class:`~maple_bench.present.ModelInput`
plus its prompt text) into one reply string per request. It declares the streams it can take
(``accepts``); the runner checks that BEFORE any work and refuses to run a task that would present
a stream the model cannot take, instead of silently dropping it (lmms-eval's most common silent
failure). It also reports its provenance so results can be reproduced.
"""

from __future__ import annotations

import abc
import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from maple_bench.modality import BLIND, VAS, Tag


class UnsupportedStreamError(ValueError):
    """The task presents a stream the adapter cannot take (V, A or S)."""


class AdapterArgumentError(TypeError):
    """Unknown or invalid ``--model-args`` for an adapter."""


@dataclass(frozen=True)
class Request:
    """One generation request."""

    input: Any
    """The presented sample (:class:`maple_bench.present.ModelInput`)."""
    prompt: str
    """User-turn text from :mod:`maple_bench.prompts` (subtitles inside when S is presented)."""
    draw: int
    """Which of the k draws this is (0-based)."""
    seed: int
    """Per-(item, draw) seed: independent of batching, sharding and process count."""
    prepared: Any = None
    """What the adapter's :meth:`ModelAdapter.preparer` computed for this item in a worker."""
    item: Any = None
    """The :class:`~maple_bench.schema.Sample` (the runner sets it: ``input`` may be dropped in
    the workers when the adapter does not keep decoded inputs)."""

    @property
    def sample(self) -> Any:
        return self.item if self.item is not None else self.input.sample


@dataclass(frozen=True)
class Reply:
    """One reply with what it cost (served models) or why it failed (one item, not the run)."""

    text: str
    """The model's reply ("" when it failed)."""
    usage: dict[str, Any] | None = None
    """Token usage and latency (``prompt_tokens``, ``completion_tokens``, ``latency_s``,
    ``attempts``), logged per item; None for local models."""
    error: str | None = None
    """Why no reply came back (after retries); the item is logged as failed."""
    error_type: str | None = None
    """Class name of the failure."""
    choice: dict[str, Any] | None = None
    """Log-likelihood scoring: per-option log-likelihoods, continuation bytes and the ``acc`` /
    ``acc_norm`` picks (:mod:`evaluators.adapters.loglik`); None when generating."""


class ModelAdapter(abc.ABC):
    """Base class of every adapter. Subclasses set ``name``, ``accepts`` and ``generate``."""

    name: ClassVar[str] = ""
    accepts: Tag = VAS
    """Streams this adapter can take; instances may narrow it (e.g. a checkpoint without audio)."""
    task_kinds: ClassVar[frozenset[str]] = frozenset({"qa", "caption"})
    """Sample kinds the adapter can answer."""

    scoring_methods: ClassVar[frozenset[str]] = frozenset({"generate"})
    """``generate`` (reply text, parsed) and, for local models that expose logits,
    ``loglikelihood`` (:meth:`choice_replies`)."""

    keep_inputs: ClassVar[bool] = True
    """Whether ``generate`` needs the decoded ModelInput in the main process. Adapters whose
    preparer already extracted everything set False, so frames and audio never cross the
    worker-to-main pipe."""

    def preparer(self) -> Callable[[Any, str], Any] | None:
        """CPU-side per-item work to run in the DataLoader workers, next to decoding.

        Returns a picklable callable ``(model_input, prompt) -> prepared`` (feature extraction,
        tokenisation, perception) or None. Its result reaches :meth:`generate` as
        ``Request.prepared``; it runs once per item, shared by the item's k draws, and must not
        touch the accelerator. This is how model-independent work leaves the GPU's critical path.
        """
        return None

    @classmethod
    def create(cls, kwargs: dict[str, Any], **runtime: Any) -> ModelAdapter:
        """Build from ``--model-args`` (``kwargs``) and runtime facts: ``device``, ``dtype``,
        ``seed``, ``media_config``. Subclasses take the runtime facts they need."""
        return cls(**kwargs)

    @abc.abstractmethod
    def generate(self, requests: Sequence[Request]) -> list[str]:
        """One reply per request, in order."""

    def replies(self, requests: Sequence[Request]) -> list[Reply]:
        """:meth:`generate` with per-item usage and failures (what the runner calls). Adapters
        that talk to a server override it; local models keep this default."""
        return [Reply(text=t) for t in self.generate(requests)]

    def choice_replies(self, requests: Sequence[Request]) -> list[Reply]:
        """Log-likelihood choice scoring: one :class:`Reply` per request whose text is the letter
        of the most likely option and whose ``choice`` holds the scores. Adapters that list
        ``loglikelihood`` in ``scoring_methods`` implement it."""
        raise NotImplementedError(f"adapter {self.name!r} has no log-likelihood scoring")

    def provenance(self) -> dict[str, Any]:
        """Model id / revision / dtype / adapter / chat template hash, for the results file."""
        return {"adapter": self.name, "id": self.name, "revision": None, "dtype": None,
                "chat_template_hash": None}  # fmt: skip

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (GPU memory) at the end of a run."""


def check_streams(
    adapter: ModelAdapter | type[ModelAdapter], presentations: Sequence[Tag], *, policy: str
) -> Tag:
    """The streams the model will receive; raises if any is outside ``adapter.accepts``.

    With the ``drop`` policy the model receives exactly the presented streams. With ``blank`` it
    receives every stream (absent ones blanked), so the adapter must accept all three.
    """
    needed = BLIND
    for p in presentations:
        needed = needed | p
    if policy == "blank" and presentations:
        needed = VAS
    missing = needed - adapter.accepts
    if not missing.is_blind:
        raise UnsupportedStreamError(
            f"adapter {adapter.name!r} accepts {adapter.accepts.name or 'no streams'} but this run "
            f"would give it {missing.long_name} ({missing.name}) "
            f"({'blank masking delivers every stream' if policy == 'blank' else 'presented by the task'}). "
            f"Evaluate a model that takes these streams, or keep only items it can take "
            f"(--presentations {adapter.accepts.name or 'none'}, with --masking drop); "
            f"maple-bench never drops a stream silently."
        )
    return needed


def check_task_kind(adapter: ModelAdapter | type[ModelAdapter], kind: str) -> None:
    """Refuse a task whose items the adapter (class or instance) cannot answer."""
    if kind not in adapter.task_kinds:
        raise UnsupportedStreamError(
            f"adapter {adapter.name!r} answers {sorted(adapter.task_kinds)} items, not {kind!r}"
        )


def pop_args(
    kwargs: dict[str, Any],
    allowed: Mapping[str, Any],
    adapter: str,
    *,
    shared: Iterable[str] = (),
) -> dict[str, Any]:
    """Defaults overridden by ``kwargs``; unknown keys raise listing every valid one.

    ``shared`` names the keys an earlier step already took (the transformers adapters' common
    args), so the message lists the adapter's whole vocabulary, not just its own extras, and
    suggests the closest key to a typo.
    """
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        valid = sorted(set(allowed) | set(shared))
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            if close:
                hints.append(f"{key!r} -> did you mean {close[0]!r}?")
        raise AdapterArgumentError(
            f"adapter {adapter!r}: unknown --model-args {unknown}. "
            + (" ".join(hints) + " " if hints else "")
            + f"Valid keys: {', '.join(valid)}"
        )
    return {k: kwargs.get(k, v) for k, v in allowed.items()}


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def check_pretrained(pretrained: str, adapter: str) -> None:
    """Fail early, in one line, when ``pretrained`` names a local folder that does not exist.

    Without this, transformers treats a missing folder as a Hub repo id and fails pages later
    about repo-id syntax or the network. A string shaped like ``org/name`` that is not a local
    path is left to the Hub.
    """
    path = Path(pretrained).expanduser()
    if path.exists():
        if not path.is_dir():
            raise AdapterArgumentError(
                f"adapter {adapter!r}: checkpoint {pretrained} is a file; pass the folder that "
                f"holds config.json (a save_pretrained folder)"
            )
        return
    looks_local = pretrained.startswith(("/", ".", "~")) or not _HUB_ID.match(pretrained)
    if looks_local:
        parent = path.parent
        hint = f"; {parent} exists" if parent.is_dir() else f"; {parent} does not exist either"
        raise AdapterArgumentError(
            f"adapter {adapter!r}: checkpoint folder {pretrained} does not exist{hint}. Pass an "
            f"existing save_pretrained folder (--model {adapter}:DIR) or a Hub id like ORG/NAME"
        )


def text_hash(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
