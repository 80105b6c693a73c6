"""Trainer step time: maple-bench's MAPO trainer vs TRL's GRPOTrainer, same everything else.

Same tiny text-only causal LM (``maple_bench.models.tiny.tiny_causal_lm``), same prompts (the
text input builder's chat-templated MCQ prompt with subtitles), same reward
(``maple_bench.scoring.reward``), same G, prompts per step, generation length, temperature,
optimizer (AdamW) and learning rate; one optimizer step per generation batch, no KL (beta 0),
no filtering, no activation checkpointing (TRL's default turns it on; ``--trl-checkpointing``
keeps it). Our trainer runs ``advantages=group`` (plain GRPO) with batched generation
(``rollout_seeding=batch``). The first ``--warmup`` steps of each are discarded; the median of
the remaining step times is compared.

TRL is a benchmark-only dependency (extra ``bench``)::

    .venv/bin/pip install -c constraints.txt trl
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/step_overhead.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

WORDS = ["apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "maple", "comet", "sugar"]


def make_samples(n: int) -> list:
    from maple_bench.modality import S
    from maple_bench.schema import Sample

    out = []
    for i in range(n):
        opts = tuple(WORDS[(i + k) % len(WORDS)] for k in range(4))
        ans = opts[i % 4]
        out.append(
            Sample(
                id=f"t{i}",
                video_id=f"v{i}",
                question="Which word do the subtitles say?",
                rmt=S,
                options=opts,
                answer=ans,
                subtitle_text=f"they said {ans} twice",
                split="train",
            )
        )
    return out


def run_ours(model_dir: Path, samples: list, args: argparse.Namespace, out: Path) -> list[float]:
    from maple_bench.mapo.config import load_config
    from maple_bench.mapo.trainer import MapoTrainer

    over = dict(
        policy="causal_lm",
        model=str(model_dir),
        batch_size=args.prompts,
        group_size=args.G,
        max_new_tokens=args.max_new_tokens,
        max_steps=args.steps,
        lr=1e-5,
        advantages="group",
        filter="none",
        sampler="mixed",
        loss_agg="sample",
        rollout_seeding="batch",
        plot=False,
        grad_accum=1,
        device="cpu",
        inputs="required",
    )
    cfg = load_config("mapo", []).replace(**over)
    tr = MapoTrainer(cfg, out, samples=samples)
    tr.setup(resume=False)
    rows = tr.train()
    tr.cleanup()
    return [r["step_time"] for r in rows]


def run_trl(model_dir: Path, samples: list, args: argparse.Namespace, out: Path) -> list[float]:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from maple_bench.modality import S
    from maple_bench.models.inputs.text import TextInputBuilder
    from maple_bench.present import MediaConfig, present
    from maple_bench.scoring import reward

    tok = AutoTokenizer.from_pretrained(model_dir)
    builder = TextInputBuilder(tok)
    mc = MediaConfig()
    texts = [builder.text(present(s, mc, presentation=S)) for s in samples]
    ds = Dataset.from_dict({"prompt": texts, "idx": list(range(len(samples)))})

    def maple_reward(prompts, completions, idx, **kw):
        return [reward(samples[i], c) for i, c in zip(idx, completions)]

    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            self.t = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            times.append(time.perf_counter() - self.t)

    cfg = GRPOConfig(
        output_dir=str(out),
        per_device_train_batch_size=args.prompts * args.G,
        num_generations=args.G,
        max_completion_length=args.max_new_tokens,
        max_steps=args.steps,
        learning_rate=1e-5,
        beta=0.0,
        loss_type="grpo",
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=10**6,
        gradient_accumulation_steps=1,
        num_iterations=1,
        disable_dropout=True,
        seed=0,
        dataloader_num_workers=0,
        # TRL turns activation checkpointing on by default; ours does not checkpoint, so off here
        gradient_checkpointing=args.trl_checkpointing,
    )
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[maple_reward],
        args=cfg,
        train_dataset=ds,
        processing_class=tok,
        callbacks=[Timer()],
    )
    trainer.train()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=8, help="prompts per step")
    ap.add_argument("--G", type=int, default=4, help="completions per prompt")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument(
        "--trl-checkpointing",
        action="store_true",
        help="keep TRL's default activation checkpointing (off: like-for-like)",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    from maple_bench.models.tiny import tiny_causal_lm

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = tiny_causal_lm(Path(tmp) / "lm", hidden_size=args.hidden, num_layers=2)
        samples = make_samples(64)
        ours = run_ours(model_dir, samples, args, Path(tmp) / "ours")[args.warmup :]
        trl = run_trl(model_dir, samples, args, Path(tmp) / "trl")[args.warmup :]
    mo, mt = statistics.median(ours), statistics.median(trl)
    print(
        f"tiny causal LM (hidden {args.hidden}), {args.prompts} prompts x G={args.G}, "
        f"{args.max_new_tokens} new tokens, median over {len(ours)} steps after {args.warmup} warm-up"
    )
    print("| trainer | s/step (median) | min | max |")
    print("|---|---|---|---|")
    print(f"| maple-bench MAPO | {mo:.3f} | {min(ours):.3f} | {max(ours):.3f} |")
    print(f"| TRL GRPOTrainer | {mt:.3f} | {min(trl):.3f} | {max(trl):.3f} |")
    print(f"ratio ours / TRL = {mo / mt:.2f} (target <= 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
