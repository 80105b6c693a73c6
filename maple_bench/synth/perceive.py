"""Read synth attributes back out of decoded media: the reference solver's senses.

Each function takes what a model would get (uint8 frames, float32 audio, subtitle text) and
returns ``{kind: value or None}``; None means the stream did not support a confident reading.
Nothing here looks at stored answers or at ``synth.json``: only at pixels, samples and text.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from maple_bench.synth.attributes import (
    BACKGROUNDS,
    CITIES,
    COLOURS,
    FRUITS,
    LOUDNESS,
    NAMES,
    NUMBERS,
    PITCHES,
    WEATHER,
)

FOREGROUND_DIFF = 60
"""A pixel is foreground when some channel differs from the background by more than this."""
_TRIANGLE_TOP = 0.6
"""Area of the top half of a blob over its bottom half: 1/3 for an apex-up triangle, 1 otherwise."""
_SQUARE_FILL = 0.9
"""Fill ratio (area / bounding box) cut between a square (1.0) and a circle (pi / 4 = 0.785)."""


def _components(mask: np.ndarray) -> list[list[tuple[int, int, int]]]:
    """4-connected components of a boolean mask as lists of horizontal runs ``(y, x0, x1)``.

    Runs of each row are merged with the overlapping runs of the row above (union-find), which
    is fast for the few large blobs a synth frame holds.
    """
    edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    sy, sx = np.nonzero(edges == 1)
    _, ex = np.nonzero(edges == -1)
    parent = list(range(len(sy)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    prev: list[int] = []
    cur: list[int] = []
    row = -1
    for i, y in enumerate(sy.tolist()):
        if y != row:
            prev, cur, row = (cur if y == row + 1 else []), [], y
        for j in prev:
            if sx[j] < ex[i] and sx[i] < ex[j]:
                parent[find(i)] = find(j)
        cur.append(i)
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for i in range(len(sy)):
        groups.setdefault(find(i), []).append((int(sy[i]), int(sx[i]), int(ex[i])))
    return list(groups.values())


def _median_colour(pixels: np.ndarray) -> np.ndarray:
    """Per-channel median of ``[n, 3]`` pixels (sort-based: np.median's overhead dominates here)."""
    return np.sort(pixels, axis=0)[len(pixels) // 2].astype(np.float64)


def _nearest(value: np.ndarray, table: dict[str, tuple[int, int, int]]) -> str:
    names = list(table)
    ref = np.array([table[n] for n in names], dtype=np.float64)
    return names[int(np.argmin(((ref - value) ** 2).sum(axis=1)))]


def _mode(values: list[Any]) -> Any:
    if not values:
        return None
    (value, _), *_ = Counter(values).most_common(1)
    return value


def _shape(runs: np.ndarray) -> str:
    """Classify one blob from its runs (``[k, 3]``: y, x0, x1): triangle, square or circle."""
    ys, lengths = runs[:, 0], runs[:, 2] - runs[:, 1]
    top, bottom = int(ys.min()), int(ys.max())
    mid = (top + bottom) / 2
    area = int(lengths.sum())
    upper = float(lengths[ys < mid].sum() + 0.5 * lengths[ys == mid].sum())
    if upper < _TRIANGLE_TOP * (area - upper):
        return "triangle"
    width = int(runs[:, 2].max() - runs[:, 1].min())
    return "square" if area / ((bottom - top + 1) * width) >= _SQUARE_FILL else "circle"


def perceive_frame(frame: np.ndarray) -> dict[str, Any]:
    """Background, object colours, shapes and count in one ``[H, W, 3]`` uint8 frame."""
    bg = _median_colour(frame.reshape(-1, 3))
    diff = np.abs(frame.astype(np.int16) - bg.astype(np.int16)).max(axis=2)
    blobs = [np.array(runs) for runs in _components(diff > FOREGROUND_DIFF)]
    areas = [int((runs[:, 2] - runs[:, 1]).sum()) for runs in blobs]
    keep = [runs for runs, a in zip(blobs, areas) if a >= max(6, 0.2 * max(areas))] if blobs else []
    colours, shapes = [], []
    for runs in keep:
        shapes.append(_shape(runs))
        middle = runs[len(runs) // 4 : max(len(runs) // 4 + 1, 3 * len(runs) // 4)]
        pixels = np.concatenate([frame[y, x0:x1] for y, x0, x1 in middle.tolist()])
        colours.append(_nearest(_median_colour(pixels), COLOURS))
    return {
        "background": _nearest(bg, BACKGROUNDS),
        "count": len(keep),
        "colours": colours,
        "shapes": shapes,
    }


def perceive_video(frames: np.ndarray) -> dict[str, Any]:
    """Majority vote over frames: colour, shape, count and background of a ``[T, H, W, 3]`` clip."""
    per = [perceive_frame(f) for f in np.asarray(frames)]
    counts = [p["count"] for p in per if p["count"] > 0]
    return {
        "colour": _mode([c for p in per for c in p["colours"]]),
        "shape": _mode([s for p in per for s in p["shapes"]]),
        "count": _mode(counts),
        "background": _mode([p["background"] for p in per]),
    }


def _runs(active: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def perceive_audio(samples: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """Beep count (energy envelope), pitch (FFT peak while beeping) and loudness of mono audio."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    hop = max(1, sample_rate // 50)  # 20 ms frames
    n = len(x) // hop
    unknown = {"pitch": None, "beeps": None, "loudness": None}
    if n < 3:
        return unknown
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    if rms.max() < 0.03:  # silence / noise floor only
        return unknown
    active = rms > 0.5 * rms.max()
    runs = [(a, b) for a, b in _runs(active) if b - a >= 2]
    if not runs:
        return unknown
    beeping = np.concatenate([x[a * hop : b * hop] for a, b in runs])
    spectrum = np.abs(np.fft.rfft(beeping * np.hanning(len(beeping))))
    freqs = np.fft.rfftfreq(len(beeping), 1.0 / sample_rate)
    spectrum[freqs < 100] = 0
    peak = float(freqs[int(np.argmax(spectrum))])
    pitch = min(PITCHES, key=lambda p: abs(np.log2(peak / PITCHES[p])))
    level = float(np.median(np.concatenate([rms[a:b] for a, b in runs]))) * np.sqrt(2)
    loud_cut = float(np.sqrt(LOUDNESS["soft"] * LOUDNESS["loud"]))
    return {
        "pitch": pitch,
        "beeps": len(runs),
        "loudness": "loud" if level >= loud_cut else "soft",
    }


def _one(found: list[Any]) -> Any:
    distinct = sorted(set(found), key=found.index)
    return distinct[0] if len(distinct) == 1 else None


def _words(text: str, vocab: tuple[str, ...]) -> list[str]:
    return [v for v in vocab if re.search(rf"\b{re.escape(v)}\b", text)]


def perceive_subtitles(text: str) -> dict[str, Any]:
    """Name, fruit, number, weather and city mentioned in subtitle text (None if not exactly one)."""
    numbers = [int(m) for m in re.findall(r"\b\d+\b", text) if int(m) in NUMBERS]
    return {
        "name": _one(_words(text, NAMES)),
        "fruit": _one(_words(text, FRUITS)),
        "number": _one(numbers),
        "weather": _one(_words(text, WEATHER)),
        "city": _one(_words(text, CITIES)),
    }
