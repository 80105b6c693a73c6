"""Generic transformers chat-template multimodal models (omni / audio / video LMs).

The processor (``AutoProcessor``) renders the chat template and turns frames / waveforms / text
into tensors (:class:`maple_bench.models.inputs.chat_mm.ChatMMInputBuilder`). The streams the
adapter accepts are read from the processor: V needs a video processor, A an audio feature
extractor, S is always accepted. So the runner's stream check refuses, before any work, a task that
presents a stream this checkpoint cannot take.

The model class is found with the Auto classes (image/video-text-to-text, then causal LM), or
named with ``model_class=Qwen2AudioForConditionalGeneration`` (a ``transformers`` attribute).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from evaluators.adapters.base import AdapterArgumentError, ModelAdapter, Request, pop_args
from evaluators.adapters.hf import (
    COMMON_ARGS,
    decode_new_tokens,
    generation_settings,
    load_kwargs,
    model_provenance,
    seed_batch,
    split_common,
    to_device,
    torch_dtype,
)
from maple_bench.modality import VAS, Tag, parse_tag

AUTO_CLASSES = ("AutoModelForImageTextToText", "AutoModelForCausalLM")


def load_model(pretrained: str, model_class: str | None, kwargs: dict[str, Any]) -> Any:
    import transformers

    names = [model_class] if model_class else list(AUTO_CLASSES)
    errors = []
    for name in names:
        cls = getattr(transformers, name, None)
        if cls is None:
            raise AdapterArgumentError(f"chat_mm: transformers has no class {name!r}")
        try:
            return cls.from_pretrained(pretrained, **kwargs)
        except (ValueError, KeyError) as e:  # this Auto class does not map the config
            errors.append(f"{name}: {str(e).splitlines()[0]}")
    raise AdapterArgumentError(
        f"chat_mm: no transformers class loads {pretrained!r} ({'; '.join(errors)}); "
        f"name one with --model-args model_class=<transformers class>"
    )


class ChatMMAdapter(ModelAdapter):
    """``--model chat_mm:PATH [--model-args model_class=...,streams=VA]``."""

    name: ClassVar[str] = "chat_mm"
    accepts: Tag = VAS  # class-level upper bound; the instance narrows it to its processor's

    def __init__(self, common: dict[str, Any], *, model_class: str | None = None,
                 system_prompt: str | None = None, streams: str | None = None) -> None:  # fmt: skip
        import torch

        from maple_bench.models.inputs.chat_mm import ChatMMInputBuilder

        self.common = common
        self.gen = generation_settings(common)
        self.device = common["device"]
        self.dtype = torch_dtype(common["dtype"])
        self.builder = ChatMMInputBuilder(
            common["pretrained"], system_prompt=system_prompt,
            trust_remote_code=bool(common["trust_remote_code"]),
        )  # fmt: skip
        taken = parse_tag(sorted(self.builder.accepted_streams))
        if streams is not None:  # a user may narrow (never widen) what the checkpoint takes
            asked = parse_tag(streams)
            if not asked <= taken:
                raise AdapterArgumentError(
                    f"chat_mm: streams={streams} but the processor of {common['pretrained']} only "
                    f"takes {taken.name}"
                )
            taken = asked
        self.accepts = taken
        self.model_class = model_class
        self.model = load_model(common["pretrained"], model_class, load_kwargs(common)).to(
            self.device
        )
        self.model.eval()
        proc = self.builder.processor
        self.tokenizer = getattr(proc, "tokenizer", proc)
        self._torch = torch

    @classmethod
    def create(cls, kwargs: dict[str, Any], **runtime: Any) -> ChatMMAdapter:
        common = split_common(kwargs, runtime, cls.name)
        extra = pop_args(kwargs, {"model_class": None, "system_prompt": None, "streams": None},
                         cls.name, shared=COMMON_ARGS)  # fmt: skip
        return cls(common, **extra)

    def generate(self, requests: Sequence[Request]) -> list[str]:
        out: list[str] = [""] * len(requests)
        groups: dict[bool, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(bool(getattr(r.input, "use_audio_in_video", False)), []).append(i)
        for idx in groups.values():
            batch = [requests[i] for i in idx]
            inputs, _ = self.builder.build_batch([(r.input, r.prompt) for r in batch])
            inputs = to_device(inputs, self.device, self.dtype)
            seed_batch(batch)
            pad = getattr(self.tokenizer, "pad_token_id", None)
            with self._torch.inference_mode():
                seq = self.model.generate(**inputs, **self.gen.kwargs(), pad_token_id=pad)
            texts = decode_new_tokens(self.tokenizer, seq, inputs["input_ids"].shape[1])
            for i, t in zip(idx, texts):
                out[i] = t
        return out

    def provenance(self) -> dict[str, Any]:
        return model_provenance(self.name, self.common, self.model, self.tokenizer, self.gen,
                                inputs=self.builder.provenance(), accepts=self.accepts.name,
                                model_class=self.model_class or type(self.model).__name__)  # fmt: skip
