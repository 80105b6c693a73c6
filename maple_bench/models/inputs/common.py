"""What every input builder shares: which streams a ModelInput carries, stream errors, prompts.

A builder receives a ``maple_bench.present.ModelInput`` (frames / audio / subtitles, each None when
the stream was dropped) and must feed the model exactly those streams. Asking a model for a stream
it cannot take raises ``UnsupportedStreamError``; it is never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "UnsupportedStreamError",
    "presented_streams",
    "check_streams",
    "default_prompt",
    "mono_waveform",
]

_ORDER = ("V", "A", "S")


class UnsupportedStreamError(ValueError):
    """A model was given a stream (V, A or S) it cannot take.

    ``streams`` lists the offending stream letters, ``model`` names the model or builder.
    """

    def __init__(
        self, model: str, streams: Iterable[str], *, sample_id: str | None = None, hint: str = ""
    ):
        self.model = model
        self.streams = tuple(s for s in _ORDER if s in set(streams))
        self.sample_id = sample_id
        where = f" (sample {sample_id!r})" if sample_id else ""
        names = {"V": "video frames (V)", "A": "audio (A)", "S": "subtitles (S)"}
        listed = ", ".join(names[s] for s in self.streams)
        msg = f"{model} cannot take {listed}{where}."
        if hint:
            msg += f" {hint}"
        super().__init__(msg)


def presented_streams(model_input: Any) -> frozenset[str]:
    """The stream letters a ModelInput actually carries (data present, blank or not).

    Under the ``drop`` policy absent streams are None; under ``blank`` they are black frames,
    silence or "" and therefore count as delivered, because the model does receive them.
    """
    out = set()
    if getattr(model_input, "frames", None) is not None:
        out.add("V")
    if getattr(model_input, "audio", None) is not None:
        out.add("A")
    if getattr(model_input, "subtitles", None) is not None:
        out.add("S")
    return frozenset(out)


def _sample_id(model_input: Any) -> str | None:
    sample = getattr(model_input, "sample", None)
    return getattr(sample, "id", None)


def check_streams(model_input: Any, accepted: Iterable[str], model: str, *, hint: str = "") -> None:
    """Raise ``UnsupportedStreamError`` when ``model_input`` carries a stream not in ``accepted``."""
    extra = presented_streams(model_input) - set(accepted)
    if extra:
        raise UnsupportedStreamError(model, extra, sample_id=_sample_id(model_input), hint=hint)


def default_prompt(model_input: Any) -> str:
    """The shared prompt (``maple_bench.prompts.prompt_for``) with the presented subtitles, if any."""
    from maple_bench.prompts import prompt_for

    return prompt_for(model_input.sample, getattr(model_input, "subtitles", None))


def mono_waveform(audio: Any, *, sample_rate: int, model: str) -> np.ndarray:
    """A float32 mono waveform at ``sample_rate`` from a ``maple_bench.media.Audio``.

    Multi-channel audio is averaged to mono (what the Whisper front-ends expect). A different
    sample rate is an error rather than a silent resample: set ``AudioSpec(sample_rate=...)``.
    """
    if int(audio.sample_rate) != int(sample_rate):
        raise ValueError(
            f"{model} expects {sample_rate} Hz audio but got {audio.sample_rate} Hz; decode with "
            f"AudioSpec(sample_rate={sample_rate}) in the MediaConfig."
        )
    data = np.asarray(audio.data, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=0)
    if data.ndim != 1:
        raise ValueError(f"{model}: audio must be [n] or [channels, n], got shape {data.shape}")
    return np.ascontiguousarray(data)


class InputBuilder:
    """What every input builder offers: ``build_batch`` (left-padded tensors for several
    ``(model_input, prompt)`` pairs plus per-item provenance) and ``build`` for one item."""

    def build_batch(
        self, items: Sequence[tuple[Any, str | None]]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        raise NotImplementedError

    def build(
        self, model_input: Any, prompt: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(inputs, provenance) for one ModelInput."""
        inputs, provs = self.build_batch([(model_input, prompt)])
        return inputs, provs[0]
