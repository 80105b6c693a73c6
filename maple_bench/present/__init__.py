"""Presentations and masking: a sample plus a presentation becomes a model input holding only
the presented streams (``present``), decoded per a ``MediaConfig``."""

from maple_bench.present.config import POLICIES, Delivered, MediaConfig, ModelInput
from maple_bench.present.masking import present

__all__ = ["POLICIES", "Delivered", "MediaConfig", "ModelInput", "present"]
