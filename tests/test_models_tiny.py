"""Tiny real models built offline: tokenizer round trip, causal LMs and the Qwen2.5-Omni thinker."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maple_bench.models.tiny import (
    QWEN_OMNI_NAMED_TOKENS,
    QWEN_OMNI_SPECIAL_TOKENS,
    tiny_causal_lm,
    tiny_qwen_omni_thinker,
    train_tiny_tokenizer,
)


def test_tokenizer_round_trip(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tok = train_tiny_tokenizer(tmp_path, extra_special_tokens=["<|FLAG|>"])
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert len(again) == len(tok)
    text = "Subtitles: red circle, 3 beeps<|im_end|>"
    assert again.decode(again(text)["input_ids"]) == text
    # every special token is one id, ids follow the Qwen2.5-Omni order, named tokens resolve
    ids = [again.convert_tokens_to_ids(t) for t in (*QWEN_OMNI_SPECIAL_TOKENS, "<|FLAG|>")]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for name, token in QWEN_OMNI_NAMED_TOKENS.items():
        assert getattr(again, name) == token
        assert again.tokenize(f"a{token}b").count(token) == 1
    assert again.eos_token == "<|im_end|>" and again.pad_token == "<|endoftext|>"
    chat = again.apply_chat_template(
        [
            {
                "role": "user",
                "content": [{"type": "video"}, {"type": "audio"}, {"type": "text", "text": "Q"}],
            }
        ],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert (
        "<|vision_bos|><|VIDEO|><|vision_eos|><|audio_bos|><|AUDIO|><|audio_eos|>Q<|im_end|>"
        in chat
    )
    assert chat.endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_tiny_causal_lm_generates(tmp_path: Path, arch: str) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_causal_lm(tmp_path / arch, arch=arch)
    model = AutoModelForCausalLM.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    assert model.config.model_type == arch
    assert sum(p.numel() for p in model.parameters()) < 100_000
    enc = tok.apply_chat_template(
        [{"role": "user", "content": "What colour?"}],
        add_generation_prompt=True,
        return_dict=True,
        return_tensors="pt",
    )
    out = model.generate(**enc, max_new_tokens=4, do_sample=False)
    assert out.shape[0] == 1 and out.shape[1] > enc["input_ids"].shape[1]


def test_tiny_causal_lm_rejects_unknown_arch(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown arch"):
        tiny_causal_lm(tmp_path, arch="gpt9")


def test_tiny_thinker_loads_and_generates(tmp_path: Path) -> None:
    from transformers import (
        AutoConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
        WhisperFeatureExtractor,
    )

    path = tiny_qwen_omni_thinker(tmp_path / "thinker")
    model = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(path).eval()
    assert AutoConfig.from_pretrained(path).model_type == "qwen2_5_omni_thinker"
    assert 50_000 < sum(p.numel() for p in model.parameters()) < 400_000
    assert WhisperFeatureExtractor.from_pretrained(path).feature_size == 128
    # vision_start_token_id survives the round trip (get_rope_index reads it)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    assert model.config.vision_start_token_id == tok.convert_tokens_to_ids("<|vision_bos|>")
    assert model.config.video_token_id == tok.convert_tokens_to_ids("<|VIDEO|>")
    enc = tok("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == enc["input_ids"].shape[1] + 3 or out.shape[1] > enc["input_ids"].shape[1]
