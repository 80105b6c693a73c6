"""Trainer step time: maple-bench's MAPO trainer vs TRL's GRPOTrainer at equal work.

Fair by construction (issue 16):

- the same tiny text-only causal LM per size (``maple_bench.models.tiny.tiny_causal_lm``): the
  ``toy`` (hidden 64, 2 layers) and a ~10M-parameter one (hidden 320, 10 layers);
- the same prompts (the text input builder's chat-templated MCQ prompt with subtitles), reward
  (``maple_bench.scoring.reward``), G, prompts per step, generation length, temperature, AdamW,
  learning rate, one optimizer step per generation batch, no KL, no filtering, no activation
  checkpointing on either side;
- the same precision on both sides (``--precision fp32``: fp32 everywhere; ``bf16``: fp32 weights
  with bf16 autocast on both: our ``mixed_precision=bf16``, TRL's ``bf16=True``);
- each side's *default* rollout seeding (ours: one generator per prompt, ``rollout_seeding=
  per_prompt``; TRL: its global seed);
- generation included in every step time on both sides (ours: the step that generates the
  batch; TRL: ``on_step_begin`` .. ``on_step_end`` around a training step that generates);
- interleaved rounds: ours and TRL alternate (the order flips every round), so drift in the
  shared machine's load hits both; the first ``--warmup`` steps of every run are dropped.

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
        steps_per_generation=1,  # one optimizer step per generation batch, like TRL's default
        plot=False,
        progress=False,
        log_with="none",
        grad_accum=1,
        device="cpu",
        inputs="required",
        mixed_precision="bf16" if args.precision == "bf16" else "no",
        # rollout_seeding stays at its default (per_prompt)
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
        bf16=args.precision == "bf16",
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
        disable_tqdm=True,
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


SIZES = {"toy": (64, 2), "10m": (320, 10)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=8, help="prompts per step")
    ap.add_argument("--G", type=int, default=4, help="completions per prompt")
    ap.add_argument("--max-new-tokens", type=int, default=16, help="generation budget")
    ap.add_argument("--steps", type=int, default=6, help="optimizer steps per run")
    ap.add_argument("--warmup", type=int, default=1, help="steps dropped at the start of a run")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved runs per trainer")
    ap.add_argument(
        "--sizes", default="toy,10m", help=f"comma list of model sizes ({', '.join(SIZES)})"
    )
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="both sides")
    ap.add_argument(
        "--trl-checkpointing",
        action="store_true",
        help="keep TRL's default activation checkpointing (off: like-for-like)",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    from maple_bench.models.tiny import tiny_causal_lm

    print(
        f"{args.prompts} prompts x G={args.G}, {args.max_new_tokens} new tokens, precision "
        f"{args.precision}, {args.rounds} interleaved rounds x {args.steps} steps "
        f"(first {args.warmup} of each run dropped)"
    )
    print("| model | params | maple-bench s/step (median) | TRL s/step (median) | ours / TRL |")
    print("|---|---|---|---|---|")
    for size in args.sizes.split(","):
        hidden, layers = SIZES[size]
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = tiny_causal_lm(Path(tmp) / "lm", hidden_size=hidden, num_layers=layers)
            from transformers import AutoModelForCausalLM

            n_params = sum(
                p.numel() for p in AutoModelForCausalLM.from_pretrained(model_dir).parameters()
            )
            samples = make_samples(64)
            ours: list[float] = []
            trl: list[float] = []
            for r in range(args.rounds):
                order = ("ours", "trl") if r % 2 == 0 else ("trl", "ours")
                for side in order:
                    run = run_ours if side == "ours" else run_trl
                    times = run(model_dir, samples, args, Path(tmp) / f"{side}{r}")[args.warmup :]
                    (ours if side == "ours" else trl).extend(times)
        mo, mt = statistics.median(ours), statistics.median(trl)
        print(
            f"| {size} (hidden {hidden}, {layers} layers) | {n_params / 1e6:.2f}M | "
            f"{mo:.3f} [{min(ours):.3f}-{max(ours):.3f}] | {mt:.3f} [{min(trl):.3f}-{max(trl):.3f}] "
            f"| {mo / mt:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
