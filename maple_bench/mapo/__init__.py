"""MAPO: modality-aware policy optimisation (ARCHITECTURE.md section 4).

Pure maths (advantages, loss, filtering, curriculum, weights, kl) is separate from the loop
(:mod:`.trainer`); policies implement :class:`.policy.Policy`; :mod:`.config` holds the presets.
Heavy modules import lazily: ``from maple_bench.mapo.trainer import MapoTrainer``.
"""

from maple_bench.mapo.config import PRESETS, TrainConfig, load_config

__all__ = ["PRESETS", "TrainConfig", "load_config"]
