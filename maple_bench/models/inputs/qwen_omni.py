"""Qwen2.5-Omni thinker inputs from a presented ``ModelInput`` and a prompt.

Two paths give the same tensors:

- ``official``: ``transformers.Qwen2_5OmniProcessor`` (needs torchvision for its video
  processor, so it is only buildable on GPU installs);
- ``plain``: the documented plain-torch equivalent used everywhere else: Qwen2-VL video patching
  (``video_patches.py``, uint8 bicubic resize as torchvision does on CPU), the model's own
  ``WhisperFeatureExtractor`` settings (``preprocessor_config.json``: 300 s for Qwen2.5-Omni) and
  chat template (``qwen_omni_files.py``), the frame rate by the qwen-omni-utils rule
  (``nframes / total_frames * video_fps``), and placeholder expansion exactly as the processor does it
  (``<|VIDEO|>`` x grid_t*grid_h*grid_w/4, ``<|AUDIO|>`` x the audio encoder's output length, and
  with ``use_audio_in_video`` the time-chunked interleaving inside ``<|audio_bos|>...<|audio_eos|>``).
  Positions (TMRoPE / mrope) are computed by the model itself from these ids.

Streams go in exactly as presented: no video block when V is absent, no audio features when A is
absent, and audio is interleaved into the video only when ``model_input.use_audio_in_video`` is
True; otherwise a presented audio stream is a separate audio item. ``compare_with_official``
builds both paths where torchvision is installed; ``tests/test_qwen_parity.py`` proves the
parity on CPU with the official processor run in a separate process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maple_bench.models.inputs.common import default_prompt, mono_waveform
from maple_bench.models.inputs.qwen_omni_files import (
    feature_extractor_provenance,
    load_feature_extractor,
    resolve_chat_template,
)
from maple_bench.models.inputs.qwen_omni_tokens import (
    FPS_RULE,
    audio_output_length,
    chunked_index,
    frames_fps,
    interleaved_placeholder,
    token_names,
)
from maple_bench.models.inputs.video_patches import VideoPatchSpec, patchify_video

__all__ = [
    "QwenOmniInputConfig",
    "QwenOmniInputBuilder",
    "audio_output_length",
    "chunked_index",
    "interleaved_placeholder",
    "official_processor",
    "compare_with_official",
]

MODEL_NAME = "Qwen2.5-Omni thinker"


@dataclass(frozen=True)
class QwenOmniInputConfig:
    """How a ModelInput becomes Qwen2.5-Omni thinker tensors (recorded in provenance)."""

    video: VideoPatchSpec = field(default_factory=VideoPatchSpec)
    """Video resize / patch settings (defaults: the official processor's)."""
    fps: float | None = None
    """Sampling rate of the frames for ``video_second_per_grid``; None: from frame timestamps."""
    default_fps: float = 2.0
    """Fallback when timestamps cannot give a rate (the processor's hard-coded default)."""
    sampling_rate: int = 16000
    """Audio rate the Whisper front-end expects; other rates are an error, never resampled."""
    seconds_per_chunk: float = 2.0
    """Chunk length for audio/video interleaving (``use_audio_in_video``)."""
    position_id_per_seconds: int = 25
    """Temporal position ids per second (TMRoPE)."""
    system_prompt: str | None = None
    """System turn; None keeps the chat template's default system message."""
    path: str = "auto"
    """"auto" (official when buildable, else plain), "official" or "plain"."""

    def __post_init__(self) -> None:
        if self.path not in ("auto", "official", "plain"):
            raise ValueError(
                f"QwenOmniInputConfig.path must be auto|official|plain, got {self.path!r}"
            )


def _ships_processor(path: Path) -> bool:
    """True when a checkpoint dir carries a saved Qwen2.5-Omni processor (real Hub checkpoints)."""
    for name in ("processor_config.json", "preprocessor_config.json"):
        cfg = path / name
        if cfg.exists():
            try:
                data = json.loads(cfg.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if (
                "Qwen2_5Omni" in str(data.get("processor_class", ""))
                or name == "processor_config.json"
            ):
                return True
    return False


def official_processor(
    source: str | os.PathLike[str] | Any,
    config: QwenOmniInputConfig | None = None,
    *,
    feature_extractor: Any | None = None,
    chat_template: str | None = None,
    tokenizer: Any | None = None,
) -> Any | None:
    """``Qwen2_5OmniProcessor`` for a checkpoint dir (or from its tokenizer), None if unbuildable.

    Unbuildable means transformers' video processor cannot be imported or instantiated (no
    torchvision): the plain path is then the equivalent. ``feature_extractor``, ``chat_template``
    and ``tokenizer``, when given (the builder's own), are used instead of loading them again.
    """
    import importlib.util

    config = config or QwenOmniInputConfig()
    if importlib.util.find_spec("torchvision") is None:
        return None
    try:
        from transformers import (
            AutoTokenizer,
            Qwen2_5OmniProcessor,
            Qwen2VLImageProcessor,
            Qwen2VLVideoProcessor,
        )
    except Exception:
        return None
    try:
        if isinstance(source, (str, os.PathLike)) and _ships_processor(Path(source)):
            return Qwen2_5OmniProcessor.from_pretrained(source)
        if tokenizer is None:
            tokenizer = (
                AutoTokenizer.from_pretrained(source)
                if isinstance(source, (str, os.PathLike))
                else source
            )
        spec = config.video
        size = {"shortest_edge": spec.min_pixels, "longest_edge": spec.max_pixels}
        if feature_extractor is None:
            fe_source = source if isinstance(source, (str, os.PathLike)) else None
            feature_extractor, _ = load_feature_extractor(fe_source, config.sampling_rate)
        return Qwen2_5OmniProcessor(
            image_processor=Qwen2VLImageProcessor(size=size),
            video_processor=Qwen2VLVideoProcessor(size=size),
            feature_extractor=feature_extractor,
            tokenizer=tokenizer,
            chat_template=chat_template or tokenizer.chat_template,
        )
    except Exception:
        return None


class QwenOmniInputBuilder:
    """Builds Qwen2.5-Omni thinker inputs; ``build`` for one item, ``build_batch`` for several.

    ``source`` is a checkpoint directory or Hub id (tokenizer, chat template and
    ``preprocessor_config.json`` are read from it, at ``revision`` for a Hub id) or a tokenizer
    object. The returned dict can be passed as ``model(**inputs)`` / ``model.generate(**inputs)``;
    it carries ``use_audio_in_video`` explicitly.
    """

    accepted_streams = frozenset({"V", "A", "S"})

    def __init__(
        self,
        source: str | os.PathLike[str] | Any,
        config: QwenOmniInputConfig | None = None,
        *,
        feature_extractor: Any | None = None,
        revision: str | None = None,
    ) -> None:
        from transformers import AutoTokenizer

        self.config = config or QwenOmniInputConfig()
        if isinstance(source, (str, os.PathLike)):
            self.tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
            files: Any = source
        else:
            self.tokenizer = source
            files = None
        # The model's own template, or a clear refusal: never another model's template.
        self.tokenizer.chat_template, self.chat_template_source = resolve_chat_template(
            self.tokenizer, files, revision
        )
        if feature_extractor is not None:
            self.feature_extractor = feature_extractor
            self._fe_origin: dict[str, Any] = {"source": "argument", "file": None, "sha256": None}
        else:
            self.feature_extractor, self._fe_origin = load_feature_extractor(
                files, self.config.sampling_rate, revision
            )
        self.tokens = token_names(self.tokenizer)
        self.processor: Any = None
        if self.config.path in ("auto", "official"):
            self.processor = official_processor(
                source,
                self.config,
                feature_extractor=self.feature_extractor,
                chat_template=self.tokenizer.chat_template,
                tokenizer=self.tokenizer,
            )
            if self.processor is None and self.config.path == "official":
                raise RuntimeError(
                    "The official Qwen2_5OmniProcessor cannot be built here (its video processor needs "
                    "torchvision, which GPU installs have); use QwenOmniInputConfig(path='plain' or 'auto')."
                )
        self.path = "official" if self.processor is not None else "plain"

    # ---------------------------------------------------------------- per item
    def messages(self, model_input: Any, prompt: str) -> list[dict]:
        """The chat messages: [video?][audio (standalone)?][text], as the template expects."""
        content: list[dict] = []
        if model_input.frames is not None:
            content.append({"type": "video"})
        if model_input.audio is not None and not model_input.use_audio_in_video:
            content.append({"type": "audio"})
        content.append({"type": "text", "text": prompt})
        messages: list[dict] = []
        if self.config.system_prompt is not None:
            messages.append(
                {"role": "system", "content": [{"type": "text", "text": self.config.system_prompt}]}
            )
        messages.append({"role": "user", "content": content})
        return messages

    def _validate(self, model_input: Any) -> None:
        if model_input.use_audio_in_video and (
            model_input.frames is None or model_input.audio is None
        ):
            sid = getattr(getattr(model_input, "sample", None), "id", None)
            raise ValueError(
                f"{MODEL_NAME}: use_audio_in_video=True needs both frames and audio (sample {sid!r}); "
                "the presentation layer sets it only when V and A are presented from one container."
            )

    def chat_text(self, model_input: Any, prompt: str | None = None) -> str:
        """The templated prompt with one placeholder per media item (before expansion)."""
        self._validate(model_input)
        prompt = default_prompt(model_input) if prompt is None else prompt
        return str(
            self.tokenizer.apply_chat_template(
                self.messages(model_input, prompt), tokenize=False, add_generation_prompt=True
            )
        )

    def _fps(self, model_input: Any) -> tuple[float, str]:
        """(frame rate, rule) behind ``video_second_per_grid``."""
        if self.config.fps is not None:
            return float(self.config.fps), "QwenOmniInputConfig.fps"
        return frames_fps(model_input.frames, self.config.default_fps)

    def _plain_item(self, model_input: Any, prompt: str | None) -> tuple[str, dict, dict]:
        """Expanded text, per-item tensors and provenance (plain path)."""
        cfg, tok = self.config, self.tokens
        text = self.chat_text(model_input, prompt)
        tensors: dict[str, Any] = {}
        prov: dict[str, Any] = {}
        n_audio = 0
        if model_input.audio is not None:
            wave = mono_waveform(model_input.audio, sample_rate=cfg.sampling_rate, model=MODEL_NAME)
            feats = self.feature_extractor(
                [wave],
                sampling_rate=cfg.sampling_rate,
                padding="max_length",
                return_attention_mask=True,
                return_tensors="pt",
            )
            tensors["input_features"] = feats["input_features"]
            tensors["feature_attention_mask"] = feats["attention_mask"]
            n_frames = int(feats["attention_mask"].sum())
            n_audio = audio_output_length(n_frames)
            max_s = self.feature_extractor.n_samples / cfg.sampling_rate
            prov["audio"] = {
                "seconds": wave.size / cfg.sampling_rate,
                "seconds_used": min(wave.size / cfg.sampling_rate, max_s),
                "feature_frames": n_frames,
                "audio_tokens": n_audio,
            }
        if model_input.frames is not None:
            pixels, grid = patchify_video(model_input.frames.data, cfg.video)
            fps, fps_rule = self._fps(model_input)
            second_per_grid = cfg.video.temporal_patch_size / fps
            tensors["pixel_values_videos"] = pixels
            tensors["video_grid_thw"] = grid.view(1, 3)
            tensors["video_second_per_grid"] = torch.tensor([second_per_grid])
            n_video = int(grid.prod()) // cfg.video.merge_size**2
            if model_input.use_audio_in_video:
                block = interleaved_placeholder(
                    grid.tolist(),
                    n_audio,
                    merge_size=cfg.video.merge_size,
                    second_per_grid=second_per_grid,
                    position_id_per_seconds=cfg.position_id_per_seconds,
                    seconds_per_chunk=cfg.seconds_per_chunk,
                    tokens=tok,
                )
                text = text.replace(tok["video_token"], block, 1)
            else:
                text = text.replace(tok["video_token"], tok["video_token"] * n_video, 1)
            prov["video"] = {
                "frames": int(model_input.frames.data.shape[0]),
                "grid_thw": grid.tolist(),
                "video_tokens": n_video,
                "fps": fps,
                "fps_rule": fps_rule,
            }
        if model_input.audio is not None and not model_input.use_audio_in_video:
            text = text.replace(tok["audio_token"], tok["audio_token"] * n_audio, 1)
        return text, tensors, prov

    def _official_batch(self, items: Sequence[tuple[Any, str | None]]) -> dict[str, Any]:
        cfg = self.config
        texts, videos, audios, fps = [], [], [], []
        uiv = bool(items[0][0].use_audio_in_video)
        for mi, prompt in items:
            texts.append(self.chat_text(mi, prompt))
            if mi.frames is not None:
                videos.append(np.asarray(mi.frames.data))
                fps.append(self._fps(mi)[0])
            if mi.audio is not None:
                audios.append(
                    mono_waveform(mi.audio, sample_rate=cfg.sampling_rate, model=MODEL_NAME)
                )
        if len(set(fps)) > 1:
            raise ValueError(
                f"{MODEL_NAME}: official processor takes one fps per batch, got {sorted(set(fps))}"
            )
        spec = cfg.video
        kwargs: dict[str, Any] = {
            "text": texts,
            "videos": videos or None,
            "audio": audios or None,
            "padding": True,
            "return_tensors": "pt",
            "seconds_per_chunk": cfg.seconds_per_chunk,
            "position_id_per_seconds": cfg.position_id_per_seconds,
            "videos_kwargs": {
                "size": {"shortest_edge": spec.min_pixels, "longest_edge": spec.max_pixels},
                "cap_pixels_per_frame": spec.cap_pixels_per_frame,
                **({"fps": fps[0]} if fps else {}),
            },
        }
        if uiv:
            kwargs["load_audio_from_video"] = True
            kwargs["audio_from_video_indices"] = list(range(len(audios)))
        out = dict(self.processor(**kwargs))
        if "video_second_per_grid" in out:
            out["video_second_per_grid"] = torch.as_tensor(
                out["video_second_per_grid"], dtype=torch.float32
            )
        return out

    # ---------------------------------------------------------------- public
    def build(
        self, model_input: Any, prompt: str | None = None, *, path: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(inputs, provenance) for one ModelInput; ``prompt`` None uses the shared MCQ/caption prompt."""
        inputs, provs = self.build_batch([(model_input, prompt)], path=path)
        return inputs, provs[0]

    def build_batch(
        self, items: Sequence[tuple[Any, str | None]], *, path: str | None = None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Left-padded batch inputs + one provenance dict per item.

        The thinker takes a single ``use_audio_in_video`` flag per forward pass, so a batch must not
        mix items with and without it: group them first (``batch_key``).
        """
        if not items:
            raise ValueError(f"{MODEL_NAME}: empty batch")
        flags = {bool(mi.use_audio_in_video) for mi, _ in items}
        if len(flags) > 1:
            raise ValueError(
                f"{MODEL_NAME}: a batch mixes use_audio_in_video True and False; the thinker takes one "
                "flag per forward pass. Group items by QwenOmniInputBuilder.batch_key(model_input)."
            )
        uiv = flags.pop()
        use = path or self.path
        if use == "official":
            if self.processor is None:
                raise RuntimeError(
                    f"{MODEL_NAME}: official processor unavailable here; use path='plain'"
                )
            inputs = self._official_batch(items)
            provs = [self.provenance("official") for _ in items]
        else:
            texts, parts, provs = [], [], []
            for mi, prompt in items:
                text, tensors, prov = self._plain_item(mi, prompt)
                texts.append(text)
                parts.append(tensors)
                provs.append({**self.provenance("plain"), "item": prov})
            enc = self.tokenizer(texts, padding=True, padding_side="left", return_tensors="pt")
            inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
            for key in (
                "pixel_values_videos",
                "video_grid_thw",
                "video_second_per_grid",
                "input_features",
                "feature_attention_mask",
            ):
                chunks = [p[key] for p in parts if key in p]
                if chunks:
                    inputs[key] = torch.cat(chunks, dim=0)
        inputs["use_audio_in_video"] = uiv
        return inputs, provs

    @staticmethod
    def batch_key(model_input: Any) -> bool:
        """Items with equal keys may share a batch."""
        return bool(model_input.use_audio_in_video)

    def provenance(self, path: str | None = None) -> dict[str, Any]:
        """Processor settings that determine the tensors (for results files and sample logs)."""
        cfg = self.config
        fe = self.feature_extractor
        return {
            "input_builder": "qwen_omni",
            "path": path or self.path,
            "video": cfg.video.as_dict(),
            "fps": cfg.fps if cfg.fps is not None else "from_frames",
            "fps_rule": "QwenOmniInputConfig.fps" if cfg.fps is not None else FPS_RULE,
            "audio": {
                **feature_extractor_provenance(fe, self._fe_origin),
                "sampling_rate": cfg.sampling_rate,
                "padding": "max_length",
                "max_seconds": getattr(fe, "n_samples", 0) / cfg.sampling_rate,
            },
            "chat_template_source": self.chat_template_source,
            "seconds_per_chunk": cfg.seconds_per_chunk,
            "position_id_per_seconds": cfg.position_id_per_seconds,
            "system_prompt": cfg.system_prompt,
        }


def compare_with_official(
    source: str | os.PathLike[str] | Any,
    model_inputs: Sequence[Any],
    prompt: str | None = None,
    config: QwenOmniInputConfig | None = None,
    *,
    atol: float = 1e-5,
) -> list[dict[str, Any]]:
    """Build every ModelInput through both paths; per item, per key: shapes, max |diff|, equal.

    Raises RuntimeError when the official processor cannot be built (CPU machines without
    torchvision). Integer tensors must match exactly, float tensors within ``atol``.
    """
    config = replace(config or QwenOmniInputConfig(), path="auto")
    builder = QwenOmniInputBuilder(source, config)
    if builder.processor is None:
        raise RuntimeError(
            "compare_with_official needs the official Qwen2_5OmniProcessor (torchvision)"
        )
    reports = []
    for mi in model_inputs:
        plain, _ = builder.build(mi, prompt, path="plain")
        official, _ = builder.build(mi, prompt, path="official")
        keys = sorted(set(plain) | set(official))
        report: dict[str, Any] = {
            "sample_id": getattr(getattr(mi, "sample", None), "id", None),
            "keys": {},
        }
        ok = True
        for key in keys:
            a, b = plain.get(key), official.get(key)
            entry: dict[str, Any] = {"in_plain": a is not None, "in_official": b is not None}
            if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
                entry["shape_plain"], entry["shape_official"] = list(a.shape), list(b.shape)
                same_shape = a.shape == b.shape
                diff = (
                    (a.double() - b.double()).abs().max().item()
                    if same_shape and a.numel()
                    else 0.0
                )
                entry["max_abs_diff"] = diff if same_shape else None
                exact = not a.is_floating_point() and not b.is_floating_point()
                entry["equal"] = same_shape and (diff == 0 if exact else diff <= atol)
            else:
                entry["equal"] = a == b
            ok = ok and bool(entry["equal"])
            report["keys"][key] = entry
        report["equal"] = ok
        reports.append(report)
    return reports
