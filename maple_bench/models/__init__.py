"""Model-side building blocks: tiny test models, input builders and the compact reference policy.

- ``maple_bench.models.tiny``: tiny real checkpoints built offline from configs with a locally
  trained tokenizer (``train_tiny_tokenizer``, ``tiny_causal_lm``, ``tiny_qwen_omni_thinker``).
- ``maple_bench.models.inputs``: turn a presented ``ModelInput`` + prompt into model tensors
  (``qwen_omni``: Qwen2.5-Omni thinker; ``text``: causal LMs; ``chat_mm``: generic
  transformers chat-template multimodal models). Streams go in exactly as presented.
- ``maple_bench.models.compact``: ``CompactOmniConfig`` / ``CompactOmniPolicy`` (a small
  transformers-compatible option scorer for CPU RL experiments) and ``featurize``.

Heavy imports (torch, transformers) happen lazily on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # tiny models
    "train_tiny_tokenizer": "maple_bench.models.tiny",
    "tiny_causal_lm": "maple_bench.models.tiny",
    "tiny_qwen_omni_thinker": "maple_bench.models.tiny",
    "QWEN_OMNI_CHAT_TEMPLATE": "maple_bench.models.tiny",
    # input builders
    "UnsupportedStreamError": "maple_bench.models.inputs.common",
    "presented_streams": "maple_bench.models.inputs.common",
    "QwenOmniInputConfig": "maple_bench.models.inputs.qwen_omni",
    "QwenOmniInputBuilder": "maple_bench.models.inputs.qwen_omni",
    "compare_with_official": "maple_bench.models.inputs.qwen_omni",
    "TextInputBuilder": "maple_bench.models.inputs.text",
    "ChatMMInputBuilder": "maple_bench.models.inputs.chat_mm",
    # compact reference policy
    "CompactOmniConfig": "maple_bench.models.compact",
    "CompactOmniPolicy": "maple_bench.models.compact",
    "featurize": "maple_bench.models.compact",
    "collate_features": "maple_bench.models.compact",
    "choice_text": "maple_bench.models.compact",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'maple_bench.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
