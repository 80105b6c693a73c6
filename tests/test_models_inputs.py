"""Input builders: Qwen2.5-Omni thinker (plain path on CPU, official comparison on GPU), text, chat_mm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from maple_bench.media.spec import Audio, Frames
from maple_bench.modality import parse_tag
from maple_bench.models.inputs import UnsupportedStreamError, presented_streams
from maple_bench.models.inputs.qwen_omni import (
    QwenOmniInputBuilder,
    QwenOmniInputConfig,
    audio_output_length,
    compare_with_official,
)
from maple_bench.models.inputs.text import TextInputBuilder
from maple_bench.models.inputs.video_patches import VideoPatchSpec, patchify_video
from maple_bench.models.tiny import tiny_causal_lm, tiny_qwen_omni_thinker, train_tiny_tokenizer
from maple_bench.present import Delivered, ModelInput
from maple_bench.schema import Sample

SMALL = QwenOmniInputConfig(video=VideoPatchSpec(min_pixels=56 * 56, max_pixels=56 * 56))


def make_input(
    tag: str, *, uiv: bool = False, seconds: float = 4.0, frames: int = 8, size: int = 64
) -> ModelInput:
    """A ModelInput carrying exactly the streams of ``tag`` (drop policy), with synthetic media."""
    pres = parse_tag(tag)
    rng = np.random.default_rng(0)
    sample = Sample(
        id=f"q1__{pres.name}",
        video_id="vid1",
        question="What colour are the moving shapes?",
        rmt=parse_tag("V"),
        options=("red shapes", "blue shapes"),
        answer="red shapes",
        presentation=pres,
    )
    fr = au = None
    if pres.has_video:
        data = rng.integers(0, 255, size=(frames, size, size, 3), dtype=np.uint8)
        fr = Frames(
            data=data,
            timestamps=np.arange(frames) * seconds / frames,
            fps=25.0,
            source_size=(size, size),
        )
    if pres.has_audio:
        t = np.arange(int(seconds * 16000)) / 16000
        au = Audio(data=(0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sample_rate=16000)
    subs = "My lucky number is 7." if pres.has_subtitles else None
    return ModelInput(
        sample=sample,
        presentation=pres,
        policy="drop",
        frames=fr,
        audio=au,
        subtitles=subs,
        use_audio_in_video=uiv,
        delivered=Delivered(
            frames=0 if fr is None else frames,
            audio_seconds=0.0 if au is None else seconds,
            subtitle_chars=len(subs or ""),
        ),
    )


@pytest.fixture(scope="module")
def thinker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_qwen_omni_thinker(tmp_path_factory.mktemp("thinker"))


@pytest.fixture(scope="module")
def thinker(thinker_dir: Path):
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    return Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(thinker_dir).eval()


@pytest.fixture(scope="module")
def builder(thinker_dir: Path) -> QwenOmniInputBuilder:
    return QwenOmniInputBuilder(thinker_dir, SMALL)


def _count(builder: QwenOmniInputBuilder, ids: torch.Tensor, name: str) -> int:
    return int((ids == builder.tokenizer.convert_tokens_to_ids(builder.tokens[name])).sum())


def test_patchify_layout_matches_manual_patch() -> None:
    # 2 frames of 28x28 -> one temporal patch, 2x2 spatial patches of 14: grid (1, 2, 2)
    frames = np.random.default_rng(1).integers(0, 255, size=(2, 28, 28, 3), dtype=np.uint8)
    spec = VideoPatchSpec(min_pixels=28 * 28, max_pixels=28 * 28)
    pixels, grid = patchify_video(frames, spec)
    assert grid.tolist() == [1, 2, 2] and pixels.shape == (4, 3 * 2 * 14 * 14)
    mean = np.array(spec.image_mean, np.float32) * 255
    std = np.array(spec.image_std, np.float32) * 255
    norm = (frames.astype(np.float32) - mean) / std  # [T, H, W, C]
    # patch 1 = top-right 14x14 block, flattened as (C, T, ph, pw)
    manual = norm[:, 0:14, 14:28, :].transpose(3, 0, 1, 2).reshape(-1)
    np.testing.assert_allclose(pixels[1].numpy(), manual, rtol=1e-5, atol=1e-5)
    # odd frame counts are padded by repeating the last frame
    _, grid3 = patchify_video(frames[:1].repeat(3, axis=0), spec)
    assert grid3.tolist() == [2, 2, 2]


@pytest.mark.parametrize("tag", ["V", "A", "S", "VA", "VS", "AS", "VAS"])
def test_streams_go_in_exactly_as_presented(
    builder: QwenOmniInputBuilder, thinker, tag: str
) -> None:
    mi = make_input(tag)
    inputs, prov = builder.build(mi)
    ids = inputs["input_ids"][0]
    assert prov["path"] == "plain" and inputs["use_audio_in_video"] is False
    if "V" in tag:
        grid = inputs["video_grid_thw"][0]
        assert grid.tolist() == [4, 4, 4]  # 8 frames -> 4 temporal patches; 56x56 -> 4x4 patches
        assert (
            _count(builder, ids, "video_token")
            == int(grid.prod()) // 4
            == prov["item"]["video"]["video_tokens"]
        )
        assert inputs["pixel_values_videos"].shape[0] == int(grid.prod())
        assert prov["item"]["video"]["fps"] == pytest.approx(2.0)
    else:
        assert "pixel_values_videos" not in inputs and _count(builder, ids, "video_token") == 0
        assert _count(builder, ids, "vision_bos_token") == 0
    if "A" in tag:
        n_frames = int(inputs["feature_attention_mask"].sum())
        assert n_frames == 400  # 4 s at 100 mel frames / s
        assert _count(builder, ids, "audio_token") == audio_output_length(n_frames) == 100
        assert inputs["input_features"].shape == (1, 128, 3000)
    else:
        assert "input_features" not in inputs and _count(builder, ids, "audio_token") == 0
    text = builder.tokenizer.decode(ids)
    assert ("Subtitles: My lucky number is 7." in text) == ("S" in tag)
    with torch.no_grad():
        out = thinker(**inputs)
    assert out.logits.shape[1] == len(ids)
    assert torch.isfinite(out.logits).all()


def test_use_audio_in_video_is_respected(builder: QwenOmniInputBuilder, thinker) -> None:
    separate, _ = builder.build(make_input("VA", uiv=False))
    inter, _ = builder.build(make_input("VA", uiv=True))
    assert separate["use_audio_in_video"] is False and inter["use_audio_in_video"] is True
    text_sep = builder.tokenizer.decode(separate["input_ids"][0])
    text_int = builder.tokenizer.decode(inter["input_ids"][0])
    # separate: video block then an audio block; interleaved: audio_bos right after vision_bos
    assert (
        "<|vision_eos|><|audio_bos|>" in text_sep and "<|vision_bos|><|audio_bos|>" not in text_sep
    )
    assert (
        "<|vision_bos|><|audio_bos|><|VIDEO|>" in text_int and text_int.count("<|audio_bos|>") == 1
    )
    # 2 s chunks: 8 video tokens (2 temporal patches x 4) then 50 audio tokens, twice
    block = text_int.split("<|vision_bos|><|audio_bos|>")[1].split("<|audio_eos|>")[0]
    assert block == ("<|VIDEO|>" * 8 + "<|AUDIO|>" * 50) * 2
    for inputs in (separate, inter):
        assert _count(builder, inputs["input_ids"][0], "video_token") == 16
        assert _count(builder, inputs["input_ids"][0], "audio_token") == 100
        with torch.no_grad():
            out = thinker.generate(**inputs, max_new_tokens=2, do_sample=False)
        assert out.shape[1] == inputs["input_ids"].shape[1] + 2
    with pytest.raises(ValueError, match="needs both frames and audio"):
        builder.build(make_input("A", uiv=True))


def test_batch_mixed_presentations_generate(builder: QwenOmniInputBuilder, thinker) -> None:
    items = [(make_input(t), None) for t in ("V", "AS", "VA", "S")]
    inputs, provs = builder.build_batch(items)
    assert inputs["input_ids"].shape[0] == 4 and len(provs) == 4
    assert inputs["video_grid_thw"].shape == (2, 3) and inputs["input_features"].shape[0] == 2
    assert (inputs["attention_mask"][:, -1] == 1).all()  # left padding
    with torch.no_grad():
        out = thinker.generate(**inputs, max_new_tokens=2, do_sample=False)
    assert out.shape == (4, inputs["input_ids"].shape[1] + 2)
    with pytest.raises(ValueError, match="mixes use_audio_in_video"):
        builder.build_batch([(make_input("VA", uiv=True), None), (make_input("VA"), None)])


def test_wrong_sample_rate_is_an_error(builder: QwenOmniInputBuilder) -> None:
    mi = make_input("A")
    bad = ModelInput(**{**mi.__dict__, "audio": Audio(data=mi.audio.data, sample_rate=8000)})
    with pytest.raises(ValueError, match="16000 Hz"):
        builder.build(bad)


def test_text_builder_refuses_video_and_audio(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    path = tiny_causal_lm(tmp_path / "lm")
    tb = TextInputBuilder(path)
    assert tb.accepted_streams == {"S"}
    for tag, streams in (("V", ("V",)), ("VA", ("V", "A")), ("AS", ("A",))):
        with pytest.raises(UnsupportedStreamError) as err:
            tb.build(make_input(tag))
        assert err.value.streams == streams
    inputs, prov = tb.build(make_input("S"))
    assert "My lucky number is 7." in tb.tokenizer.decode(inputs["input_ids"][0])
    assert prov["chat_template"] is True
    model = AutoModelForCausalLM.from_pretrained(path)
    batch, _ = tb.build_batch([(make_input("S"), None), (make_input("S"), "short")])
    out = model.generate(**batch, max_new_tokens=2, do_sample=False)
    assert out.shape == (2, batch["input_ids"].shape[1] + 2)


def test_chat_mm_declares_streams_from_processor() -> None:
    from transformers import Qwen2AudioProcessor, WhisperFeatureExtractor

    from maple_bench.models.inputs.chat_mm import ChatMMInputBuilder

    tok = train_tiny_tokenizer(None)
    proc = Qwen2AudioProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=128),
        tokenizer=tok,
        chat_template=tok.chat_template,
    )
    cb = ChatMMInputBuilder(proc)
    assert cb.accepted_streams == {"A", "S"}
    inputs, _ = cb.build(make_input("AS"))
    n_audio = int((inputs["input_ids"] == tok.convert_tokens_to_ids("<|AUDIO|>")).sum())
    assert n_audio == audio_output_length(int(inputs["feature_attention_mask"].sum()))
    with pytest.raises(UnsupportedStreamError, match="video frames"):
        cb.build(make_input("VA"))
    text_only, _ = cb.build(make_input("S"))
    assert "input_features" not in text_only


def test_presented_streams() -> None:
    assert presented_streams(make_input("VS")) == {"V", "S"}


@pytest.mark.gpu
def test_plain_path_matches_official_processor(thinker_dir: Path) -> None:
    """On GPU installs (torchvision present) the official processor and the plain path agree."""
    cfg = QwenOmniInputConfig(video=VideoPatchSpec(min_pixels=56 * 56, max_pixels=112 * 112))
    inputs = [make_input(t, size=56) for t in ("V", "A", "VS", "VAS")]
    inputs += [make_input("VA", uiv=True, size=56), make_input("V", size=64, frames=5)]
    reports = compare_with_official(thinker_dir, inputs, config=cfg, atol=1e-4)
    for rep in reports:
        assert rep["equal"], rep


def test_patchify_matches_transformers_image_processor() -> None:
    """Normalisation constants and patch order equal transformers' Qwen2-VL processor (PIL
    backend, no torchvision): an image is a 2-frame clip of identical frames, already 28-aligned
    so no resize is involved."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    img = np.random.default_rng(0).integers(0, 255, (56, 84, 3), dtype=np.uint8)
    ref = Qwen2VLImageProcessorPil(size={"shortest_edge": 56 * 56, "longest_edge": 56 * 84})(
        images=[img], return_tensors="pt"
    )
    mine, grid = patchify_video(
        np.stack([img, img]), VideoPatchSpec(min_pixels=56 * 56, max_pixels=56 * 84)
    )
    assert grid.tolist() == ref["image_grid_thw"][0].tolist() == [1, 4, 6]
    torch.testing.assert_close(mine, ref["pixel_values"].to(mine.dtype), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("thw", "second_per_grid", "n_audio"),
    [((4, 4, 4), 1.0, 100), ((3, 2, 6), 0.8, 77), ((5, 4, 4), 2.0, 20), ((1, 2, 2), 0.5, 300)],
)
def test_interleaving_matches_transformers_processor(
    thw, second_per_grid: float, n_audio: int
) -> None:
    """Our use_audio_in_video placeholder equals Qwen2_5OmniProcessor.replace_video_with_audio_token."""
    from types import SimpleNamespace

    from transformers import Qwen2_5OmniProcessor

    from maple_bench.models.inputs.qwen_omni import interleaved_placeholder
    from maple_bench.models.tiny import QWEN_OMNI_NAMED_TOKENS

    fake = SimpleNamespace(video_processor=SimpleNamespace(merge_size=2), **QWEN_OMNI_NAMED_TOKENS)
    fake.get_chunked_index = lambda idx, n: Qwen2_5OmniProcessor.get_chunked_index(fake, idx, n)
    ref = Qwen2_5OmniProcessor.replace_video_with_audio_token(
        fake,
        {"video_grid_thw": [np.array(thw)], "video_second_per_grid": [second_per_grid]},
        0,
        {"num_audio_tokens": [n_audio]},
        0,
        position_id_per_seconds=25,
        seconds_per_chunk=2.0,
    )
    got = interleaved_placeholder(
        thw,
        n_audio,
        merge_size=2,
        second_per_grid=second_per_grid,
        position_id_per_seconds=25,
        seconds_per_chunk=2.0,
        tokens=QWEN_OMNI_NAMED_TOKENS,
    )
    assert got == ref


# ------------------------------------------------------- conventions taken from the model itself


def _with_real_preprocessor(thinker_dir: Path, dest: Path) -> Path:
    """A copy of the tiny checkpoint carrying the published Qwen2.5-Omni preprocessor config."""
    import json
    import shutil

    from tests.test_qwen_parity import QWEN_OMNI_PREPROCESSOR_CONFIG

    shutil.copytree(thinker_dir, dest)
    (dest / "preprocessor_config.json").write_text(json.dumps(QWEN_OMNI_PREPROCESSOR_CONFIG))
    return dest


def test_feature_extractor_comes_from_the_model_folder(thinker_dir: Path, tmp_path: Path) -> None:
    """300 s chunks from the model's preprocessor_config.json: 45 s of audio is not truncated."""
    import hashlib

    model = _with_real_preprocessor(thinker_dir, tmp_path / "m")
    b = QwenOmniInputBuilder(model, SMALL)
    inputs, prov = b.build(make_input("A", seconds=45.0))
    assert inputs["input_features"].shape == (1, 128, 30000)
    assert int(inputs["feature_attention_mask"].sum()) == 4500  # 45 s at 100 mel frames / s
    audio = prov["audio"]
    assert audio["config"]["chunk_length"] == 300 and audio["max_seconds"] == 300.0
    assert audio["config_file"] == str(model / "preprocessor_config.json")
    digest = hashlib.sha256((model / "preprocessor_config.json").read_bytes()).hexdigest()
    assert audio["config_sha256"] == digest
    # the tiny checkpoint's own file says 30 s: that is what it gets, recorded as such
    assert builder_prov_seconds(thinker_dir) == 30.0


def builder_prov_seconds(model: Path) -> float:
    return float(QwenOmniInputBuilder(model, SMALL).provenance()["audio"]["max_seconds"])


def test_feature_extractor_from_the_hub_cache_offline(
    thinker_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Hub id resolves the model's files through the HF cache with HF_HUB_OFFLINE=1."""
    import shutil

    import huggingface_hub.constants as hf_constants

    cache = tmp_path / "hub"
    repo = cache / "models--org--omni-tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snap = repo / "snapshots" / commit
    shutil.copytree(_with_real_preprocessor(thinker_dir, tmp_path / "m"), snap)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    b = QwenOmniInputBuilder("org/omni-tiny", SMALL)
    audio = b.provenance()["audio"]
    assert audio["config"]["chunk_length"] == 300
    assert audio["config_file"] == str(snap / "preprocessor_config.json")
    assert audio["config_source"] == "org/omni-tiny"


def test_missing_preprocessor_config_uses_published_qwen_settings(
    thinker_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    model = tmp_path / "m"
    shutil.copytree(thinker_dir, model)
    (model / "preprocessor_config.json").unlink()
    b = QwenOmniInputBuilder(model, SMALL)
    audio = b.provenance()["audio"]
    assert audio["config_source"] == "defaults" and audio["config"]["chunk_length"] == 300
    assert "has no preprocessor_config.json" in caplog.text


def test_wrong_feature_extractor_type_is_an_error(thinker_dir: Path, tmp_path: Path) -> None:
    import json
    import shutil

    model = tmp_path / "m"
    shutil.copytree(thinker_dir, model)
    (model / "preprocessor_config.json").write_text(
        json.dumps({"feature_extractor_type": "ASTFeatureExtractor"})
    )
    with pytest.raises(ValueError, match="ASTFeatureExtractor"):
        QwenOmniInputBuilder(model, SMALL)


def test_checkpoint_without_chat_template_is_refused(thinker_dir: Path, tmp_path: Path) -> None:
    """Never another model's template: refuse, or use the checkpoint's chat_template.json."""
    import json
    import shutil

    from transformers import AutoTokenizer

    from maple_bench.models.tiny import QWEN_OMNI_CHAT_TEMPLATE

    model = tmp_path / "m"
    shutil.copytree(thinker_dir, model)
    tok = AutoTokenizer.from_pretrained(model)
    tok.chat_template = None
    for f in ("tokenizer_config.json", "chat_template.jinja"):
        (model / f).unlink(missing_ok=True)
    tok.save_pretrained(model)
    (model / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(ValueError, match=r"has no chat template.*chat_template\.jinja"):
        QwenOmniInputBuilder(model, SMALL)
    (model / "chat_template.json").write_text(json.dumps({"chat_template": "{{ 'X' }}"}))
    b = QwenOmniInputBuilder(model, SMALL)
    assert b.chat_text(make_input("S")) == "X"
    assert b.provenance()["chat_template_source"] == str(model / "chat_template.json")
    assert b.tokenizer.chat_template != QWEN_OMNI_CHAT_TEMPLATE


def test_fps_follows_the_qwen_utilities_rule() -> None:
    """8 frames of a 100-frame 25 fps window: 8 / 100 * 25 = 2.0 fps (the median step of the
    segment-centre timestamps would say 25 / 12 = 2.083)."""
    from maple_bench.media.spec import VideoSpec, sample_indices
    from maple_bench.models.inputs.qwen_omni_tokens import FPS_RULE, frames_fps

    idx = sample_indices(100, 25.0, VideoSpec(num_frames=8))
    data = np.zeros((8, 28, 28, 3), np.uint8)
    fr = Frames(data=data, timestamps=idx / 25.0, fps=25.0, source_size=(28, 28), window_frames=100)
    assert frames_fps(fr, 2.0) == (pytest.approx(2.0), FPS_RULE)
    no_window = Frames(data=data, timestamps=idx / 25.0, fps=25.0, source_size=(28, 28))
    fps, rule = frames_fps(no_window, 2.0)
    assert fps == pytest.approx(25 / 12) and "median" in rule


def test_decoded_frames_carry_the_window_frame_count(tmp_path: Path) -> None:
    from maple_bench.media import VideoSpec, decode_frames
    from maple_bench.media.write import write_video

    path = tmp_path / "clip.mp4"
    write_video(path, np.zeros((50, 32, 32, 3), np.uint8), fps=25)
    fr = decode_frames(path, VideoSpec(num_frames=8))
    assert fr.window_frames == 50 and len(fr) == 8
    assert decode_frames(path, VideoSpec(num_frames=4), start=0.4, end=1.2).window_frames == 20


def test_results_record_the_processor_conventions(thinker_dir: Path, tmp_path: Path) -> None:
    """results.json of a qwen2_5_omni run says which resize kernel, fps rule and feature
    extractor (config and its file) made the inputs."""
    import json

    from evaluators.runner.config import RunConfig
    from evaluators.runner.run import run_eval
    from evaluators.tasks.load import generate_synth

    raw = generate_synth(tmp_path / "raw", per_tag=1, seed=5, clip_seconds=2.0, width=64, height=48)
    model = _with_real_preprocessor(thinker_dir, tmp_path / "m")
    cfg = RunConfig(task="synth_qa_plus", model=f"qwen2_5_omni:{model}", data=str(raw),
                    model_args={"max_new_tokens": 2}, output=str(tmp_path / "out"), num_workers=0,
                    batch_size=2, progress=False, presentations=("VA",), limit=2)  # fmt: skip
    out = run_eval(cfg)
    results = json.loads(Path(out.results_path).read_text())
    inputs = results["maple"]["provenance"]["model"]["inputs"]
    assert inputs["video"]["resize_kernel"].startswith("torch.nn.functional.interpolate(uint8")
    assert inputs["fps_rule"].startswith("nframes / total_frames * video_fps")
    assert inputs["audio"]["config"]["chunk_length"] == 300
    assert inputs["audio"]["config_file"] == str(model / "preprocessor_config.json")
    assert inputs["chat_template_source"] == "tokenizer"
