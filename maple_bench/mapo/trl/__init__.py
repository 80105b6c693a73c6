"""MAPO for TRL users: a drop-in ``GRPOTrainer`` with modality strata (extra ``trl``).

``MapoGRPOConfig`` is TRL's ``GRPOConfig`` plus the MAPO keys; ``MapoGRPOTrainer`` recomputes
advantages per stratum with :mod:`maple_bench.mapo`'s pure functions and forms batches with its
stratified sampler; ``maple_reward`` is the evaluators' scorer as a TRL reward function;
``text_dataset`` renders MAPLE samples as the text prompts ``maple-bench train`` uses.

Covers text policies, and image policies where TRL passes images through; not audio or video
(TRL's loss forward carries no audio or video features): omni models train with
``maple-bench train``.
"""

from __future__ import annotations

from typing import Any

from maple_bench.mapo.trl.reward import (
    REWARD_COLUMNS,
    make_maple_reward,
    maple_reward,
    text_dataset,
)

_LAZY = {
    "MapoGRPOConfig": "maple_bench.mapo.trl.config",
    "grpo_config_from_train_config": "maple_bench.mapo.trl.config",
    "MapoGRPOTrainer": "maple_bench.mapo.trl.trainer",
    "StratifiedRepeatSampler": "maple_bench.mapo.trl.sampler",
}

__all__ = [
    "REWARD_COLUMNS",
    "MapoGRPOConfig",
    "MapoGRPOTrainer",
    "StratifiedRepeatSampler",
    "grpo_config_from_train_config",
    "make_maple_reward",
    "maple_reward",
    "text_dataset",
]


def __getattr__(name: str) -> Any:
    """Import the TRL-dependent parts on first use, with an install hint when TRL is missing."""
    if name not in _LAZY:
        raise AttributeError(f"module 'maple_bench.mapo.trl' has no attribute {name!r}")
    import importlib

    try:
        module = importlib.import_module(_LAZY[name])
    except ModuleNotFoundError as e:
        if e.name is not None and e.name.split(".")[0] == "trl":
            raise ImportError(
                f"maple_bench.mapo.trl.{name} needs TRL: pip install 'maple-bench[trl]' "
                "(with -c constraints.txt to keep the torch pin)"
            ) from e
        raise
    return getattr(module, name)
