"""A text-only causal LM (any ``AutoModelForCausalLM``): it sees the subtitles and the question.

It accepts only S. A task that presents V or A to it is refused before the run starts (the
runner's stream check), so a text model is never scored on a video question as if it had seen
the video. Evaluate it on S presentations (e.g. a QA+ run restricted to S-only data) or use an
omni adapter.
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
)
from maple_bench.modality import S
from maple_bench.schema import option_letter


class CausalLMAdapter(ModelAdapter):
    """``--model causal_lm:PATH`` (chat template used when the tokenizer has one)."""

    name: ClassVar[str] = "causal_lm"
    accepts = S
    scoring_methods = frozenset({"generate", "loglikelihood"})

    def __init__(self, common: dict[str, Any], *, system_prompt: str | None = None,
                 use_chat_template: bool | None = None) -> None:  # fmt: skip
        import torch
        from transformers import AutoModelForCausalLM

        from maple_bench.models.inputs.text import TextInputBuilder

        self.common = common
        self.gen = generation_settings(common)
        self.device = common["device"]
        kw = load_kwargs(common)
        self.model = AutoModelForCausalLM.from_pretrained(common["pretrained"], **kw).to(
            self.device
        )
        self.model.eval()
        self.builder = TextInputBuilder(
            common["pretrained"], system_prompt=system_prompt, use_chat_template=use_chat_template
        )
        self.tokenizer = self.builder.tokenizer
        self._torch = torch

    @classmethod
    def create(cls, kwargs: dict[str, Any], **runtime: Any) -> CausalLMAdapter:
        common = split_common(kwargs, runtime, cls.name)
        extra = pop_args(
            kwargs,
            {"system_prompt": None, "use_chat_template": None},
            cls.name,
            shared=COMMON_ARGS,
        )
        return cls(common, **extra)

    def generate(self, requests: Sequence[Request]) -> list[str]:
        inputs, _ = self.builder.build_batch([(r.input, r.prompt) for r in requests])
        inputs = to_device(inputs, self.device, None)
        seed_batch(requests)
        with self._torch.inference_mode():
            seq = self.model.generate(
                **inputs, **self.gen.kwargs(), pad_token_id=self.tokenizer.pad_token_id
            )
        return decode_new_tokens(self.tokenizer, seq, inputs["input_ids"].shape[1])

    def choice_replies(self, requests: Sequence[Request]) -> list[Reply]:
        """Each option's continuation scored in one left-padded forward pass per request."""
        from evaluators.adapters.loglik import (
            PLAIN_ANSWER_CUE,
            choice_result,
            continuations,
            left_pad,
            split_tokens,
            sum_logprobs,
        )

        chat = bool(self.builder.use_chat_template)
        out = []
        for r in requests:
            context = self.builder.text(r.input, r.prompt) + ("" if chat else PLAIN_ANSWER_CUE)
            conts = continuations(r.sample.options, chat=chat)
            rows, lens = [], []
            for c in conts:
                ctx, cont = split_tokens(self.tokenizer, context, c, add_special=not chat)
                rows.append(ctx + cont)
                lens.append(len(cont))
            ids, mask = left_pad(rows, self.tokenizer.pad_token_id or 0)
            with self._torch.inference_mode():
                logits = self.model(input_ids=ids.to(self.device),
                                    attention_mask=mask.to(self.device)).logits  # fmt: skip
            choice = choice_result(sum_logprobs(logits.cpu(), ids, lens), conts)
            out.append(Reply(text=option_letter(choice["pick"]), choice=choice))
        return out

    def provenance(self) -> dict[str, Any]:
        return model_provenance(self.name, self.common, self.model, self.tokenizer, self.gen,
                                inputs=self.builder.provenance())  # fmt: skip
