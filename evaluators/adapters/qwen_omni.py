"""Qwen2.5-Omni through transformers: the thinker generates text from frames, audio and subtitles.

Inputs come from :class:`maple_bench.models.inputs.qwen_omni.QwenOmniInputBuilder`: the official
``Qwen2_5OmniProcessor`` where it can be built (GPU installs with torchvision), else its documented
plain-torch equivalent. Streams go in exactly as presented. ``use_audio_in_video`` is taken from
the presentation (True only when A is presented and the audio comes from the video file), and a
batch never mixes the two settings, because the thinker takes one flag per forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from evaluators.adapters.base import ModelAdapter, Reply, Request, pop_args
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
from maple_bench.modality import VAS
from maple_bench.schema import option_letter

_PER_ITEM_KEYS = ("input_ids", "attention_mask", "use_audio_in_video")


class _BuildInputs:
    """Picklable preparer: one item's thinker inputs (CPU tensors), built in a worker."""

    def __init__(self, builder: Any) -> None:
        self.builder = builder

    def __call__(self, model_input: Any, prompt: str) -> dict[str, Any]:
        inputs, _ = self.builder.build(model_input, prompt)
        return inputs


def collate_items(items: Sequence[dict[str, Any]], pad_token_id: int) -> dict[str, Any]:
    """Left-pad per-item ``input_ids`` / ``attention_mask`` and concatenate the media tensors."""
    import torch

    flags = {bool(x["use_audio_in_video"]) for x in items}
    if len(flags) != 1:
        raise ValueError("collate_items: a batch mixes use_audio_in_video True and False")
    length = max(int(x["input_ids"].shape[-1]) for x in items)
    ids = torch.full((len(items), length), int(pad_token_id), dtype=items[0]["input_ids"].dtype)
    mask = torch.zeros((len(items), length), dtype=items[0]["attention_mask"].dtype)
    for i, x in enumerate(items):
        n = int(x["input_ids"].shape[-1])
        ids[i, length - n :] = x["input_ids"].reshape(-1)
        mask[i, length - n :] = x["attention_mask"].reshape(-1)
    out: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
    keys = [k for k in items[0] if k not in _PER_ITEM_KEYS]
    for x in items[1:]:
        keys += [k for k in x if k not in _PER_ITEM_KEYS and k not in keys]
    for key in keys:
        chunks = [x[key] for x in items if key in x]
        out[key] = torch.cat(chunks, dim=0)
    out["use_audio_in_video"] = flags.pop()
    return out


class QwenOmniAdapter(ModelAdapter):
    """``--model qwen2_5_omni:Qwen/Qwen2.5-Omni-3B`` (or a local thinker checkpoint)."""

    name: ClassVar[str] = "qwen2_5_omni"
    accepts = VAS
    scoring_methods = frozenset({"generate", "loglikelihood"})
    keep_inputs = False  # the workers send built tensors, not decoded frames

    def __init__(self, common: dict[str, Any], *, input_path: str = "auto",
                 system_prompt: str | None = None) -> None:  # fmt: skip
        import torch
        from transformers import Qwen2_5OmniThinkerForConditionalGeneration

        from maple_bench.models.inputs.qwen_omni import QwenOmniInputBuilder, QwenOmniInputConfig

        self.common = common
        self.gen = generation_settings(common)
        self.device = common["device"]
        self.dtype = torch_dtype(common["dtype"])
        self.model = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(
            common["pretrained"], **load_kwargs(common)
        ).to(self.device)
        self.model.eval()
        # Tokenizer, chat template and feature extractor from the model's own files (same revision).
        self.builder = QwenOmniInputBuilder(
            common["pretrained"],
            QwenOmniInputConfig(path=input_path, system_prompt=system_prompt),
            revision=common.get("revision"),
        )
        self.tokenizer = self.builder.tokenizer
        self._torch = torch

    @classmethod
    def create(cls, kwargs: dict[str, Any], **runtime: Any) -> QwenOmniAdapter:
        common = split_common(kwargs, runtime, cls.name)
        extra = pop_args(
            kwargs, {"input_path": "auto", "system_prompt": None}, cls.name, shared=COMMON_ARGS
        )
        return cls(common, **extra)

    def preparer(self) -> _BuildInputs:
        return _BuildInputs(self.builder)

    def _flag(self, r: Request) -> bool:
        if r.prepared is not None:
            return bool(r.prepared["use_audio_in_video"])
        return bool(self.builder.batch_key(r.input))

    def generate(self, requests: Sequence[Request]) -> list[str]:
        out: list[str | None] = [None] * len(requests)
        # One forward pass per use_audio_in_video setting (the thinker takes a single flag).
        groups: dict[bool, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(self._flag(r), []).append(i)
        for idx in groups.values():
            batch = [requests[i] for i in idx]
            if all(r.prepared is not None for r in batch):
                inputs = collate_items([r.prepared for r in batch], self.tokenizer.pad_token_id)
            else:  # called outside the runner: build here
                inputs, _ = self.builder.build_batch([(r.input, r.prompt) for r in batch])
            inputs = to_device(inputs, self.device, self.dtype)
            seed_batch(batch)
            with self._torch.inference_mode():
                seq = self.model.generate(
                    **inputs, **self.gen.kwargs(), pad_token_id=self.tokenizer.pad_token_id
                )
            texts = decode_new_tokens(self.tokenizer, seq, inputs["input_ids"].shape[1])
            for i, t in zip(idx, texts):
                out[i] = t
        return [o or "" for o in out]

    def choice_replies(self, requests: Sequence[Request]) -> list[Reply]:
        """Per request: the context (media + chat template) repeated once per option with the
        option's continuation appended, scored in one forward pass of the thinker."""
        import torch

        from evaluators.adapters.loglik import choice_result, continuations, sum_logprobs

        out = []
        for r in requests:
            item = (
                r.prepared if r.prepared is not None else self.builder.build(r.input, r.prompt)[0]
            )
            conts = continuations(r.sample.options, chat=True)
            rows, lens = [], []
            for c in conts:
                cont = self.tokenizer(c, add_special_tokens=False, return_tensors="pt")["input_ids"]
                row = dict(item)
                row["input_ids"] = torch.cat([item["input_ids"].reshape(1, -1), cont], dim=1)
                row["attention_mask"] = torch.ones_like(row["input_ids"])
                rows.append(row)
                lens.append(int(cont.shape[1]))
            inputs = to_device(collate_items(rows, self.tokenizer.pad_token_id), self.device,
                               self.dtype)  # fmt: skip
            with self._torch.inference_mode():
                logits = self.model(**inputs).logits
            choice = choice_result(sum_logprobs(logits.cpu(), inputs["input_ids"].cpu(), lens),
                                   conts)  # fmt: skip
            out.append(Reply(text=option_letter(choice["pick"]), choice=choice))
        return out

    def provenance(self) -> dict[str, Any]:
        return model_provenance(self.name, self.common, self.model, self.tokenizer, self.gen,
                                inputs=self.builder.provenance())  # fmt: skip

    def close(self) -> None:
        del self.model
        if self._torch.cuda.is_available():
            self._torch.cuda.empty_cache()
