"""Worker for the multi-process MAPO tests (launched by ``accelerate launch`` or torchrun).

Not a test module: ``tests/test_mapo_distributed.py`` starts it with 1 or 2 CPU processes
(gloo) and compares what it records. It trains the tiny Qwen2.5-Omni thinker for a few steps on
V / A / VA / VAS prompts (so the audio and vision encoders run a data-dependent number of
times per process) and writes, on process 0, a JSON file with the per-step losses, whether the
parameters were sharded (DTensor) and the final full weights.

    python tests/mapo_dist_worker.py WORKDIR RESULT.json [key=value ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(work: Path, result: Path, overrides: list[str]) -> None:
    from maple_bench.mapo.checkpoint import full_model_state
    from maple_bench.mapo.config import load_config
    from maple_bench.mapo.loading import build_policy
    from maple_bench.mapo.trainer import MapoTrainer
    from tests.test_mapo_policies import _prime_letters
    from tests.test_mapo_trainer import make_samples

    torch.set_num_threads(1)
    model_dir = work / "thinker"
    samples = [
        s for s in make_samples(work / "media", per_tag=1) if s.rmt.name in ("V", "A", "VA", "VAS")
    ]
    over = dict(
        policy="qwen_omni_thinker",
        model=str(model_dir),
        batch_size=4,
        group_size=4,
        max_steps=4,
        steps_per_generation=2,
        max_new_tokens=4,
        num_frames=2,
        frame_size=28,
        plot=False,
        progress=False,
        filter="none",
        lr=1e-3,
        seed=0,
        grad_accum=2,
        format_weight=0.5,
        advantages="stratum",
        sampler="mixed",
        mixed_precision="no",
        log_with="none",
    )
    args = [f"{k}={json.dumps(v)}" for k, v in over.items()] + overrides
    cfg = load_config("mapo", args)
    policy = build_policy(cfg, model_dir)
    _prime_letters(policy.model, policy.tokenizer, policy.eos_ids)
    trainer = MapoTrainer(
        cfg, work / f"run-{result.stem}", samples=samples, media_root=work / "media", policy=policy
    )
    trainer.setup(resume=False)
    params = list(trainer.policy.model.parameters())
    sharded = [type(p).__name__ == "DTensor" for p in params]
    local_numel = sum(p.to_local().numel() if hasattr(p, "to_local") else p.numel() for p in params)
    history = trainer.train()
    weights = full_model_state(trainer.runner)
    if trainer.acc.is_main_process:
        result.write_text(
            json.dumps(
                {
                    "world": trainer.acc.num_processes,
                    "distributed_type": str(trainer.acc.distributed_type),
                    "runner": type(trainer.runner).__name__,
                    "sharded_params": sum(sharded),
                    "params": len(params),
                    "local_numel": local_numel,
                    "full_numel": sum(int(v.numel()) for v in weights.values()),
                    "steps": [
                        {
                            k: r[k]
                            for k in (
                                "step",
                                "loss",
                                "reward_mean",
                                "grad_norm",
                                "clip_low_frac",
                                "clip_high_frac",
                            )
                        }
                        for r in history
                    ],
                    "weights": {k: v.float().flatten().tolist() for k, v in weights.items()},
                }
            )
        )
    trainer.cleanup()


if __name__ == "__main__":
    import faulthandler
    import os

    if os.environ.get("MAPO_WORKER_TIMEOUT"):  # debugging a hang: dump every stack, then exit
        faulthandler.dump_traceback_later(float(os.environ["MAPO_WORKER_TIMEOUT"]), exit=True)
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
