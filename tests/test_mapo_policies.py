"""Real policies under the MAPO trainer: compact option scorer, tiny causal LM, tiny Qwen2.5-Omni
thinker. Each runs 2 training steps with finite loss and non-zero gradients.

The tiny generative models are random, so they would almost never answer with a parseable option
letter and every reward would be 0 (no signal). We prime them with a bias on the output layer that
favours the letters "A".."D" and end-of-turn, and give a format bonus (``format_weight``) for a
parseable answer: completions are then a mix of single letters (right or wrong) and unparseable
strings, the rewards from the shared scorer vary, and the policy gradient is non-zero.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from maple_bench.mapo.config import load_config
from maple_bench.mapo.loading import build_policy
from maple_bench.mapo.metrics import read_metrics
from tests.test_mapo_trainer import make_samples


def _prime_letters(model: torch.nn.Module, tokenizer, eos_ids) -> None:
    """Give the LM head a bias towards "A" / "B" then end-of-turn (see the module docstring)."""
    head = model.get_output_embeddings()
    biased = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.copy_(head.weight)
        biased.bias.zero_()
        for letter in "ABCD":
            biased.bias[tokenizer.convert_tokens_to_ids(letter)] = 8.0
        for e in eos_ids:
            biased.bias[e] = 9.0
    model.set_output_embeddings(biased)


def _train(tmp_path: Path, policy_kind: str, model_dir: Path | None, samples, steps: int = 2, **kw):
    from maple_bench.mapo.trainer import MapoTrainer

    over = dict(
        policy=policy_kind,
        model=str(model_dir) if model_dir else None,
        batch_size=2,
        group_size=4,
        max_steps=steps,
        max_new_tokens=4,
        num_frames=2,
        frame_size=28,
        plot=True,
        filter="none",
        lr=1e-3,
        seed=0,
        grad_accum=2,
        format_weight=0.5,
        advantages="global",
    )
    over.update(kw)
    cfg = load_config("mapo", [f"{k}={json.dumps(v)}" for k, v in over.items()])
    policy = None
    if model_dir is not None:
        policy = build_policy(cfg, model_dir)
        _prime_letters(policy.model, policy.tokenizer, policy.eos_ids)
    tr = MapoTrainer(
        cfg, tmp_path / "run", samples=samples, media_root=tmp_path / "media", policy=policy
    )
    tr.setup(resume=False)
    before = {n: p.detach().clone() for n, p in tr.policy.model.named_parameters()}
    tr.train()
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, steps + 1))
    for r in rows:
        assert math.isfinite(r["loss"]) and math.isfinite(r["entropy"])
    assert any(r["grad_norm"] > 0 for r in rows)
    changed = [n for n, p in tr.policy.model.named_parameters() if not torch.equal(p, before[n])]
    assert changed, "no parameter moved"
    assert (tmp_path / "run" / "curves.png").stat().st_size > 1000
    return tr, rows


@pytest.mark.slow
def test_compact_policy_trains_and_saves_loadable_checkpoint(tmp_path: Path) -> None:
    samples = make_samples(tmp_path / "media")
    tr, rows = _train(tmp_path, "compact", None, samples, steps=2, filter="early", batch_size=4)
    ckpt = tmp_path / "run" / "checkpoints" / "step-000002" / "model"
    from transformers import AutoModel

    import maple_bench.models.compact  # noqa: F401 - registers the AutoModel class

    loaded = AutoModel.from_pretrained(ckpt)
    for n, p in loaded.named_parameters():
        assert torch.equal(p, dict(tr.policy.model.named_parameters())[n])
    assert rows[-1]["grad_var"] is None or rows[-1]["grad_var"] >= 0


@pytest.mark.slow
def test_tiny_causal_lm_two_steps(tmp_path: Path) -> None:
    from maple_bench.models.tiny import tiny_causal_lm

    model_dir = tiny_causal_lm(tmp_path / "lm")
    # a text-only LM sees subtitles only: train on the tags that contain S
    samples = [s for s in make_samples(tmp_path / "media", per_tag=1) if s.rmt.has_subtitles]
    tr, rows = _train(tmp_path, "causal_lm", model_dir, samples, mask_truncated_completions=True)
    assert rows[0]["tokens_per_s"] > 0
    # completions that hit max_new_tokens without end-of-turn are left out of the loss
    assert all(0.0 <= r["truncated_frac"] <= 1.0 for r in rows)
    assert all(r["update_tokens"] == 0 for r in rows if r["truncated_frac"] == 1.0)
    assert any(r["reward_std"] > 0 for r in rows)
    # a sampled <|AUDIO|> would be read back as an audio slot: placeholders are never sampled
    audio_id = tr.policy.tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    assert audio_id in tr.policy.suppress_ids


@pytest.mark.slow
def test_tiny_qwen_omni_thinker_two_steps(tmp_path: Path) -> None:
    from maple_bench.models.tiny import tiny_qwen_omni_thinker

    model_dir = tiny_qwen_omni_thinker(tmp_path / "thinker")
    samples = make_samples(tmp_path / "media", per_tag=1)
    # V, A and VA prompts: frames, standalone audio features, and audio-in-video
    picked = [s for s in samples if s.rmt.name in ("V", "A", "VA", "VAS")]
    tr, rows = _train(
        tmp_path, "qwen_omni_thinker", model_dir, picked, sampler="mixed", batch_size=2
    )
    assert any(r["reward_std"] > 0 for r in rows)
    # a sampled <|AUDIO|> would be read back as an audio slot: placeholders are never sampled
    audio_id = tr.policy.tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    assert audio_id in tr.policy.suppress_ids


def _thinker_policy_and_prompts(tmp_path: Path, tags=("V", "A", "VA", "VAS")):
    from maple_bench.media import AudioSpec, VideoSpec
    from maple_bench.models.tiny import tiny_qwen_omni_thinker
    from maple_bench.present import MediaConfig, present

    model_dir = tiny_qwen_omni_thinker(tmp_path / "thinker")
    cfg = load_config(
        "mapo",
        ["policy=qwen_omni_thinker", f"model={json.dumps(str(model_dir))}", "max_new_tokens=4"],
    )
    policy = build_policy(cfg, model_dir)
    _prime_letters(policy.model, policy.tokenizer, policy.eos_ids)
    mc = MediaConfig(
        media_root=tmp_path / "media",
        video=VideoSpec(num_frames=2, resize=(28, 28)),
        audio=AudioSpec(sample_rate=16000),
        policy="drop",
    )
    samples = [s for s in make_samples(tmp_path / "media", per_tag=1) if s.rmt.name in tags]
    prompts = [policy.encode(present(s, mc, presentation=s.rmt)) for s in samples]
    return policy, prompts


def _count_encoder_calls(model: torch.nn.Module) -> dict[str, int]:
    """Forward calls of the vision and audio encoders, and the rows (patches / feature frames)
    they encoded (``visual_rows`` / ``audio_rows``)."""
    calls = {"visual": 0, "audio": 0, "visual_rows": 0, "audio_rows": 0}
    core = model.model

    def hook(name):
        def f(_module, args, _out):
            calls[name] += 1
            x = args[0]  # visual: [patches, dim]; audio: [mel bins, frames]
            calls[f"{name}_rows"] += int(x.shape[0] if name == "visual" else x.shape[-1])

        return f

    core.visual.register_forward_hook(hook("visual"))
    core.audio_tower.register_forward_hook(hook("audio"))
    return calls


@pytest.mark.slow
def test_thinker_encoders_run_once_per_prompt(tmp_path: Path) -> None:
    """G = 4 completions per prompt: the vision / audio encoders run once per prompt and pass
    (generation, and the loss forward), not G times; logits and sampled tokens equal the naive
    path that repeats the prompt's pixel and audio inputs G times."""
    policy, prompts = _thinker_policy_and_prompts(tmp_path)
    G = 4
    calls = _count_encoder_calls(policy.model)
    n_video = sum(p.get("pixel_values_videos") is not None for p in prompts)  # V, VA, VAS
    n_audio = sum(p.get("input_features") is not None for p in prompts)  # A, VA, VAS
    assert (n_video, n_audio) == (3, 3)

    patches = sum(p["pixel_values_videos"].shape[0] for p in prompts if "pixel_values_videos" in p)
    frames = sum(int(p["feature_attention_mask"].sum()) for p in prompts if "input_features" in p)

    ro = policy.sample(prompts, G, 1.0, with_logprobs=False, seeds=[1, 2, 3, 4])
    # one encoder call per prompt, over one copy of its inputs (not G copies)
    assert calls == {
        "visual": n_video,
        "audio": n_audio,
        "visual_rows": patches,
        "audio_rows": frames,
    }

    rows = [p for p in prompts for _ in range(G)]
    calls.update(visual=0, audio=0, visual_rows=0, audio_rows=0)
    logp, _ = policy.logprobs(rows, ro.tokens, ro.mask, 1.0)
    assert calls == {
        "visual": n_video,
        "audio": n_audio,
        "visual_rows": patches,
        "audio_rows": frames,
    }
    logp.sum().backward()  # gradients reach the encoders through the shared features
    assert policy.model.model.visual.patch_embed.proj.weight.grad.abs().sum() > 0

    # the naive path (inputs repeated per completion) encodes G copies and gives the same numbers
    policy.model.zero_grad()
    calls.update(visual=0, audio=0, visual_rows=0, audio_rows=0)
    policy.encode_once = False
    naive, _ = policy.logprobs(rows, ro.tokens, ro.mask, 1.0)
    assert (calls["visual_rows"], calls["audio_rows"]) == (G * patches, G * frames)
    m = ro.mask.bool()
    assert torch.allclose(logp.detach()[m], naive.detach()[m], atol=1e-4)
    again = policy.sample(prompts, G, 1.0, with_logprobs=False, seeds=[1, 2, 3, 4])
    assert torch.equal(again.tokens, ro.tokens)


def test_seeded_gumbel_samples_softmax_per_prompt() -> None:
    """Gumbel-max with one generator per prompt: draws follow softmax(scores / T), and a
    prompt's rows do not depend on the other prompts in the batch."""
    from maple_bench.mapo.policy import SeededGumbel

    scores = torch.tensor([[2.0, 1.0, 0.0, float("-inf")]])
    n = 20000
    proc = SeededGumbel([7], n, temperature=1.0)
    picks = proc(None, scores.expand(n, -1)).argmax(-1)
    freq = torch.bincount(picks, minlength=4).double() / n
    probs = torch.softmax(scores[0, :3].double(), -1)
    assert torch.allclose(freq[:3], probs, atol=0.015) and freq[3] == 0  # -inf stays impossible
    # temperature 2: softmax(scores / 2)
    picks = SeededGumbel([8], n, temperature=2.0)(None, scores.expand(n, -1)).argmax(-1)
    freq = torch.bincount(picks, minlength=4).double() / n
    assert torch.allclose(freq[:3], torch.softmax(scores[0, :3].double() / 2, -1), atol=0.015)
    # batch invariance: prompt 1's rows are the same alone or next to prompt 2
    x = torch.randn(3, 4)
    alone = SeededGumbel([11], 3, 1.0)(None, x)
    both = SeededGumbel([11, 12], 3, 1.0)(None, torch.cat([x, torch.randn(3, 4)]))
    assert torch.equal(alone, both[:3])
