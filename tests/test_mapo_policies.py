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
    tr, rows = _train(tmp_path, "causal_lm", model_dir, samples)
    assert rows[0]["tokens_per_s"] > 0
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
