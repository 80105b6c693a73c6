"""``MapoGRPOTrainer``: TRL's ``GRPOTrainer`` with modality-stratified advantages and batches.

TRL has no public hook for advantages, so this subclass overrides four of its (private) methods,
pinned to the TRL range in ``pyproject.toml`` (extra ``trl``):

- ``_get_train_sampler``: the stratified seeded sampler (:mod:`.sampler`), same repeat layout;
- ``_calculate_rewards``: keeps the gathered per-function rewards TRL computed;
- ``_generate_and_score_completions``: after TRL has generated and scored, gathers the strata of
  the global batch, runs :func:`maple_bench.mapo.advantages.filtered_advantages` (filter, then
  normalise over the kept rows), computes adaptive stratum weights, hands TRL back its local
  slice and logs per-stratum statistics;
- ``_prepare_inputs``: once TRL has split the generation batch into micro-batches, folds each
  optimizer step's per-completion weights c_j (:func:`maple_bench.mapo.weights.per_sample_weights`)
  and the kept-count normaliser into the advantages.

Why folding is exact: for c_j >= 0, c_j * min(rho A_j, clip(rho) A_j) = min(rho c_j A_j,
clip(rho) c_j A_j), and TRL's loss normalisers are fixed per step (rows for grpo / dr_grpo, the
generation batch's tokens for dapo), so scaling A_j by c_j * (TRL's normaliser / ours) turns
TRL's loss into maple-bench's ``aggregate`` exactly: ``sample`` divides by the kept completions
N, ``token`` by the kept tokens T, ``constant`` by N * L_max, all over the global optimizer step.
The KL term would not be scaled, so the config refuses beta != 0 together with weights or
filtering. Zero-variance filtering keeps the rows in TRL's forward pass (``early`` computes the
same loss as ``late`` here; only ``maple-bench train`` saves the compute).

Evaluation batches keep TRL's advantages (their loss is a diagnostic only). Checkpoints carry the
per-stratum reward window (``mapo_state.json``, as TRL stores its entropy controller), so adaptive
weights resume where they were; a resumed dynamic curriculum replays the skipped batches under the
restored window, so its batch order after a resume can differ from an uninterrupted run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import torch
from trl import GRPOTrainer

from maple_bench.mapo.advantages import advantage_stats
from maple_bench.mapo.plan import Plan, curriculum_plan, rollout_plan
from maple_bench.mapo.trl.config import MapoGRPOConfig
from maple_bench.mapo.trl.sampler import StratifiedRepeatSampler
from maple_bench.mapo.weights import RewardWindow, per_sample_weights
from maple_bench.modality import TAG_NAMES

MAPO_STATE = "mapo_state.json"
"""File in each checkpoint folder holding the per-stratum reward window."""


def _stratum_order(values: list[str]) -> list[str]:
    """Canonical order of stratum values: RMT tags in V, A, S order, anything else sorted."""
    present = set(values)
    tags = [t for t in TAG_NAMES if t in present]
    return tags + sorted(present - set(tags))


class MapoGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` whose advantages and batches are modality-aware (see the module docstring).

    Takes exactly ``GRPOTrainer``'s arguments; ``args`` must be a :class:`MapoGRPOConfig` and the
    training dataset must hold ``args.strata_column`` (``rmt`` by default).
    """

    args: MapoGRPOConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cfg = kwargs.get("args", args[2] if len(args) > 2 else None)
        if not isinstance(cfg, MapoGRPOConfig):
            raise TypeError(
                "MapoGRPOTrainer needs args=MapoGRPOConfig(...) (TRL's GRPOConfig plus the MAPO "
                f"keys); got {type(cfg).__name__}"
            )
        self._mapo_window = RewardWindow(cfg.reward_window, TAG_NAMES)
        self._mapo_rewards: torch.Tensor | None = None
        self._mapo_weights: dict[str, float] | None = None
        self._mapo_names: list[str] = []
        super().__init__(*args, **kwargs)
        self._mapo_check_dataset()

    # ------------------------------------------------------------------ set-up
    def _mapo_check_dataset(self) -> None:
        column = self.args.strata_column
        ds = self.train_dataset
        names = getattr(ds, "column_names", None)
        if names is not None and column not in names:
            raise ValueError(
                f"MapoGRPOTrainer: the training dataset has no column {column!r} holding each "
                f"prompt's stratum; set strata_column= one of {', '.join(names)}"
            )
        own_sampler = self.args.sampler == "stratified" or self.args.curriculum != "none"
        if own_sampler and names is None:
            raise ValueError(
                "MapoGRPOTrainer: the stratified sampler and curricula need a map-style dataset "
                "(an IterableDataset cannot be indexed by stratum); use sampler='mixed'"
            )
        if own_sampler:
            assert ds is not None  # names is not None
            strata = [str(v) for v in ds[column]]
            self._mapo_order = _stratum_order(strata)
            self._mapo_counts = Counter(strata)  # prompts per stratum: dynamic curriculum shares
            if self.args.curriculum == "static" and set(strata) - set(TAG_NAMES):
                bad = sorted(set(strata) - set(TAG_NAMES))[:3]
                raise ValueError(
                    f"MapoGRPOTrainer: curriculum='static' orders RMT tags by size, but column "
                    f"{column!r} holds other values ({', '.join(bad)}); use 'dynamic' or 'none'"
                )

    def _get_train_sampler(self, dataset: Any = None) -> Any:
        if self.args.sampler == "mixed" and self.args.curriculum == "none":
            return super()._get_train_sampler(dataset)  # TRL's RepeatSampler, unchanged
        ds: Any = self.train_dataset if dataset is None else dataset
        # GRPOConfig.__post_init__ has resolved these (they are Optional only before it runs)
        g = int(self.num_generations or 1)
        spg = int(self.args.steps_per_generation or 1)
        return StratifiedRepeatSampler(
            [str(v) for v in ds[self.args.strata_column]],
            mini_repeat_count=g,
            batch_size=int(self.args.generation_batch_size or g) // g,
            repeat_count=self.num_iterations * spg,
            mode=self.args.sampler,
            stratified_mode=self.args.stratified_mode,
            seed=self.args.seed,
            order=getattr(self, "_mapo_order", ()),
            plan=self._mapo_plan,
        )

    def _mapo_plan(self) -> Plan:
        """Allowed strata, quota weights and order for the next generation batch (curriculum)."""
        return curriculum_plan(
            self.args,
            progress=self.state.global_step / max(self.state.max_steps, 1),
            order=self._mapo_order,
            counts=self._mapo_counts,
            window=self._mapo_window,
        )

    # ------------------------------------------------------------------ rollout batch
    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):  # type: ignore[no-untyped-def]
        rewards_per_func = super()._calculate_rewards(
            inputs, prompts, completions, completion_ids_list
        )
        self._mapo_rewards = rewards_per_func  # gathered over processes: [global rows, functions]
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
        from accelerate.utils import gather_object

        output = super()._generate_and_score_completions(inputs)
        if not self.model.training:
            return output
        cfg, acc = self.args, self.accelerator
        column = cfg.strata_column
        missing = [i for i, x in enumerate(inputs) if column not in x]
        if missing:
            raise KeyError(
                f"MapoGRPOTrainer: batch row {missing[0]} has no {column!r} column; TRL dropped it "
                "or the dataset lacks it (set remove_unused_columns=False)"
            )
        names = [str(v) for v in gather_object([str(x[column]) for x in inputs])]
        rpf = self._mapo_rewards
        assert rpf is not None  # set by _calculate_rewards during super()
        unscorable = torch.isnan(rpf).all(dim=1)
        if bool(unscorable.any()):
            row = int(unscorable.nonzero()[0, 0])
            raise ValueError(
                f"MapoGRPOTrainer: every reward function returned None for global row {row} "
                f"(stratum {names[row]}); MAPO needs a reward for every completion"
            )
        rewards = (rpf * self.reward_weights.to(rpf.device).unsqueeze(0)).nansum(dim=1).cpu()
        n_local = len(inputs)
        sl = slice(acc.process_index * n_local, (acc.process_index + 1) * n_local)
        order = _stratum_order(names)
        strata = torch.tensor([order.index(s) for s in names])
        groups = torch.arange(len(names)) // self.num_generations
        if cfg.mapo_active:
            plan = rollout_plan(
                cfg, rewards, names, groups=groups, strata=strata, window=self._mapo_window
            )
            adv, keep, self._mapo_weights = plan.adv, plan.keep, plan.weights
            self._mapo_names = order
            device = output["advantages"].device
            output["advantages"] = adv[sl].to(device)  # c_j folded in by _prepare_inputs
            output["mapo_keep"] = keep[sl].to(device)
            output["mapo_stratum"] = strata[sl].to(device)
        else:
            adv = acc.gather(output["advantages"]).cpu()
            keep = torch.ones(len(names), dtype=torch.bool)
            self._mapo_window.update(names, rewards.tolist())
        self._mapo_log(names, rewards, adv, keep)
        return output

    def _mapo_log(
        self, names: list[str], rewards: torch.Tensor, adv: torch.Tensor, keep: torch.Tensor
    ) -> None:
        """Per-stratum reward / advantage statistics into TRL's metrics (averaged per log step)."""
        metrics = self._metrics["train"]
        metrics["mapo/kept_frac"].append(float(keep.float().mean()))
        for s in _stratum_order(names):
            idx = torch.tensor([i for i, n in enumerate(names) if n == s])
            r = rewards[idx].to(torch.float64)
            metrics[f"mapo/{s}/count"].append(float(idx.numel()))
            metrics[f"mapo/{s}/reward_mean"].append(float(r.mean()))
            metrics[f"mapo/{s}/reward_std"].append(float(r.std(unbiased=False)))
            metrics[f"mapo/{s}/kept_frac"].append(float(keep[idx].float().mean()))
            kept_adv = adv[idx][keep[idx]]
            if kept_adv.numel():
                st = advantage_stats(kept_adv)
                metrics[f"mapo/{s}/adv_mean"].append(st["adv_mean"])
                metrics[f"mapo/{s}/adv_std"].append(st["adv_std"])
            if self._mapo_weights is not None and s in self._mapo_weights:
                metrics[f"mapo/{s}/weight"].append(self._mapo_weights[s])

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self, model, trial):  # type: ignore[no-untyped-def]
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        from maple_bench.fileio import atomic_write_json

        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            path = os.path.join(self._get_output_dir(trial=trial), folder, MAPO_STATE)
            atomic_write_json(path, {"window": self._mapo_window.state_dict()})

    def _load_optimizer_and_scheduler(self, checkpoint):  # type: ignore[no-untyped-def]
        super()._load_optimizer_and_scheduler(checkpoint)
        path = os.path.join(checkpoint, MAPO_STATE) if checkpoint is not None else None
        if path is not None and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self._mapo_window.load_state_dict(json.load(f)["window"])

    # ------------------------------------------------------------------ optimizer steps
    def _prepare_inputs(self, generation_batch):  # type: ignore[no-untyped-def]
        previous = self._buffered_inputs
        inputs = super()._prepare_inputs(generation_batch)
        fresh = self._buffered_inputs is not previous
        if self.model.training and self.args.mapo_active and fresh:
            self._mapo_fold_weights(self._buffered_inputs)
        return inputs

    def _mapo_fold_weights(self, chunks: list[dict[str, Any]]) -> None:
        """Scale each micro-batch's advantages by c_j x (TRL's normaliser / maple-bench's).

        One optimizer step = ``gradient_accumulation_steps`` consecutive micro-batches on every
        process; its rows over all processes are the step's global batch, over which the
        weights and the kept counts are taken (as ``maple-bench train`` does per mini-batch).
        """
        cfg, acc = self.args, self.accelerator
        accum = cfg.gradient_accumulation_steps
        world, rank = acc.num_processes, acc.process_index
        for start in range(0, len(chunks), accum):
            window = chunks[start : start + accum]
            keep_parts, strata_parts, token_parts = [], [], []
            for ch in window:
                mask = ch["completion_mask"]
                if ch.get("tool_mask") is not None:
                    mask = mask * ch["tool_mask"]
                keep_parts.append(acc.gather(ch["mapo_keep"]).cpu())
                strata_parts.append(acc.gather(ch["mapo_stratum"]).cpu())
                token_parts.append(acc.gather(mask.sum(-1).float()).cpu())
            keep = torch.cat(keep_parts).bool()
            names = [self._mapo_names[i] for i in torch.cat(strata_parts).tolist()]
            tokens = torch.cat(token_parts)
            c = per_sample_weights(
                names, self._mapo_weights, mode=cfg.stratum_weighting or "g_ma", keep=keep
            ).to(torch.float64)
            n_kept, t_kept = float(keep.sum()), float(tokens[keep].sum())
            if cfg.loss_type == "dapo":
                # TRL divides every micro-batch by the generation batch's tokens / #optimizer steps
                spg = int(cfg.steps_per_generation or accum)
                trl_norm = float(window[0]["num_items_in_batch"]) * accum / spg
                scale = trl_norm / t_kept if t_kept > 0 else 0.0
            else:  # grpo, dr_grpo: TRL divides by the rows of the step (x L_max for dr_grpo)
                scale = keep.numel() / n_kept if n_kept > 0 else 0.0
            factor = c * scale
            offset = 0
            for ch in window:
                b = ch["advantages"].shape[0]
                mine = factor[offset + rank * b : offset + (rank + 1) * b]
                ch["advantages"] = ch["advantages"] * mine.to(ch["advantages"])
                offset += world * b
