"""Qwen2.5-Omni inputs: our plain-torch path equals the official transformers processor, on CPU.

The official side (``tests/parity/official_side.py``) runs ``Qwen2_5OmniProcessor`` unchanged in
a separate process, with the official torchvision wheel from an isolated folder
(``tests/parity/install_torchvision.py``; ``.ci/run`` installs it). This process never imports
torchvision. Both sides see the same decoded frames and waveforms, the same tiny tokenizer and
the real Qwen2.5-Omni ``preprocessor_config.json``; tensors come back as safetensors files.

Compared exactly (``torch.equal``): input_ids, attention_mask, pixel_values_videos,
video_grid_thw, video_second_per_grid, input_features, feature_attention_mask, and the thinker's
``get_rope_index`` positions and deltas. The frame rate follows qwen-omni-utils on both sides
(``nframes / total_frames * video_fps``), computed independently.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from maple_bench.media.spec import Audio, Frames
from maple_bench.modality import parse_tag
from maple_bench.models.inputs.qwen_omni import QwenOmniInputBuilder, QwenOmniInputConfig
from maple_bench.models.inputs.video_patches import VideoPatchSpec
from maple_bench.models.tiny import tiny_qwen_omni_thinker
from maple_bench.present import Delivered, ModelInput
from maple_bench.schema import Sample

PARITY = Path(__file__).parent / "parity"

#: ``preprocessor_config.json`` of Qwen/Qwen2.5-Omni-3B and -7B as published on the Hub.
QWEN_OMNI_PREPROCESSOR_CONFIG: dict[str, Any] = {
    "chunk_length": 300,
    "dither": 0.0,
    "feature_extractor_type": "WhisperFeatureExtractor",
    "feature_size": 128,
    "hop_length": 160,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_processor_type": "Qwen2VLImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "max_pixels": 12845056,
    "merge_size": 2,
    "min_pixels": 3136,
    "n_fft": 400,
    "n_samples": 4800000,
    "nb_max_frames": 30000,
    "padding_side": "right",
    "padding_value": 0.0,
    "patch_size": 14,
    "processor_class": "Qwen2_5OmniProcessor",
    "return_attention_mask": True,
    "sampling_rate": 16000,
    "temporal_patch_size": 2,
}

SMALL = (56 * 56, 112 * 112)  # min_pixels, max_pixels
DEFAULT = (128 * 28 * 28, 768 * 28 * 28)  # Qwen2_5OmniProcessor's own video size
TIGHT = (84 * 84, 84 * 84)


@dataclass(frozen=True)
class Clip:
    """Decoded frames as the media layer returns them (``window_frames`` source frames)."""

    key: str
    frames: int
    height: int
    width: int
    total_frames: int
    video_fps: float = 25.0
    blank: bool = False


@dataclass(frozen=True)
class Item:
    """One model input: which streams, and the prompt."""

    clip: Clip | None = None
    audio_seconds: float | None = None
    subtitles: str | None = None
    blank_audio: bool = False


@dataclass(frozen=True)
class Case:
    """One processor call (a batch of items)."""

    name: str
    items: tuple[Item, ...]
    use_audio_in_video: bool = False
    size: tuple[int, int] = SMALL


def _c(key: str, t: int, h: int, w: int, total: int, **kw: Any) -> Clip:
    return Clip(key, t, h, w, total, **kw)


CASES: tuple[Case, ...] = (
    Case("v_61x97_7frames", (Item(_c("a", 7, 61, 97, 175)),)),
    Case("v_200x330_8frames_max_pixels", (Item(_c("b", 8, 200, 330, 100)),)),
    Case("v_45x80_5frames_min_pixels_default_size", (Item(_c("c", 5, 45, 80, 63)),), size=DEFAULT),
    Case("v_99x57_odd_tight", (Item(_c("d", 3, 99, 57, 40, video_fps=29.97)),), size=TIGHT),
    Case("va_separate_4s", (Item(_c("e", 8, 64, 90, 100), 4.0),)),
    Case("va_in_video_12s", (Item(_c("f", 8, 70, 70, 300), 12.3),), use_audio_in_video=True),
    Case(
        "vas_in_video_45s",
        (Item(_c("g", 7, 50, 77, 1125), 45.0, "the word is river."),),
        use_audio_in_video=True,
    ),  # fmt: skip
    Case("a_31s", (Item(None, 31.0),)),
    Case("as_1_5s", (Item(None, 1.5, "the number is seven."),)),
    Case("s_only", (Item(None, None, "the number is three."),)),
    Case(
        "blank_s_policy",
        (Item(_c("h", 8, 64, 64, 100, blank=True), 4.0, "the word is stone.", blank_audio=True),),
    ),  # fmt: skip
    Case(
        "blank_everything", (Item(_c("m", 5, 60, 60, 80, blank=True), 3.0, "", blank_audio=True),)
    ),  # fmt: skip
    Case(
        "batch_clips_of_different_lengths",
        (
            Item(_c("i", 8, 61, 97, 100)),
            Item(_c("j", 6, 48, 64, 75), 40.0),
            Item(None, None, "only text"),
            Item(None, 2.5),
        ),
    ),  # fmt: skip
    Case(
        "batch_in_video_different_lengths",
        (Item(_c("k", 8, 56, 84, 100), 4.0), Item(_c("l", 4, 90, 60, 50), 35.0)),
        use_audio_in_video=True,
    ),  # fmt: skip
)


def _frames(clip: Clip, rng: np.random.Generator) -> Frames:
    shape = (clip.frames, clip.height, clip.width, 3)
    data = np.zeros(shape, np.uint8) if clip.blank else rng.integers(0, 256, shape, np.uint8)
    # segment-centre sampling as maple_bench.media.spec does it
    idx = np.floor((np.arange(clip.frames) + 0.5) * clip.total_frames / clip.frames)
    return Frames(data=data, timestamps=idx / clip.video_fps, fps=clip.video_fps,
                  source_size=(clip.height, clip.width), window_frames=clip.total_frames)  # fmt: skip


def _wave(seconds: float, blank: bool, rng: np.random.Generator) -> np.ndarray:
    n = int(round(seconds * 16000))
    if blank:
        return np.zeros(n, np.float32)
    t = np.arange(n) / 16000
    return (0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)


def _model_input(item: Item, uiv: bool, media: dict[str, np.ndarray], i: int) -> ModelInput:
    letters = "".join(
        x for x, on in (("V", item.clip), ("A", item.audio_seconds), ("S", item.subtitles)) if on
    )
    pres = parse_tag(letters or "S")
    frames = audio = None
    if item.clip is not None:
        frames = _frames(item.clip, np.random.default_rng(i))
        media[f"frames_{item.clip.key}"] = frames.data
    if item.audio_seconds is not None:
        wave = _wave(item.audio_seconds, item.blank_audio, np.random.default_rng(100 + i))
        audio = Audio(data=wave, sample_rate=16000)
        media[f"audio_{i}"] = wave
    sample = Sample(id=f"q{i}__{pres.name}", video_id=f"vid{i}", question="What is shown?",
                    rmt=parse_tag("V"), options=("a red circle", "a blue square"),
                    answer="a red circle", presentation=pres)  # fmt: skip
    blank = item.blank_audio or (item.clip is not None and item.clip.blank)
    return ModelInput(sample=sample, presentation=pres, policy="blank" if blank else "drop",
                      frames=frames, audio=audio,
                      subtitles=item.subtitles, use_audio_in_video=uiv,
                      delivered=Delivered(frames=0, audio_seconds=0.0, subtitle_chars=0))  # fmt: skip


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny thinker + tokenizer with the real Qwen2.5-Omni processor files beside them."""
    path = tiny_qwen_omni_thinker(tmp_path_factory.mktemp("qwen_parity") / "thinker")
    (path / "preprocessor_config.json").write_text(json.dumps(QWEN_OMNI_PREPROCESSOR_CONFIG))
    return path


def _torchvision_in_env() -> bool:
    import importlib.util

    return importlib.util.find_spec("torchvision") is not None


@pytest.fixture(scope="module")
def torchvision_dir() -> Path | None:
    """The isolated folder with the official torchvision wheel (installed on first use); None on
    GPU installs, whose environment has torchvision already."""
    if _torchvision_in_env():
        return None
    sys.path.insert(0, str(PARITY))
    try:
        import install_torchvision
    finally:
        sys.path.remove(str(PARITY))
    try:
        return install_torchvision.ensure()
    except RuntimeError as e:
        pytest.skip(f"official torchvision wheel cannot be installed here: {e}")


@pytest.fixture(scope="module")
def parity(model_dir: Path, torchvision_dir: Path | None, tmp_path_factory: pytest.TempPathFactory):
    """Build every case on both sides; yield (ours, official) tensor dicts per case name."""
    from safetensors.torch import load_file, save_file
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    work = tmp_path_factory.mktemp("qwen_parity_cases")
    thinker = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(model_dir)
    media: dict[str, np.ndarray] = {}
    ours: dict[str, dict[str, torch.Tensor]] = {}
    spec_cases = []
    for case in CASES:
        cfg = QwenOmniInputConfig(path="plain", video=VideoPatchSpec(*case.size))
        builder = QwenOmniInputBuilder(model_dir, cfg)
        inputs_ = [
            _model_input(item, case.use_audio_in_video, media, 10 * len(spec_cases) + j)
            for j, item in enumerate(case.items)
        ]
        built, _ = builder.build_batch([(mi, None) for mi in inputs_])
        tensors = {k: v for k, v in built.items() if isinstance(v, torch.Tensor)}
        fam = built.get("feature_attention_mask")
        pos, deltas = thinker.get_rope_index(
            built["input_ids"], None, built.get("video_grid_thw"), built["attention_mask"],
            case.use_audio_in_video, None if fam is None else fam.sum(-1),
            built.get("video_second_per_grid"),
        )  # fmt: skip
        ours[case.name] = {**tensors, "rope_positions": pos, "rope_deltas": deltas}
        items = []
        for j, (item, mi) in enumerate(zip(case.items, inputs_)):
            entry: dict[str, Any] = {"prompt": builder_prompt(mi)}
            if item.clip is not None:
                entry["video"] = {"key": f"frames_{item.clip.key}",
                                  "total_frames": item.clip.total_frames,
                                  "video_fps": item.clip.video_fps}  # fmt: skip
            if item.audio_seconds is not None:
                entry["audio"] = f"audio_{10 * len(spec_cases) + j}"
            items.append(entry)
        spec_cases.append({
            "name": case.name, "items": items, "use_audio_in_video": case.use_audio_in_video,
            "size": {"shortest_edge": case.size[0], "longest_edge": case.size[1]},
        })  # fmt: skip
    save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in media.items()},
              str(work / "media.safetensors"))  # fmt: skip
    (work / "cases.json").write_text(json.dumps({"model_dir": str(model_dir), "cases": spec_cases}))
    env = dict(os.environ)
    if torchvision_dir is not None:
        env.update(PYTHONPATH=str(torchvision_dir), MAPLE_TORCHVISION_DIR=str(torchvision_dir))
    res = subprocess.run([sys.executable, str(PARITY / "official_side.py"), str(work)], env=env,
                         capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert res.returncode == 0, res.stderr[-4000:]
    versions = json.loads((work / "official" / "versions.json").read_text())
    assert versions["video_processor"] == "Qwen2VLVideoProcessor"
    official = {c.name: load_file(str(work / "official" / f"{c.name}.safetensors")) for c in CASES}
    return ours, official


def builder_prompt(mi: ModelInput) -> str:
    """The prompt text both sides put in the user turn (the shared MCQ prompt)."""
    from maple_bench.models.inputs.common import default_prompt

    return default_prompt(mi)


def test_project_environment_has_no_torchvision() -> None:
    """On CPU installs torchvision must stay out of .venv (it breaks transformers models there);
    the official side gets it from the isolated folder only."""
    import torch

    if torch.version.cuda is not None:
        pytest.skip("CUDA torch: a GPU install may have torchvision in its environment")
    assert not _torchvision_in_env(), "torchvision is importable from the project's environment"


@pytest.mark.slow
@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_plain_path_equals_official_processor(parity, case: str) -> None:
    ours, official = parity
    mine, ref = ours[case], official[case]
    assert set(mine) == set(ref), (sorted(mine), sorted(ref))
    for key in sorted(ref):
        a, b = mine[key], ref[key]
        assert a.shape == b.shape, (key, a.shape, b.shape)
        assert a.dtype == b.dtype or key.endswith("mask"), (key, a.dtype, b.dtype)
        if not torch.equal(a, b.to(a.dtype)):
            diff = (a.double() - b.double()).abs()
            pytest.fail(
                f"{case}: {key} differs in {int((diff > 0).sum())} of {diff.numel()} values "
                f"(max |diff| {float(diff.max()):.6g})"
            )
