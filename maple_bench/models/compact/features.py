"""Featurize a presented ModelInput for the compact omni policy (numpy, a few ms per item).

What the policy perceives, stream by stream (absent streams get a ``*_present`` flag of 0 and
zero features; the model swaps in a learned "absent" embedding):

- V (uint8 frames): up to ``video_frames`` frames; per frame the dominant (median) colour is the
  background and pixels that differ from it by more than ``fg_threshold`` are foreground. Features,
  averaged over frames: a 4x4x4 RGB histogram of foreground pixels (colour), foreground fraction
  per 2x2 and 4x4 cell and the sorted 2x2 fractions (how many things, how big), the overall
  foreground fraction, the background colour, a one-hot count of occupied 2x2 cells (how many
  things) and the mean fill ratio of the foreground inside each occupied cell's bounding box
  (what shape: a square fills it, a circle ~0.79, a triangle ~0.5).
- A (waveform): log-spaced FFT band energies (pitch), a normalised RMS envelope (rhythm), a one-hot
  count of distinct sound events (threshold crossings of the envelope) and the overall level.
- S (text): hashed word ids, plus, for each option component, the fraction of its words that occur
  in the subtitles (lexical match: how a subtitle reader checks "fruit apple" against the text).
- Question and options: hashed word unigrams + bigrams; options are split into components at
  commas ("red shapes, high tone" -> two components) so each component is scored on its own.

Everything is deterministic (``zlib.crc32`` hashing) and needs no tokenizer files.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["VIDEO_DIM", "AUDIO_DIM", "featurize", "collate_features", "words", "hash_ids"]

_WORD = re.compile(r"[a-z]+|\d+")
_COLOUR_BINS = 4
_BANDS = 24
_ENVELOPE = 32
_EVENTS = 7  # one-hot 0..6 sound events
VIDEO_DIM = _COLOUR_BINS**3 + 4 + 16 + 4 + 1 + 3 + 5 + 1
AUDIO_DIM = _BANDS + _ENVELOPE + _EVENTS + 1


def words(text: str | None) -> list[str]:
    """Lower-cased words and numbers."""
    return _WORD.findall(text.lower()) if text else []


def hash_ids(tokens: Sequence[str], n_buckets: int, *, bigrams: bool) -> list[int]:
    """Stable bucket ids in ``1..n_buckets-1`` (0 is padding) for unigrams (+ bigrams)."""
    grams = list(tokens)
    if bigrams:
        grams += [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])]
    return [zlib.crc32(g.encode("utf-8")) % (n_buckets - 1) + 1 for g in grams]


def _pad(ids: list[int], length: int) -> list[int]:
    return (ids + [0] * length)[:length]


def video_features(
    frames: np.ndarray, *, max_frames: int = 4, fg_threshold: int = 60
) -> np.ndarray:
    """``[T, H, W, 3]`` uint8 -> float32 ``[VIDEO_DIM]`` (see the module docstring)."""
    arr = np.asarray(frames)
    t = arr.shape[0]
    idx = np.unique(np.linspace(0, t - 1, num=min(max_frames, t)).round().astype(int))
    feats = []
    for frame in arr[idx]:
        h, w, _ = frame.shape
        px = frame.reshape(-1, 3)
        bg = np.median(px[::7], axis=0)  # a pixel subsample is plenty for the dominant colour
        fg = (
            np.abs(frame.astype(np.int16) - bg.astype(np.int16)).max(axis=2) > fg_threshold
        ).astype(np.float32)
        n_fg = fg.sum()
        if n_fg > 0:
            q = (px[fg.reshape(-1) > 0] // (256 // _COLOUR_BINS)).astype(np.int64)
            codes = q[:, 0] * _COLOUR_BINS**2 + q[:, 1] * _COLOUR_BINS + q[:, 2]
            hist = np.bincount(codes, minlength=_COLOUR_BINS**3).astype(np.float32) / n_fg
        else:
            hist = np.zeros(_COLOUR_BINS**3, np.float32)
        g2 = (
            fg[: h - h % 2, : w - w % 2].reshape(2, h // 2, 2, w // 2).mean(axis=(1, 3)).reshape(-1)
        )
        g4 = (
            fg[: h - h % 4, : w - w % 4].reshape(4, h // 4, 4, w // 4).mean(axis=(1, 3)).reshape(-1)
        )
        occupied, fills = 0, []
        for quad in (
            fg[: h // 2, : w // 2],
            fg[: h // 2, w // 2 :],
            fg[h // 2 :, : w // 2],
            fg[h // 2 :, w // 2 :],
        ):
            area = quad.sum()
            if area >= 4:
                occupied += 1
                ys, xs = np.nonzero(quad)
                fills.append(area / ((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)))
        regions = np.zeros(5, np.float32)
        regions[occupied] = 1.0
        fill = [float(np.mean(fills))] if fills else [0.0]
        feats.append(
            np.concatenate(
                [
                    hist,
                    4 * g2,
                    4 * g4,
                    4 * np.sort(g2)[::-1],
                    [4 * fg.mean()],
                    bg / 255.0,
                    regions,
                    fill,
                ]
            )
        )
    return np.mean(feats, axis=0).astype(np.float32)


def audio_features(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """float32 mono waveform -> float32 ``[AUDIO_DIM]`` (see the module docstring)."""
    x = np.asarray(wave, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    out = np.zeros(AUDIO_DIM, np.float32)
    if x.size < 32:
        return out
    # Welch-style spectrum: mean power of 512-sample frames, summed into log-spaced bands
    win = 512 if x.size >= 512 else x.size
    n_win = x.size // win
    power = (np.abs(np.fft.rfft(x[: n_win * win].reshape(n_win, win), axis=1)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(win, d=1.0 / sample_rate)
    edges = np.geomspace(100.0, min(8000.0, sample_rate / 2), _BANDS + 1)
    which = np.digitize(freqs, edges) - 1
    keep = (which >= 0) & (which < _BANDS)
    band = np.bincount(which[keep], weights=power[keep], minlength=_BANDS)
    total = band.sum()
    if total > 0:
        out[:_BANDS] = np.sqrt(band / total)
    # 10 ms RMS frames -> coarse envelope and event count
    hop = max(1, sample_rate // 100)
    n = x.size // hop
    rms = np.sqrt((x[: n * hop].reshape(n, hop) ** 2).mean(axis=1)) if n else np.zeros(1)
    peak = rms.max()
    if peak > 0:
        env = rms / peak
        bins = np.array_split(env, _ENVELOPE)
        out[_BANDS : _BANDS + _ENVELOPE] = [b.mean() if b.size else 0.0 for b in bins]
        above = env > 0.5
        events = int(above[0]) + int(np.sum(above[1:] & ~above[:-1]))
        out[_BANDS + _ENVELOPE + min(events, _EVENTS - 1)] = 1.0
    out[-1] = np.log10(1e-4 + float(np.sqrt((x**2).mean()))) / 4 + 1
    return out


def featurize(
    model_input: Any,
    prompt_options: Sequence[str] | None = None,
    config: Any | None = None,
    *,
    question: str | None = None,
) -> dict[str, torch.Tensor]:
    """One item's features (unbatched tensors); ``collate_features`` stacks a list of them.

    ``prompt_options``: the option texts to score (default ``model_input.sample.options``);
    ``question``: default ``model_input.sample.question``. ``config`` is a ``CompactOmniConfig``
    (defaults are used when None) so featurization matches the model it feeds.
    """
    from maple_bench.models.compact.config import CompactOmniConfig

    cfg = config or CompactOmniConfig()
    sample: Any = getattr(model_input, "sample", None)
    options = list(prompt_options if prompt_options is not None else sample.options)
    if not options:
        raise ValueError(
            "featurize: the compact policy scores options; this item has none (captioning?)"
        )
    if len(options) > cfg.max_options:
        raise ValueError(
            f"featurize: {len(options)} options > config.max_options={cfg.max_options}"
        )
    q_text = question if question is not None else sample.question
    nb = cfg.n_buckets

    out: dict[str, torch.Tensor] = {}
    frames = getattr(model_input, "frames", None)
    out["video_present"] = torch.tensor(float(frames is not None))
    vid = video_features(frames.data, max_frames=cfg.video_frames) if frames is not None else None
    out["video"] = torch.from_numpy(vid) if vid is not None else torch.zeros(VIDEO_DIM)

    audio = getattr(model_input, "audio", None)
    out["audio_present"] = torch.tensor(float(audio is not None))
    aud = audio_features(audio.data, int(audio.sample_rate)) if audio is not None else None
    out["audio"] = torch.from_numpy(aud) if aud is not None else torch.zeros(AUDIO_DIM)

    subs = getattr(model_input, "subtitles", None)
    out["subtitles_present"] = torch.tensor(float(subs is not None))
    sub_words = words(subs)
    out["subtitle_ids"] = torch.tensor(
        _pad(hash_ids(sub_words, nb, bigrams=False), cfg.max_subtitle_tokens)
    )
    sub_set = set(sub_words)

    out["question_ids"] = torch.tensor(
        _pad(hash_ids(words(q_text), nb, bigrams=True), cfg.max_question_tokens)
    )

    n_opt, n_comp, n_tok = len(options), cfg.max_components, cfg.max_component_tokens
    opt_ids = torch.zeros(n_opt, n_comp, n_tok, dtype=torch.long)
    lex = torch.zeros(n_opt, n_comp)
    for i, text in enumerate(options):
        comps = [c for c in text.split(",") if c.strip()] or [text]
        if len(comps) > n_comp:  # keep the count fixed: fold the tail into the last component
            comps = comps[: n_comp - 1] + [",".join(comps[n_comp - 1 :])]
        for j, comp in enumerate(comps):
            ws = words(comp)
            opt_ids[i, j] = torch.tensor(_pad(hash_ids(ws, nb, bigrams=True), n_tok))
            if ws and sub_set:
                lex[i, j] = sum(w in sub_set for w in ws) / len(ws)
    out["option_ids"] = opt_ids
    out["option_lex"] = lex
    out["option_mask"] = torch.ones(n_opt, dtype=torch.bool)
    return out


def collate_features(items: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack per-item features into a batch, padding the option axis (``option_mask`` False)."""
    if not items:
        raise ValueError("collate_features: empty batch")
    n_opt = max(int(it["option_ids"].shape[0]) for it in items)
    batch: dict[str, torch.Tensor] = {}
    for key in items[0]:
        tensors = [it[key] for it in items]
        if key in ("option_ids", "option_lex", "option_mask"):
            padded = []
            for t in tensors:
                pad = n_opt - t.shape[0]
                if pad:
                    t = torch.cat([t, torch.zeros((pad, *t.shape[1:]), dtype=t.dtype)], dim=0)
                padded.append(t)
            tensors = padded
        batch[key] = torch.stack(tensors, dim=0)
    return batch
