"""The official side of the Qwen2.5-Omni parity test, run in its own process.

Usage: ``python official_side.py CASE_DIR`` with ``PYTHONPATH`` pointing at a folder holding the
official torchvision wheel (installed with ``--no-deps``, outside the project's environment).

Reads ``CASE_DIR/cases.json`` (one entry per batch: prompts, which clips, pixel limits, flags)
and ``CASE_DIR/media.safetensors`` (uint8 frames, float32 waveforms), runs transformers'
``Qwen2_5OmniProcessor.from_pretrained(model_dir)`` unchanged on CPU tensors and the thinker's
``get_rope_index`` on its output, and writes ``CASE_DIR/official/<case>.safetensors``. No pickle
crosses the process boundary.

torchvision's compiled ops need CUDA libraries that CPU machines lack; only its Python transforms
are used here, so on CPU-only torch the two op schemas its meta registrations refer to are
declared first. On GPU installs (torchvision in the environment) it runs as is.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

if torch.version.cuda is None:
    # CPU-only torch cannot load the CUDA build's compiled ops; declaring the two schemas its meta
    # registrations refer to lets the (pure Python) transforms import. A CUDA torch loads the real
    # ops, and declaring them there would clash, so this is only done on CPU-only torch.
    _LIB = torch.library.Library("torchvision", "DEF")  # kept alive for the process lifetime
    _LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIB.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

import torchvision

_ISOLATED = os.environ.get("MAPLE_TORCHVISION_DIR")
if _ISOLATED and not Path(torchvision.__file__).resolve().is_relative_to(Path(_ISOLATED).resolve()):
    raise SystemExit(f"torchvision must come from {_ISOLATED}, not {torchvision.__file__}")


def sample_fps(nframes: int, total_frames: int, video_fps: float) -> float:
    """qwen-omni-utils ``fetch_video``: ``sample_fps = nframes / max(total_frames, 1e-6) * video_fps``."""
    return nframes / max(total_frames, 1e-6) * video_fps


def run_case(processor, thinker, case: dict, media: dict[str, torch.Tensor]) -> dict:
    texts, videos, audios, fps = [], [], [], []
    for item in case["items"]:
        content: list[dict] = []
        if item.get("video"):
            content.append({"type": "video"})
            clip = item["video"]
            frames = media[clip["key"]].numpy()
            videos.append(frames)
            fps.append(sample_fps(len(frames), clip["total_frames"], clip["video_fps"]))
        if item.get("audio") and not case["use_audio_in_video"]:
            content.append({"type": "audio"})
        if item.get("audio"):
            audios.append(media[item["audio"]].numpy())
        content.append({"type": "text", "text": item["prompt"]})
        messages = [{"role": "user", "content": content}]
        texts.append(
            processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        )
    if len(set(fps)) > 1:
        raise SystemExit(f"case {case['name']}: the official processor takes one fps, got {fps}")
    kwargs: dict = {"text": texts, "padding": True, "return_tensors": "pt"}
    if videos:
        kwargs["videos"] = videos
        kwargs["videos_kwargs"] = {"fps": fps[0], "cap_pixels_per_frame": False}
        if case.get("size"):
            kwargs["videos_kwargs"]["size"] = case["size"]
    if audios:
        kwargs["audio"] = audios
    if case["use_audio_in_video"]:
        kwargs["load_audio_from_video"] = True
        kwargs["audio_from_video_indices"] = list(range(len(audios)))
    out = dict(processor(**kwargs))
    tensors = {k: torch.as_tensor(v) for k, v in out.items() if k != "video_second_per_grid"}
    spg = out.get("video_second_per_grid")
    if spg is not None:
        tensors["video_second_per_grid"] = torch.as_tensor(spg, dtype=torch.float32)
    fam = out.get("feature_attention_mask")
    positions, deltas = thinker.get_rope_index(
        out["input_ids"],
        None,
        out.get("video_grid_thw"),
        out["attention_mask"],
        case["use_audio_in_video"],
        None if fam is None else fam.sum(-1),
        tensors.get("video_second_per_grid"),
    )
    tensors["rope_positions"] = positions
    tensors["rope_deltas"] = deltas
    return {k: v.contiguous() for k, v in tensors.items()}


def main(case_dir: Path) -> None:
    from safetensors.torch import load_file, save_file
    from transformers import Qwen2_5OmniProcessor, Qwen2_5OmniThinkerForConditionalGeneration

    spec = json.loads((case_dir / "cases.json").read_text(encoding="utf-8"))
    media = load_file(str(case_dir / "media.safetensors"))
    processor = Qwen2_5OmniProcessor.from_pretrained(spec["model_dir"])
    thinker = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(spec["model_dir"])
    out_dir = case_dir / "official"
    out_dir.mkdir(exist_ok=True)
    for case in spec["cases"]:
        save_file(
            run_case(processor, thinker, case, media), str(out_dir / f"{case['name']}.safetensors")
        )
    versions = {"torchvision": torchvision.__version__, "torchvision_file": torchvision.__file__,
                "video_processor": type(processor.video_processor).__name__}  # fmt: skip
    (out_dir / "versions.json").write_text(json.dumps(versions), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
