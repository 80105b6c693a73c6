"""Generic transformers chat-template multimodal inputs (AutoProcessor + apply_chat_template).

For omni / audio / video models other than Qwen2.5-Omni, as far as transformers supports them:
the user turn is ``[{"type": "video"}?, {"type": "audio"}?, {"type": "text", ...}]`` rendered by
the processor's chat template, then the processor turns text + decoded frames + waveform into
tensors. Accepted streams are read from the processor's components: V needs a video processor,
A an audio feature extractor; S (text) is always accepted. Anything else raises
``UnsupportedStreamError``. ``use_audio_in_video`` is passed to processors that understand it
(and refused for those that do not, rather than ignored).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from maple_bench.models.inputs.common import (
    InputBuilder,
    check_streams,
    default_prompt,
    mono_waveform,
)

__all__ = ["ChatMMInputBuilder", "processor_streams"]


def processor_streams(processor: Any) -> frozenset[str]:
    """Streams a processor can turn into tensors: S always, V with a video processor, A with audio."""
    streams = {"S"}
    if getattr(processor, "video_processor", None) is not None:
        streams.add("V")
    if (
        getattr(processor, "feature_extractor", None) is not None
        or getattr(processor, "audio_processor", None) is not None
    ):
        streams.add("A")
    return frozenset(streams)


def _understands_audio_in_video(processor: Any) -> bool:
    valid = getattr(processor, "valid_processor_kwargs", None)
    names = set(getattr(valid, "__annotations__", {}) or {})
    if {"load_audio_from_video", "use_audio_in_video"} & names:
        return True
    try:
        params = inspect.signature(processor.__call__).parameters
    except (TypeError, ValueError):
        return False
    return "use_audio_in_video" in params or "load_audio_from_video" in params


class ChatMMInputBuilder(InputBuilder):
    """Builds inputs for any ``AutoProcessor`` with a chat template; see the module docstring."""

    def __init__(
        self,
        source: str | os.PathLike[str] | Any,
        *,
        system_prompt: str | None = None,
        sampling_rate: int | None = None,
        trust_remote_code: bool = False,
        name: str | None = None,
    ) -> None:
        if isinstance(source, (str, os.PathLike)):
            from transformers import AutoProcessor

            self.processor = AutoProcessor.from_pretrained(
                source, trust_remote_code=trust_remote_code
            )
        else:
            self.processor = source
        if getattr(self.processor, "chat_template", None) is None:
            raise ValueError(
                f"{type(self.processor).__name__} has no chat template; the chat_mm builder needs one "
                "(pass a processor whose checkpoint ships chat_template.jinja / chat_template.json)."
            )
        self.accepted_streams = processor_streams(self.processor)
        fe = getattr(self.processor, "feature_extractor", None) or getattr(
            self.processor, "audio_processor", None
        )
        self.sampling_rate = sampling_rate or getattr(fe, "sampling_rate", None) or 16000
        self.system_prompt = system_prompt
        self.audio_in_video = _understands_audio_in_video(self.processor)
        self.name = name or type(self.processor).__name__

    def messages(self, model_input: Any, prompt: str) -> list[dict]:
        """The chat messages, with one content item per presented media stream."""
        content: list[dict] = []
        if model_input.frames is not None:
            content.append({"type": "video"})
        if model_input.audio is not None and not getattr(model_input, "use_audio_in_video", False):
            content.append({"type": "audio"})
        content.append({"type": "text", "text": prompt})
        msgs: list[dict] = []
        if self.system_prompt is not None:
            msgs.append(
                {"role": "system", "content": [{"type": "text", "text": self.system_prompt}]}
            )
        msgs.append({"role": "user", "content": content})
        return msgs

    def _check(self, model_input: Any) -> None:
        check_streams(model_input, self.accepted_streams, self.name)
        if getattr(model_input, "use_audio_in_video", False) and not self.audio_in_video:
            raise ValueError(
                f"{self.name}: the presentation asks for audio interleaved with video "
                "(use_audio_in_video=True) but this processor has no such option; it would be dropped. "
                "Use a model that supports it or present audio from a separate file."
            )

    def build_batch(
        self, items: Sequence[tuple[Any, str | None]]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Processor tensors for a batch (left padding) + per-item provenance."""
        texts, videos, audios = [], [], []
        flags = {bool(getattr(mi, "use_audio_in_video", False)) for mi, _ in items}
        if len(flags) > 1:
            raise ValueError(f"{self.name}: a batch mixes use_audio_in_video True and False")
        for mi, prompt in items:
            self._check(mi)
            prompt = default_prompt(mi) if prompt is None else prompt
            texts.append(
                self.processor.apply_chat_template(
                    self.messages(mi, prompt), tokenize=False, add_generation_prompt=True
                )
            )
            if mi.frames is not None:
                videos.append(np.asarray(mi.frames.data))
            if mi.audio is not None:
                audios.append(
                    mono_waveform(mi.audio, sample_rate=self.sampling_rate, model=self.name)
                )
        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        if videos:
            kwargs["videos"] = videos
        if audios:
            kwargs["audio"] = audios
            kwargs["sampling_rate"] = self.sampling_rate
        uiv = flags.pop()
        if uiv:
            kwargs["load_audio_from_video"] = True
            kwargs["audio_from_video_indices"] = list(range(len(audios)))
        tokenizer = getattr(self.processor, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.padding_side = "left"
        inputs = dict(self.processor(**kwargs))
        if self.audio_in_video:
            inputs["use_audio_in_video"] = uiv
        prov = self.provenance()
        return inputs, [dict(prov) for _ in items]

    def provenance(self) -> dict[str, Any]:
        """Settings that determine the tensors."""
        return {
            "input_builder": "chat_mm",
            "processor": type(self.processor).__name__,
            "accepted_streams": sorted(self.accepted_streams),
            "sampling_rate": self.sampling_rate,
            "system_prompt": self.system_prompt,
        }
