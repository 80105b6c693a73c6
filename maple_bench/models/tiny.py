"""Tiny real models built offline from configs, for tests, demos and CPU experiments.

Every factory writes a normal checkpoint directory (``config.json``, safetensors weights,
tokenizer files, chat template) that loads back with the usual transformers ``Auto*`` classes or
the model class itself. Nothing is downloaded: the tokenizer is a byte-level BPE trained in a few
milliseconds on the small corpus embedded below, and the weights are random (seeded).

The special tokens, their names on the tokenizer (``image_token``, ``audio_bos_token``, ...), their
relative order and the chat template follow the real Qwen2.5-Omni tokenizer, so input builders that
work on these tiny checkpoints work unchanged on the real ones (only the ids differ, and the ids
are always looked up by name).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerFast

__all__ = [
    "QWEN_OMNI_CHAT_TEMPLATE",
    "QWEN_OMNI_SPECIAL_TOKENS",
    "QWEN_OMNI_NAMED_TOKENS",
    "TINY_CORPUS",
    "train_tiny_tokenizer",
    "tiny_causal_lm",
    "tiny_qwen_omni_thinker",
    "tiny_thinker_config",
]

#: Qwen2.5-Omni added tokens in the order of their ids in the real tokenizer (151643 ...). Our tiny
#: tokenizer appends them after the BPE vocabulary in the same order.
QWEN_OMNI_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|AUDIO|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_bos|>",
    "<|vision_eos|>",
    "<|vision_pad|>",
    "<|IMAGE|>",
    "<|VIDEO|>",
)

#: Named multimodal tokens as the Qwen2.5-Omni tokenizer config exposes them (``tokenizer.video_token``
#: etc.); ``Qwen2_5OmniProcessor`` reads exactly these attributes.
QWEN_OMNI_NAMED_TOKENS: dict[str, str] = {
    "image_token": "<|IMAGE|>",
    "video_token": "<|VIDEO|>",
    "audio_token": "<|AUDIO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}

#: The Qwen2.5-Omni chat template (as shipped in the model's ``chat_template.json`` and in the
#: transformers processor tests): one placeholder block per media item, expanded later by the
#: processor / input builder to the right number of tokens.
QWEN_OMNI_CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}{% set image_count = namespace(value=0) %}"
    "{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}"
    "{% if add_audio_id %}Audio {{ audio_count.value }}: {% endif %}"
    "<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

#: A small English corpus with the words the synthetic benchmark and the prompts use (colours,
#: shapes, counts, tones, option letters), so that the BPE merges are meaningful for tests.
TINY_CORPUS: tuple[str, ...] = (
    "Answer with the option's letter from the given choices directly.",
    "Question: What colour is the shape in the video? Options: A. red B. green C. blue D. yellow",
    "Question: What shape appears? A. circle B. square C. triangle D. star E. None of the above",
    "Question: Is the tone high or low? A. high tone B. low tone C. no tone D. None",
    "Question: How many beeps are heard? A. one B. two C. three D. four E. five",
    "Question: Which word appears in the subtitles? A. apple B. river C. stone D. cloud",
    "Subtitles: the number is seven. The word is river. Then the number is three.",
    "Describe the video, the audio and the subtitles in one sentence.",
    "A red circle moves left while a high tone plays and the subtitle says hello.",
    "A blue square and a green triangle, two beeps, a low tone, the number nine.",
    "none of the above cannot be determined from the given inputs",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 one two three four five six seven eight nine ten",
    "You are a helpful assistant. The user asks a question about a video clip.",
    "system user assistant video audio subtitle frames sound speech music silence",
    "purple orange white black pink grey cyan magenta brown colour color",
    "The answer is A. The answer is B. The answer is C. The answer is D. The answer is E.",
)


def _corpus_iterator(extra: Iterable[str] = ()) -> Iterable[str]:
    # A few repetitions make the merge statistics stable without slowing training noticeably.
    for _ in range(4):
        yield from TINY_CORPUS
    yield from extra


def train_tiny_tokenizer(
    out_dir: str | os.PathLike[str] | None = None,
    *,
    vocab_size: int = 512,
    extra_special_tokens: Sequence[str] = (),
    extra_corpus: Iterable[str] = (),
    chat_template: str | None = QWEN_OMNI_CHAT_TEMPLATE,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer with the Qwen2.5-Omni special tokens and chat template.

    ``vocab_size`` counts the BPE vocabulary (256 byte symbols + merges); the special tokens
    (``QWEN_OMNI_SPECIAL_TOKENS`` then ``extra_special_tokens``) are appended after it, in that
    order. ``<|endoftext|>`` is the pad token and ``<|im_end|>`` the eos token, as in Qwen2.5.
    When ``out_dir`` is given, the tokenizer (and its chat template) is saved there so that
    ``AutoTokenizer.from_pretrained(out_dir)`` reloads it.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = list(dict.fromkeys([*QWEN_OMNI_SPECIAL_TOKENS, *extra_special_tokens]))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    tok.train_from_iterator(_corpus_iterator(extra_corpus), trainer=trainer)
    tok.add_special_tokens(specials)

    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        extra_special_tokens=[t for t in specials if t not in ("<|im_end|>", "<|endoftext|>")],
        model_specific_special_tokens=dict(QWEN_OMNI_NAMED_TOKENS),
        model_max_length=32768,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    if chat_template is not None:
        wrapped.chat_template = chat_template
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        wrapped.save_pretrained(out)
    return wrapped


def tiny_causal_lm(
    out_dir: str | os.PathLike[str],
    *,
    arch: str = "qwen2",
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    seed: int = 0,
) -> Path:
    """Save a tiny random Qwen2 (``arch="qwen2"``) or Llama (``"llama"``) causal LM + tokenizer.

    The checkpoint loads with ``AutoModelForCausalLM`` / ``AutoTokenizer`` and generates on CPU
    in milliseconds. Returns the checkpoint directory.
    """
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, Qwen2Config

    out = Path(out_dir)
    tokenizer = train_tiny_tokenizer(out)
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    if arch == "qwen2":
        config: Any = Qwen2Config(**common)
    elif arch == "llama":
        config = LlamaConfig(**common)
    else:
        raise ValueError(f"tiny_causal_lm: unknown arch {arch!r}; use 'qwen2' or 'llama'")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id],
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    model.save_pretrained(out)
    return out


def tiny_thinker_config(tokenizer: PreTrainedTokenizerFast, *, hidden_size: int = 32) -> Any:
    """A ``Qwen2_5OmniThinkerConfig`` of about 0.1-0.3 M parameters wired to ``tokenizer``'s ids.

    Gotchas handled here: ``vision_start_token_id`` is not a declared field of the thinker config
    but ``get_rope_index`` reads it, so it is set explicitly; the text ``mrope_section`` must sum to
    head_dim / 2; the audio tower takes 128 mel bins (``WhisperFeatureExtractor(feature_size=128)``).
    """
    from transformers import Qwen2_5OmniThinkerConfig

    num_heads = 2
    head_dim = hidden_size // num_heads
    half = head_dim // 2
    mrope = [half - 2 * (half // 3), half // 3, half // 3]  # sums to head_dim / 2 (e.g. [2, 3, 3])
    vocab = tokenizer.get_vocab()
    ids = {name: int(vocab[tok]) for name, tok in QWEN_OMNI_NAMED_TOKENS.items()}
    text_config = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=2,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": mrope},
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    vision_config = dict(
        depth=1,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_heads=num_heads,
        in_channels=3,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
        window_size=112,
        out_hidden_size=hidden_size,
        fullatt_block_indexes=[0],
    )
    audio_config = dict(
        num_mel_bins=128,
        encoder_layers=1,
        encoder_attention_heads=num_heads,
        encoder_ffn_dim=hidden_size * 2,
        d_model=hidden_size,
        output_dim=hidden_size,
        n_window=100,
        max_source_positions=1500,
    )
    config = Qwen2_5OmniThinkerConfig(
        text_config=text_config,
        vision_config=vision_config,
        audio_config=audio_config,
        audio_token_index=ids["audio_token"],
        image_token_index=ids["image_token"],
        video_token_index=ids["video_token"],
        audio_start_token_id=ids["audio_bos_token"],
        audio_end_token_id=ids["audio_eos_token"],
        user_token_id=int(tokenizer.get_vocab().get("user", tokenizer.pad_token_id)),
        position_id_per_seconds=25,
        seconds_per_chunk=2,
    )
    config.vision_start_token_id = ids["vision_bos_token"]
    config.vision_end_token_id = ids["vision_eos_token"]
    return config


def tiny_qwen_omni_thinker(
    out_dir: str | os.PathLike[str], *, hidden_size: int = 32, seed: int = 0
) -> Path:
    """Save a tiny random ``Qwen2_5OmniThinkerForConditionalGeneration`` + tokenizer + feature config.

    The directory holds the thinker weights, the tokenizer (Qwen-Omni special tokens and chat
    template) and ``preprocessor_config.json`` for ``WhisperFeatureExtractor(feature_size=128)``.
    Loads with ``Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained``; returns the directory.
    """
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
        WhisperFeatureExtractor,
    )

    out = Path(out_dir)
    tokenizer = train_tiny_tokenizer(out)
    config = tiny_thinker_config(tokenizer, hidden_size=hidden_size)
    torch.manual_seed(seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id],
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    model.save_pretrained(out)
    WhisperFeatureExtractor(feature_size=128, sampling_rate=16000).save_pretrained(out)
    return out
