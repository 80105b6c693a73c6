"""Decoder backends behind one small interface, chosen by name.

Each backend module exposes ``NAME``, ``version() -> str``, ``read_frames(path, indices) ->
uint8 [T, H, W, 3]`` (frame ``i``: the ``i``-th in presentation order; the indices are chosen
from PyAV's frame table, see :mod:`maple_bench.media.decode`) and ``read_audio(path,
sample_rate, mono, start, end) -> float32 [C, n]``.
Modules are imported lazily, so a missing optional decoder costs nothing until it is asked for.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

__all__ = [
    "BACKENDS",
    "DEFAULT_AUDIO_ORDER",
    "DEFAULT_ORDER",
    "available_backends",
    "backend_info",
    "get_backend",
]

BACKENDS = {
    "decord": "maple_bench.media.backends.decord",
    "pyav": "maple_bench.media.backends.pyav",
    "torchcodec": "maple_bench.media.backends.torchcodec",
}
"""Backend name -> module implementing it."""

DEFAULT_ORDER = ("decord", "pyav")
"""For frames, ``backend=None`` picks the first of these that imports: decord, else PyAV."""

DEFAULT_AUDIO_ORDER = ("pyav", "decord")
"""For audio, ``backend=None`` picks PyAV first. decord 0.6.0's resampling to a new rate shifts
everything after the first audio frame by about 17 samples at 16 kHz (a glitch at the frame
boundary; its native-rate output matches PyAV exactly), and PyAV is faster at it here."""

_INSTALL = {
    "decord": "pip install decord",
    "pyav": "pip install av",
    "torchcodec": "pip install -c constraints.txt torchcodec (needs system FFmpeg: apt-get install ffmpeg)",
}


@cache
def _load(name: str) -> ModuleType | None:
    module = importlib.import_module(BACKENDS[name])
    return module if module.importable() else None


def available_backends() -> list[str]:
    """Names of the backends whose decoder library imports here, in preference order."""
    return [name for name in (*DEFAULT_ORDER, "torchcodec") if _load(name) is not None]


def get_backend(name: str | None = None, kind: str = "frames") -> ModuleType:
    """The backend module called ``name`` (None: the default for ``kind``, ``frames`` or
    ``audio``); a clear error if it is unknown or does not import."""
    if name is None:
        for candidate in DEFAULT_AUDIO_ORDER if kind == "audio" else DEFAULT_ORDER:
            if _load(candidate) is not None:
                return _load(candidate)  # type: ignore[return-value]
        raise RuntimeError("no video decoder imports; install PyAV: pip install av")
    key = name.lower().replace("-", "")
    key = {"av": "pyav"}.get(key, key)
    if key not in BACKENDS:
        raise ValueError(f"unknown media backend {name!r}; choose one of {sorted(BACKENDS)}")
    module = _load(key)
    if module is None:
        raise RuntimeError(
            f"media backend {key!r} is not importable here; install it: {_INSTALL[key]}"
        )
    return module


def backend_info(name: str | None = None, kind: str = "frames") -> dict[str, str]:
    """``{"name", "version"}`` of a backend (None: the default for ``kind``), for provenance."""
    module = get_backend(name, kind)
    return {"name": module.NAME, "version": module.version()}
