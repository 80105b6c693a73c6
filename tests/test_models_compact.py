"""The compact reference omni policy: round trip, shapes, gradients, absent streams, learnability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from maple_bench.media.spec import Audio, Frames
from maple_bench.modality import parse_tag
from maple_bench.models.compact import (
    CompactOmniConfig,
    CompactOmniPolicy,
    choice_text,
    collate_features,
    featurize,
)
from maple_bench.present import Delivered, ModelInput
from maple_bench.schema import NONE_OPTION, Sample

SECONDS, FPS, SIZE, RATE = 2.0, 4.0, 48, 16000


def synth_item(
    rng: np.random.Generator, rmt: str, present: str, with_none: bool
) -> tuple[ModelInput, int]:
    """One in-memory MAPLE-Synth style item (rendered by the synth renderer, no files)."""
    from maple_bench.synth.attributes import KINDS, format_option
    from maple_bench.synth.render import (
        render_audio,
        render_frames,
        sample_attributes,
        sample_paths,
        subtitle_cues,
    )

    attrs = sample_attributes(rng)
    kind = {"V": "colour", "A": "pitch", "S": "fruit"}[rmt]
    others = [v for v in KINDS[kind].values if v != attrs[kind]]
    values = [attrs[kind], *[others[i] for i in rng.choice(len(others), 3, replace=False)]]
    order = rng.permutation(4)
    options = [format_option({kind: values[i]}) for i in order]
    answer = options[int(np.argmin(order))]
    pres = parse_tag(present)
    deficit = not (parse_tag(rmt) <= pres)
    if with_none:
        options.append(NONE_OPTION)
        if deficit:
            answer = NONE_OPTION
    frames = audio = subs = None
    if pres.has_video:
        data = render_frames(
            attrs,
            sample_paths(rng, int(attrs["count"])),
            width=SIZE,
            height=SIZE,
            fps=FPS,
            seconds=SECONDS,
        )
        frames = Frames(
            data=data, timestamps=np.arange(len(data)) / FPS, fps=FPS, source_size=(SIZE, SIZE)
        )
    if pres.has_audio:
        audio = Audio(
            data=render_audio(attrs, rng, seconds=SECONDS, sample_rate=RATE), sample_rate=RATE
        )
    if pres.has_subtitles:
        subs = " ".join(c[2] for c in subtitle_cues(attrs, [0, 1, 2, 3], seconds=SECONDS))
    sample = Sample(
        id=f"{rmt}-{present}-{rng.integers(1 << 30)}",
        video_id="v",
        question=KINDS[kind].question,
        rmt=parse_tag(rmt),
        options=tuple(options),
        answer=answer,
        presentation=pres,
        none_reason="deficit" if answer == NONE_OPTION else None,
    )
    mi = ModelInput(
        sample=sample,
        presentation=pres,
        policy="drop",
        frames=frames,
        audio=audio,
        subtitles=subs,
        use_audio_in_video=False,
        delivered=Delivered(frames=0, audio_seconds=0.0, subtitle_chars=0),
    )
    return mi, sample.options.index(answer)


@pytest.fixture(scope="module")
def batch() -> tuple[dict[str, torch.Tensor], torch.Tensor, CompactOmniConfig]:
    rng = np.random.default_rng(0)
    cfg = CompactOmniConfig()
    items = [
        synth_item(rng, r, p, with_none=(i % 2 == 0))
        for i, (r, p) in enumerate(
            [("V", "V"), ("A", "VA"), ("S", "S"), ("V", "AS"), ("A", "V"), ("S", "VAS")]
        )
    ]
    feats = collate_features([featurize(mi, config=cfg) for mi, _ in items])
    return feats, torch.tensor([y for _, y in items]), cfg


def test_forward_shapes_padding_and_absent_flags(batch) -> None:
    feats, labels, cfg = batch
    model = CompactOmniPolicy(cfg)
    assert sum(p.numel() for p in model.parameters()) < 200_000
    out = model(**feats, labels=labels)
    assert out.logits.shape == (6, 5) and torch.isfinite(out.loss)
    # items without the None option have 4 options: the padded slot is masked out
    assert feats["option_mask"][1].tolist() == [True, True, True, True, False]
    assert out.logits[1, 4] < -1e8
    assert feats["video_present"].tolist() == [1, 1, 0, 0, 1, 1]
    assert feats["audio_present"].tolist() == [0, 1, 0, 1, 0, 1]
    assert feats["subtitles_present"].tolist() == [0, 0, 1, 1, 0, 1]
    # absent streams carry zero features; the model swaps in the learned absent embedding
    assert feats["video"][2].abs().sum() == 0 and feats["subtitle_ids"][0].sum() == 0
    choices, logp = model.sample(feats, 3, generator=torch.Generator().manual_seed(0))
    assert choices.shape == (6, 3) and (choices[1] < 4).all()
    np.testing.assert_allclose(
        logp, model.option_log_probs(feats).gather(-1, choices).detach(), atol=1e-6
    )
    assert choice_text(2) == "C"


def test_absent_embedding_changes_the_scores(batch) -> None:
    feats, _, cfg = batch
    model = CompactOmniPolicy(cfg).eval()
    dropped = {k: v.clone() for k, v in feats.items()}
    dropped["video_present"] = torch.zeros_like(dropped["video_present"])
    dropped["video"] = torch.zeros_like(dropped["video"])
    a, b = model(**feats).logits, model(**dropped).logits
    assert not torch.allclose(a[0], b[0])  # item 0 had video
    assert torch.allclose(a[2], b[2])  # item 2 had no video: nothing changes


def test_gradients_reach_every_part(batch) -> None:
    feats, labels, cfg = batch
    model = CompactOmniPolicy(cfg)
    model(**feats, labels=labels).loss.backward()
    for name in (
        "words.weight",
        "video_enc.0.weight",
        "audio_enc.0.weight",
        "absent",
        "fusion.0.weight",
        "gate.0.weight",
    ):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_save_load_round_trip(tmp_path: Path, batch) -> None:
    from transformers import AutoConfig, AutoModel

    feats, _, cfg = batch
    model = CompactOmniPolicy(CompactOmniConfig(hidden_size=16, mlp_size=32)).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert AutoConfig.from_pretrained(tmp_path).model_type == "maple_compact_omni"
    again = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(again, CompactOmniPolicy) and again.config.hidden_size == 16
    torch.testing.assert_close(again(**feats).logits, model(**feats).logits)


def test_featurize_rejects_captions_and_too_many_options(batch) -> None:
    _, _, cfg = batch
    mi, _ = synth_item(np.random.default_rng(1), "V", "V", with_none=False)
    with pytest.raises(ValueError, match="has none"):
        featurize(mi, prompt_options=[], config=cfg)
    with pytest.raises(ValueError, match="max_options"):
        featurize(mi, prompt_options=[f"o{i}" for i in range(cfg.max_options + 1)], config=cfg)


def test_policy_fits_a_few_synthetic_items() -> None:
    """Supervised sanity check: 36 items (V/A/S questions, exact and deficit) are learnable."""
    torch.manual_seed(0)
    rng = np.random.default_rng(3)
    plan = [(r, p) for r in "VAS" for p in (r, r, "VAS", "VAS")] + [
        ("V", "AS"),
        ("A", "VS"),
        ("S", "VA"),
    ] * 4
    items = [synth_item(rng, r, p, with_none=True) for r, p in plan]
    cfg = CompactOmniConfig()
    feats = collate_features([featurize(mi, config=cfg) for mi, _ in items])
    labels = torch.tensor([y for _, y in items])
    model = CompactOmniPolicy(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
    with torch.no_grad():
        before = (model(**feats).logits.argmax(-1) == labels).float().mean().item()
    for _ in range(150):
        opt.zero_grad()
        loss = model(**feats, labels=labels).loss
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = (model(**feats).logits.argmax(-1) == labels).float().mean().item()
    assert after >= 0.95 and after > before, (before, after)
