"""maple-bench: modality-aware benchmarking and RL post-training for omni-modal models.

The core package holds what every other part shares: the modality algebra (``modality``), the
sample records (``schema``), media decoding and masking (``media``, ``present``), the scorer
(``scoring``), dataset builders and loaders (``data``), the synthetic benchmark (``synth``),
model input builders (``models``) and the MAPO trainer (``mapo``). It imports nothing from
``evaluators``, ``annotation`` or ``leaderboards``.
"""

__version__ = "0.1.0"
