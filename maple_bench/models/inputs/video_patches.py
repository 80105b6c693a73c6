"""Qwen2-VL style video patching in plain torch (no torchvision).

This is the documented equivalent of ``transformers``' ``Qwen2VLVideoProcessor`` (the video
processor inside ``Qwen2_5OmniProcessor``), which cannot be built on machines without
torchvision. Step by step, as in transformers 5.x:

1. ``smart_resize``: height and width rounded to multiples of ``patch_size * merge_size`` (28),
   total pixels kept within ``[min_pixels, max_pixels]`` (processor defaults 128*28*28 and
   768*28*28), aspect ratio preserved. Optional per-frame cap from a total-video budget
   (``cap_pixels_per_frame``, the qwen-vl-utils behaviour).
2. Bicubic resize with antialias of the **uint8** tensor itself (torch's native fixed-point
   kernel: ``F.interpolate(uint8, mode="bicubic", antialias=True, align_corners=False)``). That is
   what ``torchvision.transforms.v2.functional.resize`` runs for uint8 bicubic input on CPU, where
   transformers' processors run (``resample`` = PIL BICUBIC = 3 in the official config). A float32
   resize followed by rounding differs from it by up to 14 levels, so it is not used.
3. Fused rescale + normalise: ``(x - 255 * mean) / (255 * std)`` in float32 with the OpenAI CLIP
   constants (``image_mean`` [0.48145466, 0.4578275, 0.40821073], ``image_std``
   [0.26862954, 0.26130258, 0.27577711], as in the official preprocessor config).
4. Pad the frame count to a multiple of ``temporal_patch_size`` (2) by repeating the last frame,
   then cut into ``[grid_t * grid_h * grid_w, 3 * 2 * 14 * 14]`` patches in the merge-window order
   the vision tower expects.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "RESIZE_KERNEL",
    "OPENAI_CLIP_MEAN",
    "OPENAI_CLIP_STD",
    "VideoPatchSpec",
    "smart_resize",
    "patchify_video",
    "resize_uint8",
]

#: The resize as recorded in provenance (results files show which kernel made the pixels).
RESIZE_KERNEL = (
    "torch.nn.functional.interpolate(uint8, bicubic, antialias=True, align_corners=False)"
)

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class VideoPatchSpec:
    """Settings of the Qwen2-VL video patcher.

    Pixel defaults are ``Qwen2_5OmniProcessor``'s own ``videos_kwargs`` and qwen-omni-utils'
    ``VIDEO_MIN_PIXELS`` / ``VIDEO_MAX_PIXELS``. Note: the released checkpoints'
    ``preprocessor_config.json`` says 3136..12845056, which ``Qwen2_5OmniProcessor.from_pretrained``
    applies when called without ``size=``; qwen-omni-utils resizes frames before that, so the
    utilities' bounds are the convention followed here (the official path passes ``size``).
    """

    min_pixels: int = 128 * 28 * 28
    """Lower bound on resized height * width (``size["shortest_edge"]`` in transformers)."""
    max_pixels: int = 768 * 28 * 28
    """Upper bound on resized height * width (``size["longest_edge"]``)."""
    patch_size: int = 14
    """Spatial patch side in pixels."""
    temporal_patch_size: int = 2
    """Frames per temporal patch; the frame count is padded to a multiple of it."""
    merge_size: int = 2
    """Spatial merge window of the vision tower (tokens = patches / merge_size**2)."""
    cap_pixels_per_frame: bool = False
    """Also cap each frame by an even share of a ``max_video_tokens`` budget (qwen-vl-utils)."""
    max_video_tokens: int = 128000
    """Context length assumed by ``cap_pixels_per_frame``."""
    image_mean: tuple[float, float, float] = OPENAI_CLIP_MEAN
    """Per-channel mean (OpenAI CLIP)."""
    image_std: tuple[float, float, float] = OPENAI_CLIP_STD
    """Per-channel std (OpenAI CLIP)."""

    def as_dict(self) -> dict:
        """Provenance form."""
        return {
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "patch_size": self.patch_size,
            "temporal_patch_size": self.temporal_patch_size,
            "merge_size": self.merge_size,
            "cap_pixels_per_frame": self.cap_pixels_per_frame,
            "max_video_tokens": self.max_video_tokens,
            "image_mean": list(self.image_mean),
            "image_std": list(self.image_std),
            "resample": "bicubic+antialias",
            "resize_kernel": RESIZE_KERNEL,
            "order": "resize(uint8) -> float32 -> (x - 255*mean) / (255*std) -> patchify",
        }


def smart_resize(
    height: int,
    width: int,
    factor: int = 28,
    min_pixels: int = 56 * 56,
    max_pixels: int = 14 * 14 * 4 * 1280,
) -> tuple[int, int]:
    """Target (height, width): multiples of ``factor``, pixel count in range, aspect kept."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError(
            f"absolute aspect ratio must be smaller than 200, got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def target_size(num_frames: int, height: int, width: int, spec: VideoPatchSpec) -> tuple[int, int]:
    """The resized frame size the patcher will use for a ``[T, H, W]`` clip."""
    factor = spec.patch_size * spec.merge_size
    max_pixels = spec.max_pixels
    if spec.cap_pixels_per_frame:
        total_pixels = int(spec.max_video_tokens * factor * factor * 0.9)
        max_pixels = max(
            min(max_pixels, total_pixels * spec.temporal_patch_size // num_frames),
            int(spec.min_pixels * 1.05),
        )
    return smart_resize(
        height, width, factor=factor, min_pixels=spec.min_pixels, max_pixels=max_pixels
    )


def resize_uint8(video: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bicubic antialiased resize of a uint8 ``[T, 3, H, W]`` tensor, staying in uint8.

    torch's uint8 kernel works in fixed point and rounds once at the end, exactly what
    torchvision uses on CPU for uint8 input; converting to float first would not match it.
    """
    if video.dtype != torch.uint8:
        raise ValueError(f"resize_uint8 takes uint8 frames, got {video.dtype}")
    return F.interpolate(
        video, size=(height, width), mode="bicubic", align_corners=False, antialias=True
    )


def patchify_video(frames: np.ndarray, spec: VideoPatchSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 ``[T, H, W, 3]`` frames -> (``pixel_values_videos`` [N, 3*tp*p*p], ``grid_thw`` [3]).

    ``N = grid_t * grid_h * grid_w``; the LLM sees ``N // merge_size**2`` video tokens.
    """
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {arr.dtype} {arr.shape}")
    with warnings.catch_warnings():  # read-only cached frames: the tensor is never written
        warnings.simplefilter("ignore", UserWarning)
        video = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2)  # [T, 3, H, W]
    t, c, h, w = video.shape
    new_h, new_w = target_size(t, h, w, spec)
    if (new_h, new_w) != (h, w):
        video = resize_uint8(video, new_h, new_w)
    mean = torch.tensor(spec.image_mean) * (1.0 / (1.0 / 255.0))
    std = torch.tensor(spec.image_std) * (1.0 / (1.0 / 255.0))
    x = video.to(torch.float32)
    x = x.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))

    tp, p, m = spec.temporal_patch_size, spec.patch_size, spec.merge_size
    if pad := -t % tp:
        x = torch.cat([x, x[-1:].expand(pad, -1, -1, -1)], dim=0)
        t += pad
    grid_t, grid_h, grid_w = t // tp, new_h // p, new_w // p
    patches = x.view(grid_t, tp, c, grid_h // m, m, p, grid_w // m, m, p)
    patches = patches.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flat = patches.reshape(grid_t * grid_h * grid_w, c * tp * p * p)
    return flat, torch.tensor([grid_t, grid_h, grid_w], dtype=torch.long)
