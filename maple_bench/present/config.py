"""Records of presentation: how media is decoded (``MediaConfig``) and what a model receives
(``ModelInput`` with its ``Delivered`` counts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from maple_bench.media.spec import Audio, AudioSpec, Frames, VideoSpec
from maple_bench.modality import Tag
from maple_bench.schema import Sample

__all__ = ["POLICIES", "Delivered", "MediaConfig", "ModelInput"]

POLICIES = ("drop", "blank")
"""``drop``: streams not presented are absent (None) and never decoded. ``blank``: they are
replaced by black frames / silence / empty text shaped like the real streams."""


@dataclass(frozen=True)
class Delivered:
    """How much real content reached the model (blanked streams count zero)."""

    frames: int
    """Decoded video frames delivered."""
    audio_seconds: float
    """Seconds of decoded audio delivered."""
    subtitle_chars: int
    """Characters of subtitle text delivered."""


@dataclass(frozen=True)
class MediaConfig:
    """Where media lives and how to decode and mask it."""

    media_root: Path | None = None
    """Root that every media path of a sample resolves inside (None: the current directory)."""
    video: VideoSpec = field(default_factory=VideoSpec)
    """Frame sampling and size."""
    audio: AudioSpec = field(default_factory=AudioSpec)
    """Audio rate, channels and length."""
    policy: str = "drop"
    """``drop`` (default) or ``blank``; see :data:`POLICIES`."""
    backend: str | None = None
    """Decoder backend name (None: decord for frames and PyAV for audio, PyAV if no decord)."""

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown masking policy {self.policy!r}; choose one of {POLICIES}")
        if self.media_root is not None:
            object.__setattr__(self, "media_root", Path(self.media_root))

    def provenance(self) -> dict[str, Any]:
        """JSON-able description of the decoding, for results files."""
        from maple_bench.media.backends import backend_info

        return {
            "video": {**asdict(self.video), "key": self.video.key()},
            "audio": {**asdict(self.audio), "key": self.audio.key()},
            "policy": self.policy,
            "backend": backend_info(self.backend),
            "audio_backend": backend_info(self.backend, kind="audio"),
        }


@dataclass(frozen=True)
class ModelInput:
    """Exactly the streams a model is shown for one sample under one presentation."""

    sample: Sample
    """The benchmark item (question, options, ...)."""
    presentation: Tag
    """The streams presented."""
    policy: str
    """``drop`` or ``blank``."""
    frames: Frames | None
    """Video frames (black under ``blank`` when V is not presented; None under ``drop``)."""
    audio: Audio | None
    """Audio (silence under ``blank`` when A is not presented; None under ``drop``)."""
    subtitles: str | None
    """Subtitle text (``""`` under ``blank`` when S is not presented; None under ``drop``)."""
    use_audio_in_video: bool
    """True only when A is presented, the audio comes from the video file, and frames are
    given: the model may then interleave the two (Qwen-Omni ``use_audio_in_video``)."""
    delivered: Delivered
    """Counts of real content delivered."""
