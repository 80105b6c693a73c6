"""One process of the 2-process MapoGRPOTrainer test (started by ``torchrun``; gloo on CPU).

Usage: ``torchrun --nproc_per_node 2 tests/mapo_trl_worker.py LM_DIR DATA_DIR OUT``.
Trains 2 steps on the text dataset saved in DATA_DIR and writes, per process, ``OUT/rank<r>.json``
with what this process saw of every step: the gathered strata, rewards and MAPO advantages, its
own slice of advantages and prompt ids, and the logged losses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch


def main(lm_dir: str, data_dir: str, out: str) -> None:
    from accelerate.utils import gather_object
    from datasets import load_from_disk
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from maple_bench.mapo.trl import MapoGRPOConfig, MapoGRPOTrainer, make_maple_reward

    torch.set_num_threads(1)
    steps: list[dict[str, Any]] = []

    class Recording(MapoGRPOTrainer):
        def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
            output = super()._generate_and_score_completions(inputs)
            rewards = self._mapo_rewards
            assert rewards is not None
            steps.append(
                {
                    "ids": [x["maple_id"] for x in inputs],
                    "names": [str(v) for v in gather_object([x["rmt"] for x in inputs])],
                    "rewards": rewards.sum(dim=1).tolist(),
                    "local_adv": output["advantages"].tolist(),
                    "global_adv": self.accelerator.gather(output["advantages"]).tolist(),
                }
            )
            return output

    def length_reward(completion_ids: list[list[int]], **_: Any) -> list[float]:
        # a random tiny LM almost never answers correctly: completion length varies, so the
        # batch has a signal and the advantages are not all zero
        return [len(ids) / 6.0 for ids in completion_ids]

    tok = AutoTokenizer.from_pretrained(lm_dir)
    cfg = MapoGRPOConfig(
        output_dir=str(Path(out) / "trainer"),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=6,
        max_steps=2,
        learning_rate=1e-3,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        gradient_checkpointing=False,
        seed=0,
        loss_type="grpo",
        advantages="stratum",
        filter="late",
        stratum_weighting="g_ma",
    )
    trainer = Recording(
        model=AutoModelForCausalLM.from_pretrained(lm_dir),
        reward_funcs=[make_maple_reward(format_weight=0.5), length_reward],
        args=cfg,
        train_dataset=load_from_disk(data_dir),
        processing_class=tok,
    )
    trainer.train()
    rank = trainer.accelerator.process_index
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    Path(out, f"rank{rank}.json").write_text(
        json.dumps({"world": trainer.accelerator.num_processes, "steps": steps, "losses": losses})
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
