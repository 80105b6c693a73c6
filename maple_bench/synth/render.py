"""Turn a clip's attributes into pixels, samples and subtitle cues (pure numpy, no I/O).

Geometry is chosen so every attribute survives h264/aac at small sizes: the frame is split into
a 2 x 2 grid of cells, each object is a flat-coloured shape half a cell wide that moves
inside its own cell (objects never touch, so connected components count them); beeps are pure
tones with 10 ms ramps, evenly spread over the clip, over a faint noise floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from maple_bench.synth.attributes import BACKGROUNDS, COLOURS, KINDS, LOUDNESS, PITCHES

MAX_OBJECTS = 4
"""Objects live in the cells of a 2 x 2 grid."""
NOISE_FLOOR = 0.005
"""Standard deviation of the background noise added to the soundtrack (distractor)."""


def sample_attributes(rng: np.random.Generator) -> dict[str, Any]:
    """One value per kind (asked and distractor), as plain Python values."""
    return {name: kind.values[int(rng.integers(len(kind.values)))] for name, kind in KINDS.items()}


@dataclass(frozen=True)
class ObjectPath:
    """Where one object lives and how it moves (rendering detail, recorded in synth.json)."""

    cell: int
    """Cell index 0..3 (row-major in the 2 x 2 grid)."""
    axis: str
    """``x`` or ``y``: the direction it oscillates in."""
    hz: float
    """Oscillation frequency in cycles per second."""
    phase: float
    """Phase in radians."""


def sample_paths(rng: np.random.Generator, count: int) -> list[ObjectPath]:
    """Distinct cells and random motion for ``count`` objects."""
    cells = sorted(int(c) for c in rng.choice(MAX_OBJECTS, size=count, replace=False))
    return [
        ObjectPath(
            cell=c,
            axis="x" if rng.random() < 0.5 else "y",
            hz=round(float(rng.uniform(0.4, 1.0)), 3),
            phase=round(float(rng.uniform(0, 2 * np.pi)), 3),
        )
        for c in cells
    ]


def _shape_mask(
    shape: str, xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, r: float
) -> np.ndarray:
    dx, dy = xx - cx, yy - cy
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        return (np.abs(dx) <= r) & (np.abs(dy) <= r)
    if shape == "triangle":  # apex up, base at cy + r: half-width grows linearly from the apex
        return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2)
    raise ValueError(f"unknown shape {shape!r}")


def render_frames(
    attrs: Mapping[str, Any],
    paths: list[ObjectPath],
    *,
    width: int,
    height: int,
    fps: float,
    seconds: float,
) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` frames showing ``attrs["count"]`` moving shapes."""
    n_frames = max(1, round(seconds * fps))
    cell_w, cell_h = width / 2, height / 2
    diameter = 0.5 * min(cell_w, cell_h)
    r = diameter / 2
    margin = max(1.0, 0.06 * min(cell_w, cell_h))
    amp_x = max(0.0, (cell_w - diameter) / 2 - margin)
    amp_y = max(0.0, (cell_h - diameter) / 2 - margin)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    colour = np.array(COLOURS[attrs["colour"]], dtype=np.uint8)
    frames = np.empty((n_frames, height, width, 3), dtype=np.uint8)
    frames[:] = np.array(BACKGROUNDS[attrs["background"]], dtype=np.uint8)
    for t in range(n_frames):
        time = t / fps
        for p in paths:
            row, col = divmod(p.cell, 2)
            cx, cy = (col + 0.5) * cell_w, (row + 0.5) * cell_h
            offset = np.sin(2 * np.pi * p.hz * time + p.phase)
            if p.axis == "x":
                cx += amp_x * offset
            else:
                cy += amp_y * offset
            frames[t][_shape_mask(attrs["shape"], xx, yy, cx, cy, r)] = colour
    return frames


def beep_windows(count: int, seconds: float) -> list[tuple[float, float]]:
    """(start, end) of each beep: evenly spread, at most 0.3 s, gaps at least as long."""
    duration = min(0.3, 0.45 * seconds / 4)
    slot = seconds / count
    return [
        ((i + 0.5) * slot - duration / 2, (i + 0.5) * slot + duration / 2) for i in range(count)
    ]


def render_audio(
    attrs: Mapping[str, Any], rng: np.random.Generator, *, seconds: float, sample_rate: int
) -> np.ndarray:
    """float32 mono: ``attrs["beeps"]`` tone bursts at ``attrs["pitch"]`` over faint noise."""
    n = round(seconds * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    signal = rng.normal(0.0, NOISE_FLOOR, n)
    freq = PITCHES[attrs["pitch"]]
    amp = LOUDNESS[attrs["loudness"]]
    ramp = 0.01
    for start, end in beep_windows(int(attrs["beeps"]), seconds):
        inside = (t >= start) & (t < end)
        tt = t[inside]
        env = np.minimum(1.0, np.minimum(tt - start, end - tt) / ramp)
        env = 0.5 - 0.5 * np.cos(np.pi * np.clip(env, 0.0, 1.0))
        signal[inside] += amp * env * np.sin(2 * np.pi * freq * (tt - start))
    return np.clip(signal, -1.0, 1.0).astype(np.float32)


SENTENCES: tuple[str, ...] = (
    "Hi, I am {name}.",
    "My favourite fruit is the {fruit}.",
    "My lucky number is {number}.",
    "It is {weather} in {city} today.",
)
"""Subtitle sentences; the last one only carries distractors."""


def subtitle_cues(
    attrs: Mapping[str, Any], order: list[int], *, seconds: float
) -> list[tuple[float, float, str]]:
    """One cue per sentence, in ``order``, each a quarter of the clip long."""
    quarter = seconds / len(SENTENCES)
    return [
        (i * quarter, (i + 1) * quarter - 0.05, SENTENCES[s].format(**attrs))
        for i, s in enumerate(order)
    ]
