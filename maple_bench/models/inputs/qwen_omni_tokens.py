"""Placeholder arithmetic of the Qwen2.5-Omni processor, as pure functions.

How many ``<|AUDIO|>`` tokens an audio clip becomes, how ``use_audio_in_video`` interleaves video
and audio placeholders in ``seconds_per_chunk`` time chunks (TMRoPE time ids at
``position_id_per_seconds``), and the frame rate behind ``video_second_per_grid`` (the qwen-omni-utils rule). Each mirrors the
corresponding code in ``transformers.Qwen2_5OmniProcessor`` (tests compare them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "audio_output_length",
    "chunked_index",
    "interleaved_placeholder",
    "FPS_RULE",
    "frames_fps",
    "token_names",
]


def audio_output_length(num_feature_frames: int) -> int:
    """Audio tokens the thinker's audio tower yields for ``num_feature_frames`` mel frames."""
    return ((int(num_feature_frames) - 1) // 2 + 1 - 2) // 2 + 1


def chunked_index(token_indices: np.ndarray, tokens_per_chunk: int) -> list[tuple[int, int]]:
    """(start, end) slices of a monotonic index list split at multiples of ``tokens_per_chunk``."""
    out, start, chunk = [], 0, 1
    for i, value in enumerate(token_indices):
        if value >= chunk * tokens_per_chunk:
            out.append((start, i))
            start = i
            chunk += 1
    out.append((start, len(token_indices)))
    return out


def interleaved_placeholder(
    grid_thw: Sequence[int],
    num_audio_tokens: int,
    *,
    merge_size: int,
    second_per_grid: float,
    position_id_per_seconds: int,
    seconds_per_chunk: float,
    tokens: dict[str, str],
) -> str:
    """``<|audio_bos|>`` + time-chunked VIDEO/AUDIO runs + ``<|audio_eos|>`` (use_audio_in_video)."""
    t, h, w = (int(x) for x in grid_thw)
    per_frame = (h // merge_size) * (w // merge_size)
    video_idx = np.repeat(np.arange(t), per_frame) * second_per_grid * position_id_per_seconds
    audio_idx = np.arange(num_audio_tokens)
    per_chunk = int(position_id_per_seconds * seconds_per_chunk)
    v_chunks, a_chunks = chunked_index(video_idx, per_chunk), chunked_index(audio_idx, per_chunk)
    parts = [tokens["audio_bos_token"]]
    for j in range(max(len(v_chunks), len(a_chunks))):
        if j < len(v_chunks):
            parts.append(tokens["video_token"] * (v_chunks[j][1] - v_chunks[j][0]))
        if j < len(a_chunks):
            parts.append(tokens["audio_token"] * (a_chunks[j][1] - a_chunks[j][0]))
    parts.append(tokens["audio_eos_token"])
    return "".join(parts)


#: The frame-rate rule of qwen-omni-utils / qwen-vl-utils (``sample_fps`` in ``fetch_video``).
FPS_RULE = "nframes / total_frames * video_fps (qwen-omni-utils)"


def frames_fps(frames: Any, fallback: float) -> tuple[float, str]:
    """(sampling rate, rule used) of decoded frames, for ``video_second_per_grid``.

    The official Qwen utilities set ``sample_fps = nframes / total_frames * video_fps``, where
    ``total_frames`` counts the source frames of the sampled window (``Frames.window_frames``).
    Frames without that count (made by hand) fall back to ``1 / median timestamp step``, and
    without timestamps to ``fallback``; the rule used is returned so provenance can say so.
    """
    n = len(np.asarray(getattr(frames, "data", ())))
    window = getattr(frames, "window_frames", None)
    video_fps = getattr(frames, "fps", None)
    if window and video_fps and n:
        return n / max(int(window), 1e-6) * float(video_fps), FPS_RULE
    ts = np.asarray(getattr(frames, "timestamps", ()), dtype=np.float64)
    if ts.size >= 2:
        step = float(np.median(np.diff(ts)))
        if step > 0:
            return 1.0 / step, "1 / median timestamp step (window frame count unknown)"
    return float(fallback), "default fps (no window frame count or timestamps)"


def token_names(tokenizer: Any) -> dict[str, str]:
    """The named multimodal tokens of ``tokenizer`` (Qwen2.5-Omni defaults where unset)."""
    names = {}
    defaults = {
        "image_token": "<|IMAGE|>",
        "video_token": "<|VIDEO|>",
        "audio_token": "<|AUDIO|>",
        "vision_bos_token": "<|vision_bos|>",
        "vision_eos_token": "<|vision_eos|>",
        "audio_bos_token": "<|audio_bos|>",
        "audio_eos_token": "<|audio_eos|>",
    }
    for name, default in defaults.items():
        names[name] = getattr(tokenizer, name, None) or default
    return names
