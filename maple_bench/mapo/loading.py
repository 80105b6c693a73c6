"""Build the policy a config names: compact option scorer, causal LM or Qwen2.5-Omni thinker.

Inputs come from :mod:`maple_bench.models.inputs` (the builders the evaluators' adapters use), so
training sees exactly the prompt and tensors evaluation sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from maple_bench.mapo.config import TrainConfig
from maple_bench.mapo.policy import CompactPolicy, GenerativePolicy

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from maple_bench.models.inputs.qwen_omni import QwenOmniInputBuilder
    from maple_bench.models.inputs.text import TextInputBuilder


def policy_streams(cfg: TrainConfig) -> frozenset[str] | None:
    """Streams the configured policy accepts, known before loading any weights (None: all)."""
    if cfg.policy == "causal_lm":
        from maple_bench.models.inputs.text import TextInputBuilder

        return TextInputBuilder.accepted_streams
    if cfg.policy == "qwen_omni_thinker":
        from maple_bench.models.inputs.qwen_omni import QwenOmniInputBuilder

        return QwenOmniInputBuilder.accepted_streams
    return None


def build_policy(cfg: TrainConfig, model_path: str | Path | None, media_config: Any = None) -> Any:
    """A :class:`~maple_bench.mapo.policy.Policy` for ``cfg.policy`` loaded from ``model_path``.

    Weights are loaded in float32 whatever the checkpoint's dtype: they are the optimizer's master
    weights (bf16 / fp16 compute comes from ``mixed_precision``'s autocast)."""
    dtype = torch.float32
    if cfg.policy == "compact":
        from maple_bench.models import compact

        if model_path is None:
            torch.manual_seed(cfg.seed)
            model = compact.CompactOmniPolicy(
                compact.CompactOmniConfig(hidden_size=cfg.compact_hidden)
            )
        else:
            model = compact.CompactOmniPolicy.from_pretrained(model_path)
        model = model.float()
        cconf = model.config

        def featurize(mi: Any) -> dict[str, torch.Tensor]:
            return compact.featurize(mi, None, cconf)

        return CompactPolicy(model, featurize, compact.collate_features)
    if model_path is None:
        raise ValueError(f"policy {cfg.policy!r} needs a checkpoint: set model=PATH")
    lm: PreTrainedModel
    builder: TextInputBuilder | QwenOmniInputBuilder
    if cfg.policy == "causal_lm":
        from transformers import AutoModelForCausalLM

        from maple_bench.models.inputs.text import TextInputBuilder

        lm = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
        builder = TextInputBuilder(str(model_path))
    else:
        from transformers import Qwen2_5OmniThinkerForConditionalGeneration

        from maple_bench.models.inputs.qwen_omni import QwenOmniInputBuilder

        lm = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(model_path, dtype=dtype)
        builder = QwenOmniInputBuilder(str(model_path))

    def build(mi: Any) -> dict[str, Any]:
        inputs, _prov = builder.build(mi)
        return inputs

    policy = GenerativePolicy(lm, builder.tokenizer, build, max_new_tokens=cfg.max_new_tokens)
    policy.accepted_streams = frozenset(builder.accepted_streams)
    return policy
