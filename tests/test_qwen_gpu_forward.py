"""bf16 forward of the Qwen2.5-Omni-3B thinker *architecture* (random weights) on our inputs (GPU).

The architecture comes from the real ``config.json``: ``MAPLE_QWEN_OMNI_CONFIG`` (a file or a
folder holding it) or ``Qwen/Qwen2.5-Omni-3B`` in the Hugging Face cache; without either the test
skips and says so. No weights are read: the thinker is built from the config with random weights,
its multimodal token ids rewired to the tiny local tokenizer (the ids are data, not architecture).
Prints items/s at batch 1 and at batch 4 (the runner's batching); nothing is asserted on time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from maple_bench.media.spec import Audio, Frames
from maple_bench.modality import parse_tag
from maple_bench.models.inputs.qwen_omni import QwenOmniInputBuilder, QwenOmniInputConfig
from maple_bench.models.tiny import QWEN_OMNI_NAMED_TOKENS, train_tiny_tokenizer
from maple_bench.present import Delivered, ModelInput
from maple_bench.schema import Sample


def _thinker_config(tokenizer) -> object:
    from transformers import AutoConfig

    src = os.environ.get("MAPLE_QWEN_OMNI_CONFIG", "Qwen/Qwen2.5-Omni-3B")
    path = Path(src)
    try:
        cfg = AutoConfig.from_pretrained(path.parent if path.is_file() else src)
    except (OSError, ValueError) as e:
        pytest.skip(f"no Qwen2.5-Omni-3B config.json here (set MAPLE_QWEN_OMNI_CONFIG): {e}")
    thinker = getattr(cfg, "thinker_config", cfg)
    vocab = tokenizer.get_vocab()
    ids = {name: int(vocab[tok]) for name, tok in QWEN_OMNI_NAMED_TOKENS.items()}
    thinker.audio_token_index = thinker.audio_token_id = ids["audio_token"]
    thinker.video_token_index = thinker.video_token_id = ids["video_token"]
    thinker.image_token_index = thinker.image_token_id = ids["image_token"]
    thinker.audio_start_token_id = ids["audio_bos_token"]
    thinker.audio_end_token_id = ids["audio_eos_token"]
    thinker.vision_start_token_id = ids["vision_bos_token"]
    thinker.vision_end_token_id = ids["vision_eos_token"]
    return thinker


def _item(i: int) -> ModelInput:
    rng = np.random.default_rng(i)
    frames = Frames(data=rng.integers(0, 256, (8, 360, 640, 3), np.uint8),
                    timestamps=(np.arange(8) + 0.5) * 12.5 / 25, fps=25.0,
                    source_size=(360, 640), window_frames=100)  # fmt: skip
    wave = (0.1 * rng.standard_normal(64000)).astype(np.float32)
    pres = parse_tag("VAS")
    sample = Sample(id=f"g{i}", video_id=f"v{i}", question="What happens?", rmt=pres,
                    options=("a", "b"), answer="a", presentation=pres)  # fmt: skip
    return ModelInput(sample=sample, presentation=pres, policy="drop", frames=frames,
                      audio=Audio(data=wave, sample_rate=16000), subtitles="hello",
                      use_audio_in_video=True,
                      delivered=Delivered(frames=8, audio_seconds=4.0, subtitle_chars=5))  # fmt: skip


@pytest.mark.gpu
@pytest.mark.slow
def test_bf16_forward_of_the_3b_thinker_architecture(tmp_path: Path) -> None:
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    from evaluators.adapters.hf import to_device

    tok_dir = tmp_path / "tok"
    train_tiny_tokenizer(tok_dir)
    builder = QwenOmniInputBuilder(tok_dir, QwenOmniInputConfig(path="plain"))
    config = _thinker_config(builder.tokenizer)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen2_5OmniThinkerForConditionalGeneration._from_config(
            config, dtype=torch.bfloat16
        ).eval()
    items = [(_item(i), None) for i in range(8)]
    rates = {}
    for batch in (1, 4):
        done, elapsed = 0, 0.0
        for start in range(0, len(items), batch):
            inputs, _ = builder.build_batch(items[start : start + batch])
            inputs = to_device(inputs, "cuda", torch.bfloat16)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            with torch.inference_mode():
                out = model(**inputs)
            torch.cuda.synchronize()
            if start:  # the first batch warms up kernels
                elapsed += time.perf_counter() - t0
                done += batch
            assert torch.isfinite(out.logits.float()).all()
            assert out.logits.shape[:2] == inputs["input_ids"].shape
        rates[batch] = done / elapsed
    print(f"\nQwen2.5-Omni-3B thinker bf16 forward, VAS + audio-in-video, 8x640x360 frames, 4 s "
          f"audio: batch 1 {rates[1]:.2f} items/s, batch 4 {rates[4]:.2f} items/s")  # fmt: skip
