"""The compact reference omni policy for CPU experiments (MAPO on MAPLE-Synth).

``CompactOmniConfig`` / ``CompactOmniPolicy`` are registered with ``AutoConfig`` / ``AutoModel``
under model_type ``maple_compact_omni`` when this package is imported, so
``AutoModel.from_pretrained(dir)`` works after ``import maple_bench.models.compact``.
``featurize(model_input, options)`` reads the presented streams; ``collate_features`` batches.
"""

from __future__ import annotations

import contextlib

from transformers import AutoConfig, AutoModel

from maple_bench.models.compact.config import CompactOmniConfig
from maple_bench.models.compact.features import AUDIO_DIM, VIDEO_DIM, collate_features, featurize
from maple_bench.models.compact.modeling import FEATURE_KEYS, CompactOmniOutput, CompactOmniPolicy

__all__ = [
    "AUDIO_DIM",
    "FEATURE_KEYS",
    "VIDEO_DIM",
    "CompactOmniConfig",
    "CompactOmniOutput",
    "CompactOmniPolicy",
    "choice_text",
    "collate_features",
    "featurize",
]


def choice_text(index: int) -> str:
    """The text a chosen option index becomes for the shared scorer: its letter (``0 -> "A"``)."""
    from maple_bench.schema import option_letter

    return option_letter(int(index))


def _register() -> None:
    # ValueError: already registered (module re-imported)
    with contextlib.suppress(ValueError):
        AutoConfig.register(CompactOmniConfig.model_type, CompactOmniConfig)
    with contextlib.suppress(ValueError):
        AutoModel.register(CompactOmniConfig, CompactOmniPolicy)


_register()
