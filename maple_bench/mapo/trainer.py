"""The MAPO / MUPO training recipe: one readable class (torchtune style).

Each rollout batch reads top to bottom:
sampler -> present (required or full streams) -> rollouts with the rollout policy's log-probs ->
rewards (the evaluators' scorer) -> gather over processes -> zero-variance filter -> advantages
over the kept rows of the global batch -> for each of ``ppo_epochs`` passes, a seeded shuffle
split into ``steps_per_generation`` mini-batches, each one optimizer step (loss per micro-batch,
gradients summed over micro-batches and processes, clip, step) -> metrics / checkpoint.
Mini-batch k is the same set of rows whatever the number of processes (rows are shuffled in
their canonical order: batch position x G + completion index).

Distributed runs (``accelerate launch``) split every global batch of prompts across processes;
rewards, strata and prompt ids are gathered, so stratum statistics, filtering and the loss
normaliser are those of the *global* batch, and gradients are summed (each process' loss is
already divided by the global counts). Rollouts draw from one generator per prompt seeded by
(seed, step, global position), so a run's samples do not depend on the number of processes and
a resumed run draws exactly what the uninterrupted one would have.

Gradient-variance estimate (``grad_var``): with K micro-batches (over all processes) contributing
d_1..d_K to the step gradient g = sum_k d_k, each K * d_k is an unbiased estimate of g;
``grad_var`` = (1 / (K (K - 1))) sum_k ||K d_k - g||^2 estimates the total variance (trace of the
covariance) of the step's gradient estimate, and ``grad_var_rel`` = grad_var / ||g||^2 its
noise-to-signal ratio. Needs grad_accum * processes >= 2 (NaN otherwise).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from maple_bench.mapo import checkpoint as ckpt
from maple_bench.mapo.advantages import filtered_advantages
from maple_bench.mapo.batching import split_minibatches
from maple_bench.mapo.config import TrainConfig
from maple_bench.mapo.curriculum import dynamic_order, static_sizes, static_stage
from maple_bench.mapo.kl import k3
from maple_bench.mapo.loss import aggregate, clip_fractions, clipped_surrogate
from maple_bench.mapo.metrics import MetricsLog, plot_curves, step_row
from maple_bench.mapo.sampler import TagSampler
from maple_bench.mapo.weights import RewardWindow, adaptive_weights, per_sample_weights
from maple_bench.modality import BLIND, TAG_NAMES, VAS, parse_tag

log = logging.getLogger(__name__)
Callback = Callable[["MapoTrainer", dict], None]


class MapoTrainer:
    """``setup()`` then ``train()`` then ``cleanup()``; see the module docstring."""

    def __init__(
        self,
        config: TrainConfig,
        out: str | Path,
        *,
        data: Any = None,
        samples: Sequence[Any] | None = None,
        media_root: str | Path | None = None,
        policy: Any = None,
        callbacks: Sequence[Callback] = (),
        media_cache: Any = None,
    ) -> None:
        """``samples`` + ``media_root`` bypass loading ``data``; ``policy`` bypasses building one
        from the config; ``media_cache`` (a MediaCache) may be shared between runs."""
        self.cfg = config
        self._shared_cache = media_cache
        self.out = Path(out)
        self._data, self._samples, self._media_root = data, samples, media_root
        self.policy = policy
        self.callbacks = list(callbacks)
        self.step = 0
        self.history: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ setup
    def setup(self, resume: bool = True) -> MapoTrainer:
        self.acc = self._setup_accelerator()
        self.samples, self.media_root = self._setup_data()
        self.media_config, self.media_cache = self._setup_media()
        resume_from = ckpt.latest_checkpoint(self.out) if resume else None
        if self.policy is None:
            from maple_bench.mapo.loading import build_policy

            model_path = resume_from / "model" if resume_from else self.cfg.model
            self.policy = build_policy(self.cfg, model_path, self.media_config)
        elif resume_from is not None:
            self.policy.load_weights(resume_from / "model")
        self.policy.model.to(self.acc.device).eval()  # no dropout in RL: ratio 1 stays 1
        self.ref_policy = self._setup_reference()
        self.optimizer = self._setup_optimizer()
        self.sampler = self._setup_sampler()
        self.window = RewardWindow(self.cfg.reward_window, TAG_NAMES)
        self._prompt_cache: dict[tuple[str, str], Any] = {}
        self.metrics = MetricsLog(self.out / "metrics.jsonl", enabled=self.acc.is_main_process)
        if self.acc.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(json.dumps(self.cfg.to_dict(), indent=1))
        if resume_from is not None:
            self._resume(resume_from)
        return self

    def _setup_accelerator(self) -> Any:
        from accelerate import Accelerator

        cpu = self.cfg.device == "cpu" or (
            self.cfg.device == "auto" and not torch.cuda.is_available()
        )
        acc = Accelerator(cpu=cpu)
        if self.cfg.batch_size % acc.num_processes:
            raise ValueError(
                f"batch_size {self.cfg.batch_size} must be divisible by the "
                f"{acc.num_processes} processes"
            )
        return acc

    def _setup_data(self) -> tuple[list[Any], Path | None]:
        if self._samples is not None:
            samples = list(self._samples)
            root = self._media_root
        else:
            from maple_bench.data import load_samples

            ss = load_samples(
                self._data, self.cfg.data_config, split=self.cfg.split, media_root=self._media_root
            )
            samples, root = list(ss.samples), ss.media_root
        samples = [s for s in samples if s.task == "qa"]
        if not samples:
            raise ValueError(
                f"no multiple-choice samples to train on in {self._data!r} "
                f"(config {self.cfg.data_config}, split {self.cfg.split})"
            )
        return samples, Path(root) if root is not None else None

    def _setup_media(self) -> tuple[Any, Any]:
        from maple_bench.media import AudioSpec, MediaCache, VideoSpec
        from maple_bench.present import MediaConfig

        size = self.cfg.frame_size
        video = VideoSpec(num_frames=self.cfg.num_frames, resize=(size, size) if size else None)
        mc = MediaConfig(
            media_root=self.media_root,
            video=video,
            audio=AudioSpec(sample_rate=self.cfg.sample_rate),
            policy=self.cfg.mask_policy,
        )
        cache = self._shared_cache
        if cache is None:
            cache = MediaCache(max_items=self.cfg.media_cache_items)
        return mc, cache

    def _setup_reference(self) -> Any:
        if self.cfg.kl_beta <= 0:
            return None
        ref = copy.copy(self.policy)
        ref.model = copy.deepcopy(self.policy.model).eval().requires_grad_(False)
        return ref

    def _setup_optimizer(self) -> torch.optim.Optimizer:
        params = [p for p in self.policy.model.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)

    def _setup_sampler(self) -> TagSampler:
        return TagSampler(
            [s.rmt.name for s in self.samples],
            self.cfg.batch_size,
            mode=self.cfg.sampler,
            stratified_mode=self.cfg.stratified_mode,
            seed=self.cfg.seed,
            tag_order=TAG_NAMES,
        )

    def _resume(self, path: Path) -> None:
        state = ckpt.load_state(path)
        self.step = int(state["step"])
        ckpt.load_optimizer(path, self.optimizer)
        ckpt.load_rng(path)
        self.sampler.load_state_dict(state["sampler"])
        self.window.load_state_dict(state["window"])
        self.metrics.truncate_after(self.step)
        log.info("resumed from %s at step %d", path, self.step)

    # ------------------------------------------------------------------ train
    def train(self) -> list[dict[str, Any]]:
        t0 = time.perf_counter()
        every = self.cfg.save_every
        while self.step < self.cfg.max_steps:
            rows = self._train_step()  # one rollout batch: ppo_epochs optimizer steps
            for row in rows:
                row["wall_time"] = time.perf_counter() - t0
                for cb in self.callbacks:
                    cb(self, row)
                self.history.append(row)
                self.metrics.write(row)
            # checkpoints fall on rollout-batch boundaries, so a resume never re-samples mid-batch
            if every and any(r["step"] % every == 0 for r in rows):
                self.save()
        self.save()
        if self.cfg.plot and self.acc.is_main_process:
            from maple_bench.mapo.metrics import read_metrics

            plot_curves(
                read_metrics(self.out / "metrics.jsonl"),
                self.out / "curves.png",
                title=str(self.cfg.extra.get("name", "")),
            )
        return self.history

    def save(self) -> Path | None:
        self.acc.wait_for_everyone()
        path = None
        if self.acc.is_main_process:
            state = {
                "sampler": self.sampler.state_dict(),
                "window": self.window.state_dict(),
                "world_size": self.acc.num_processes,
            }
            path = ckpt.save_checkpoint(
                self.out,
                self.step,
                policy=self.policy,
                optimizer=self.optimizer,
                state=state,
                keep=self.cfg.keep_checkpoints,
            )
        self.acc.wait_for_everyone()
        return path

    def cleanup(self) -> None:
        self.acc.wait_for_everyone()
        self.acc.end_training()

    # ------------------------------------------------------------------ one rollout batch
    def _allowed_tags(self) -> tuple[set[str] | None, list[str] | None, dict[str, float] | None]:
        cfg = self.cfg
        if cfg.curriculum == "static":
            stage = static_stage(self.step / cfg.max_steps, cfg.curriculum_boundaries)
            sizes = static_sizes(stage, cumulative=cfg.curriculum_cumulative)
            return {t for t in TAG_NAMES if len(t) in sizes}, None, None
        if cfg.curriculum == "dynamic":
            present = list(self.sampler.order)
            d = self.window.difficulties(present)
            shares = {t: self.sampler.counts[t] / len(self.samples) for t in present}
            w = adaptive_weights(
                d, shares, tau=cfg.weight_tau, w_min=cfg.weight_min, w_max=cfg.weight_max
            )
            return None, dynamic_order(d, TAG_NAMES), {t: shares[t] * w[t] for t in present}
        return None, None, None

    def _prompt(self, sample: Any) -> Any:
        from maple_bench.present import present

        shown = sample.rmt if self.cfg.inputs == "required" else VAS
        accepted = getattr(self.policy, "accepted_streams", None)
        if accepted is not None:  # e.g. a text-only LM sees subtitles only
            shown = shown & parse_tag(sorted(accepted))
            if shown == BLIND:
                raise ValueError(
                    f"sample {sample.id!r} (RMT {sample.rmt.name}) has no stream this policy "
                    f"accepts ({', '.join(sorted(accepted))}); filter the training set by tag"
                )
        key = (sample.id, shown.name)
        if key not in self._prompt_cache:
            if len(self._prompt_cache) >= self.cfg.media_cache_items:
                self._prompt_cache.pop(next(iter(self._prompt_cache)))
            mi = present(sample, self.media_config, presentation=shown, cache=self.media_cache)
            self._prompt_cache[key] = self.policy.encode(mi)
        return self._prompt_cache[key]

    def _rollout_seed(self, position: int) -> int:
        h = hashlib.sha256(f"{self.cfg.seed}:{self.step}:{position}".encode()).digest()
        return int.from_bytes(h[:7], "little")

    def _gather(self, t: torch.Tensor) -> torch.Tensor:
        if self.acc.num_processes == 1:
            return t
        return self.acc.gather(t.to(self.acc.device)).cpu()

    def _sum(self, x: float) -> float:
        if self.acc.num_processes == 1:
            return x
        return float(
            self.acc.reduce(torch.tensor([x], dtype=torch.float64, device=self.acc.device), "sum")
        )

    def _train_step(self) -> list[dict[str, Any]]:
        """One rollout batch: sample, reward, filter + advantages, then the mini-batch updates."""
        from maple_bench.scoring import reward

        cfg, G, acc = self.cfg, self.cfg.group_size, self.acc
        t_start = time.perf_counter()
        allowed, order, quota_w = self._allowed_tags()
        batch = self.sampler.next_batch(allowed=allowed, weights=quota_w, order=order)
        rank, world = acc.process_index, acc.num_processes
        positions = list(range(rank, len(batch), world))
        local = [self.samples[batch[p]] for p in positions]
        rollout_step = self.step
        n_updates = min(cfg.steps_per_generation * cfg.ppo_epochs, cfg.max_steps - self.step)

        # rollouts (no grad) and rewards from the evaluators' scorer
        prompts = [self._prompt(s) for s in local]
        seeds: list[int] | None = [self._rollout_seed(p) for p in positions]
        if cfg.rollout_seeding == "batch":
            torch.manual_seed(self._rollout_seed(-1 - rank))
            seeds = None
        t_roll = time.perf_counter()
        # old log-probs from the rollout policy are needed once a second update reuses the batch
        ro = self.policy.sample(
            prompts, G, cfg.temperature, with_logprobs=n_updates > 1, seeds=seeds
        )
        rollout_time = time.perf_counter() - t_roll
        rows_sample = [s for s in local for _ in range(G)]
        rewards = torch.tensor(
            [
                reward(s, txt, format_weight=cfg.format_weight)
                for s, txt in zip(rows_sample, ro.texts)
            ],
            dtype=torch.float32,
        )
        tag_ids = torch.tensor([TAG_NAMES.index(s.rmt.name) for s in rows_sample])
        groups = torch.tensor(positions).repeat_interleave(G)
        n_local = rewards.numel()
        # canonical row id = batch position * G + completion index: independent of world size
        canon = groups * G + torch.arange(n_local) % G

        # the global batch, in canonical order
        g_canon = self._gather(canon)
        order_idx = torch.argsort(g_canon)
        g_rewards = self._gather(rewards)[order_idx]
        g_tags = self._gather(tag_ids)[order_idx]
        g_groups = self._gather(groups)[order_idx]
        g_ntok = self._gather(ro.mask.sum(-1).float())[order_idx]
        g_adv, g_keep = filtered_advantages(
            g_rewards,
            mode=cfg.advantages,
            filter=cfg.filter,
            groups=g_groups,
            strata=g_tags,
            eps=cfg.adv_eps,
            min_size=cfg.min_stratum_size,
            scale=cfg.scale_advantages,
        )
        g_tag_names = [TAG_NAMES[i] for i in g_tags.tolist()]
        weights = None
        if cfg.adaptive_weights:
            kept_tags = [t for t, k in zip(g_tag_names, g_keep.tolist()) if k]
            shares = {t: kept_tags.count(t) / max(len(kept_tags), 1) for t in set(kept_tags)}
            weights = adaptive_weights(
                self.window.difficulties(shares),
                shares,
                tau=cfg.weight_tau,
                w_min=cfg.weight_min,
                w_max=cfg.weight_max,
            )
        self.window.update(g_tag_names, g_rewards.tolist())
        # `early`: filtered rows skip the loss pass; `late` / `none`: every row runs, c_j = 0
        run_rows = (
            g_keep.nonzero().flatten() if cfg.filter == "early" else torch.arange(len(g_keep))
        )

        base = {
            "rewards": g_rewards,
            "tags": g_tag_names,
            "keep": g_keep,
            "adv": g_adv,
            "weights": weights,
            "n_kept": float(g_keep.sum()),
            "batch": batch,
            "rollout_time": rollout_time,
            "tokens": float(g_ntok.sum()),
            "groups": g_groups,
        }
        self.last_batch = base  # the global batch of the latest step (tests, callbacks)
        local_of = {int(k): j for j, k in enumerate(canon.tolist())}  # canonical id -> local row
        out = []
        done = 0
        for epoch in range(cfg.ppo_epochs):
            parts = split_minibatches(
                run_rows, cfg.steps_per_generation, (cfg.seed, rollout_step, epoch)
            )
            for part in parts:
                if done >= n_updates:
                    break
                mb_keep = g_keep[part]
                c_part = per_sample_weights(
                    [g_tag_names[i] for i in part.tolist()],
                    weights,
                    mode=cfg.stratum_weighting,
                    keep=mb_keep,
                )
                n_kept = float(mb_keep.sum())
                t_kept = float(g_ntok[part][mb_keep].sum())
                mine = [
                    (local_of[int(k)], j) for j, k in enumerate(part.tolist()) if int(k) in local_of
                ]
                rows = torch.tensor([m[0] for m in mine], dtype=torch.long)
                sel = torch.tensor([m[1] for m in mine], dtype=torch.long)
                adv_l = torch.zeros(n_local)
                c_l = torch.zeros(n_local)
                if rows.numel():
                    adv_l[rows] = g_adv[part][sel]
                    c_l[rows] = c_part[sel]
                stats = self._update(prompts, ro, rows, adv_l, c_l, n_kept, t_kept)
                self.step += 1
                done += 1
                row = step_row(self.step, base, stats, time.perf_counter() - t_start)
                row["lr"] = self.optimizer.param_groups[0]["lr"]
                row["kl"] = row["kl"] if self.ref_policy is not None else 0.0
                row["minibatch"] = done
                out.append(row)
                t_start = time.perf_counter()
        return out

    def _update(
        self,
        prompts: list[Any],
        ro: Any,
        rows: torch.Tensor,
        adv: torch.Tensor,
        c: torch.Tensor,
        n_kept: float,
        t_kept: float,
    ) -> dict[str, float]:
        """Loss over micro-batches of ``rows``, summed gradients, one optimizer step."""
        cfg, G, acc = self.cfg, self.cfg.group_size, self.acc
        params = [p for p in self.policy.model.parameters() if p.requires_grad]
        self.optimizer.zero_grad(set_to_none=False)
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        track_var = cfg.grad_variance
        prev = [torch.zeros_like(p) for p in params] if track_var else []
        sq_parts = 0.0
        tot = {
            "loss": 0.0,
            "clip_low_count": 0.0,
            "clip_high_count": 0.0,
            "token_count": 0.0,
            "entropy_sum": 0.0,
            "kl_sum": 0.0,
        }
        chunks = (
            [ch for ch in torch.tensor_split(rows, cfg.grad_accum) if ch.numel()]
            if rows.numel()
            else []
        )
        model = self.policy.model
        for ch in chunks:
            idx = ch.tolist()
            row_prompts = [prompts[j // G] for j in idx]
            tokens, mask = ro.tokens[idx], ro.mask[idx].to(acc.device)
            logp, ent = self.policy.logprobs(row_prompts, tokens, mask, cfg.temperature)
            old = ro.logprobs[idx].to(logp.device) if ro.logprobs is not None else logp.detach()
            sur = clipped_surrogate(
                logp, old, adv[idx].to(logp.device), eps_low=cfg.eps_low, eps_high=cfg.eps_high
            )
            per_tok = sur.loss
            if self.ref_policy is not None:
                with torch.no_grad():
                    ref_logp, _ = self.ref_policy.logprobs(
                        row_prompts, tokens, mask, cfg.temperature
                    )
                kl = k3(logp, ref_logp)
                per_tok = per_tok + cfg.kl_beta * kl
                tot["kl_sum"] += float((kl.detach() * mask).sum())
            loss = aggregate(
                per_tok,
                mask,
                mode=cfg.loss_agg,
                num_samples=n_kept,
                num_tokens=t_kept,
                max_len=self.policy.max_len,
                weights=c[idx].to(logp.device),
            )
            loss.backward()
            tot["loss"] += float(loss.detach())
            kept_tokens = mask * (c[idx].to(mask.device) != 0)[:, None]  # `late` rows excluded
            for name, v in clip_fractions(sur, kept_tokens).items():
                tot[name] += v
            tot["entropy_sum"] += float((ent.detach() * kept_tokens).sum())
            if track_var:
                part = 0.0
                for p, q in zip(params, prev):
                    part += float(((p.grad - q) ** 2).sum())
                    q.copy_(p.grad)
                sq_parts += part
        n_parts = self._sum(float(len(chunks)))
        sq_parts = self._sum(sq_parts)
        tot = {k: self._sum(v) for k, v in tot.items()}
        if acc.num_processes > 1:
            for p in params:
                p.grad = acc.reduce(p.grad, "sum")
        gsq = float(sum((p.grad.float() ** 2).sum() for p in params))
        grad_norm = gsq**0.5
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        if n_kept > 0:
            self.optimizer.step()
        k = n_parts
        grad_var = (k * k * sq_parts - k * gsq) / (k * (k - 1)) if k >= 2 else float("nan")
        return {
            **tot,
            "grad_norm": grad_norm,
            "grad_var": grad_var,
            "grad_var_rel": grad_var / gsq if gsq > 0 else float("nan"),
            "micro_batches": k,
            "model_mode_train": float(model.training),
        }
