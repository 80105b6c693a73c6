"""Input builders: a presented ``ModelInput`` + prompt -> model tensors and a provenance dict.

Every builder declares ``accepted_streams`` and raises ``UnsupportedStreamError`` for any other
stream; none drops a stream silently. ``build(model_input, prompt=None)`` returns
``(inputs, provenance)``; ``build_batch([(model_input, prompt), ...])`` left-pads a batch.

- ``qwen_omni.QwenOmniInputBuilder``: Qwen2.5-Omni thinker (official processor or plain torch).
- ``text.TextInputBuilder``: text-only causal LMs (subtitles + question).
- ``chat_mm.ChatMMInputBuilder``: any transformers processor with a chat template.
"""

from maple_bench.models.inputs.common import (
    UnsupportedStreamError,
    check_streams,
    default_prompt,
    presented_streams,
)

__all__ = [
    "UnsupportedStreamError",
    "check_streams",
    "default_prompt",
    "presented_streams",
]
