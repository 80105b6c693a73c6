"""Text-only causal-LM inputs: the model sees the subtitles (when presented) and the question.

Subtitles reach the model through the shared prompt (``maple_bench.prompts``: a
``Subtitles: ...`` block). Frames or audio in the ModelInput are refused with
``UnsupportedStreamError``, never dropped: a text-only model cannot take them, and a silent drop
would score a V/A presentation as if it were S-only. Use the ``drop`` masking policy and S-only
presentations for such models (``blank`` delivers black frames / silence, which are streams too).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from maple_bench.models.inputs.common import InputBuilder, check_streams, default_prompt

__all__ = ["TextInputBuilder"]


class TextInputBuilder(InputBuilder):
    """Chat-templated (when the tokenizer has a template) or plain prompt -> token ids."""

    accepted_streams = frozenset({"S"})

    def __init__(
        self,
        source: str | os.PathLike[str] | Any,
        *,
        system_prompt: str | None = None,
        use_chat_template: bool | None = None,
        name: str = "text-only causal LM",
    ) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = (
            AutoTokenizer.from_pretrained(source)
            if isinstance(source, (str, os.PathLike))
            else source
        )
        if self.tokenizer.pad_token is None and self.tokenizer.eos_token is not None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        has_template = getattr(self.tokenizer, "chat_template", None) is not None
        self.use_chat_template = has_template if use_chat_template is None else use_chat_template
        if self.use_chat_template and not has_template:
            raise ValueError(
                f"{name}: use_chat_template=True but the tokenizer has no chat template"
            )
        self.system_prompt = system_prompt
        self.name = name

    def text(self, model_input: Any, prompt: str | None = None) -> str:
        """The full prompt string the model will see (checks streams first)."""
        check_streams(
            model_input,
            self.accepted_streams,
            self.name,
            hint="Present only S (masking policy 'drop'), or use an omni-modal adapter.",
        )
        prompt = default_prompt(model_input) if prompt is None else prompt
        if not self.use_chat_template:
            return prompt
        messages = []
        if self.system_prompt is not None:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": prompt})
        return str(
            self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        )

    def build_batch(
        self, items: Sequence[tuple[Any, str | None]]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Left-padded ``input_ids`` / ``attention_mask`` for a batch + per-item provenance."""
        texts = [self.text(mi, prompt) for mi, prompt in items]
        # The chat template already wrote any BOS it wants; do not let the tokenizer add another.
        enc = self.tokenizer(
            texts,
            padding=True,
            padding_side="left",
            add_special_tokens=not self.use_chat_template,
            return_tensors="pt",
        )
        inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        prov = self.provenance()
        return inputs, [
            dict(prov, item={"prompt_tokens": int(m.sum())}) for m in enc["attention_mask"]
        ]

    def provenance(self) -> dict[str, Any]:
        """Settings that determine the tensors."""
        return {
            "input_builder": "text",
            "chat_template": self.use_chat_template,
            "system_prompt": self.system_prompt,
            "accepted_streams": sorted(self.accepted_streams),
        }
