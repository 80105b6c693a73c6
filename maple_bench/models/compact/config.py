"""``CompactOmniConfig``: size and featurization settings of the compact reference omni policy."""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig

__all__ = ["CompactOmniConfig"]


class CompactOmniConfig(PretrainedConfig):
    """Configuration of ``CompactOmniPolicy`` (model_type ``maple_compact_omni``).

    Featurization settings live here too, so a checkpoint always featurizes its inputs the way it
    was trained: ``n_buckets`` (hashed word vocabulary; 0 is padding), ``max_options``,
    ``max_components`` / ``max_component_tokens`` (option text layout), ``max_question_tokens``,
    ``max_subtitle_tokens`` and ``video_frames`` (frames read per clip). ``hidden_size`` is the
    width of every embedding, ``mlp_size`` the hidden width of the stream encoders and fusion MLP.
    """

    model_type = "maple_compact_omni"

    def __init__(
        self,
        hidden_size: int = 32,
        mlp_size: int = 64,
        n_buckets: int = 2048,
        max_options: int = 16,
        max_components: int = 4,
        max_component_tokens: int = 8,
        max_question_tokens: int = 32,
        max_subtitle_tokens: int = 64,
        video_frames: int = 4,
        dropout: float = 0.0,
        initializer_range: float = 0.1,
        **kwargs: Any,
    ) -> None:
        self.hidden_size = hidden_size
        self.mlp_size = mlp_size
        self.n_buckets = n_buckets
        self.max_options = max_options
        self.max_components = max_components
        self.max_component_tokens = max_component_tokens
        self.max_question_tokens = max_question_tokens
        self.max_subtitle_tokens = max_subtitle_tokens
        self.video_frames = video_frames
        self.dropout = dropout
        self.initializer_range = initializer_range
        super().__init__(**kwargs)
