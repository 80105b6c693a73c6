"""Model adapters and their registry (lazy ``module:attr`` imports: transformers loads on use)."""

from __future__ import annotations

from typing import Any

from evaluators.adapters.base import (
    AdapterArgumentError,
    ModelAdapter,
    Reply,
    Request,
    UnsupportedStreamError,
    check_streams,
)
from evaluators.runner.registry import Registry

ADAPTERS: Registry[type[ModelAdapter]] = Registry("adapter", base=ModelAdapter)
ADAPTERS.register(
    "random",
    "evaluators.adapters.simple:RandomAdapter",
    description="seeded uniform choice among the options (chance baseline)",
)
ADAPTERS.register(
    "solver",
    "evaluators.adapters.simple:SolverAdapter",
    description="synth reference solver: perceives the decoded streams (synth tasks)",
)
ADAPTERS.register(
    "qwen2_5_omni",
    "evaluators.adapters.qwen_omni:QwenOmniAdapter",
    description="Qwen2.5-Omni thinker via transformers (V, A, S; audio-in-video follows the presentation)",
)
ADAPTERS.register(
    "causal_lm",
    "evaluators.adapters.causal_lm:CausalLMAdapter",
    description="text-only causal LM: sees subtitles and the question (S)",
)
ADAPTERS.register(
    "chat_mm",
    "evaluators.adapters.chat_mm:ChatMMAdapter",
    description="generic transformers chat-template multimodal model (streams per checkpoint)",
)
ADAPTERS.register("compact", "evaluators.adapters.compact:CompactAdapter",
                  description="MAPO compact omni policy checkpoints (maple_bench.models.compact)")  # fmt: skip
ADAPTERS.register(
    "openai_chat",
    "evaluators.adapters.openai_chat:OpenAIChatAdapter",
    description="any OpenAI-compatible Chat Completions endpoint (vllm serve, SGLang, hosted APIs)",
)


def build_adapter(name: str, kwargs: dict[str, Any], **runtime: Any) -> ModelAdapter:
    """Instantiate adapter ``name`` with ``--model-args`` and runtime info (device, dtype, seed,
    media_config)."""
    cls = ADAPTERS.get(name)
    return cls.create(dict(kwargs), **runtime)


__all__ = [
    "ADAPTERS",
    "AdapterArgumentError",
    "ModelAdapter",
    "Reply",
    "Request",
    "UnsupportedStreamError",
    "build_adapter",
    "check_streams",
]
