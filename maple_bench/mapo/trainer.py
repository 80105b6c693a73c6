"""The MAPO / MUPO training recipe: one readable class (torchtune style).

Each rollout batch reads top to bottom:
sampler -> present (required or full streams) -> rollouts -> rewards (the evaluators' scorer) ->
gather over processes -> zero-variance filter -> advantages over the kept rows of the global
batch -> old log-probs of the rollout policy (when a batch feeds more than one update) -> for each
of ``ppo_epochs`` passes, a seeded shuffle split into ``steps_per_generation`` mini-batches, each
one optimizer step (loss per micro-batch, gradients summed over micro-batches and processes,
clip, step, LR schedule) -> metrics, trackers, held-out evaluation, checkpoint.
Mini-batch k is the same set of rows whatever the number of processes (rows are shuffled in
their canonical order: batch position x G + completion index).

Scale: the policy's :class:`~maple_bench.mapo.policy.PolicyRunner` and the AdamW optimizer are
prepared by accelerate, so ``accelerate launch --config_file configs/accelerate/{ddp,fsdp2,
deepspeed}.yaml`` gives DDP, FSDP2 (parameters sharded as DTensors) or DeepSpeed. Weights stay
float32 (master weights); ``mixed_precision=bf16`` runs forwards under autocast. Every process
runs exactly ``grad_accum`` micro-batches per optimizer step (a process without rows in one runs
a zero-weight row), as sharded collectives need. DDP and FSDP average gradients over processes;
each process' loss is already divided by the *global* counts, so it is multiplied by the number
of processes before backward and the result is the sum.

Distributed runs split every global batch of prompts across processes; rewards, strata and
prompt ids are gathered, so stratum statistics, filtering and the loss normaliser are those of
the global batch. Rollouts draw from one generator per prompt seeded by (seed, step, global
position), so a run's samples do not depend on the number of processes and a resumed run draws
exactly what the uninterrupted one would have.

Gradient-variance estimate (``grad_var``, single process only; NaN otherwise): with K
micro-batches contributing d_1..d_K to the step gradient g = sum_k d_k, each K * d_k is an
unbiased estimate of g; ``grad_var`` = (1 / (K (K - 1))) sum_k ||K d_k - g||^2 estimates the total
variance of the step's gradient estimate, ``grad_var_rel`` = grad_var / ||g||^2 its noise-to-signal
ratio. Needs grad_accum >= 2.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from maple_bench.mapo import checkpoint as ckpt
from maple_bench.mapo.batching import split_minibatches
from maple_bench.mapo.config import TrainConfig
from maple_bench.mapo.kl import k3
from maple_bench.mapo.loss import aggregate, clip_fractions, clipped_surrogate
from maple_bench.mapo.metrics import MetricsLog, plot_curves, read_metrics, step_row
from maple_bench.mapo.plan import Plan, curriculum_plan, rollout_plan
from maple_bench.mapo.sampler import TagSampler
from maple_bench.mapo.weights import RewardWindow, per_sample_weights
from maple_bench.modality import BLIND, TAG_NAMES, VAS, parse_tag

log = logging.getLogger(__name__)
Callback = Callable[["MapoTrainer", dict], None]
Evaluator = Callable[["MapoTrainer", Path], dict[str, float]]

#: config keys that do not change what is trained: a run may resume with other values
RESUMABLE_KEYS = frozenset(
    {
        "max_steps",
        "save_every",
        "keep_checkpoints",
        "plot",
        "progress",
        "log_with",
        "eval_every",
        "eval_data",
        "eval_split",
        "eval_limit",
        "eval_task",
        "device",
        "media_cache_items",
        "media_cache_mb",
        "prompt_cache_mb",
        "extra",
    }
)


class RecipeMismatchError(ValueError):
    """``OUT`` holds checkpoints of a run with a different recipe."""


def recipe_diff(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``key: saved -> current`` for every recipe key (not in :data:`RESUMABLE_KEYS`) that
    differs; keys missing from an older ``config.json`` count as different."""
    out = []
    for k in sorted(set(saved) | set(current)):
        if k in RESUMABLE_KEYS:
            continue
        if saved.get(k, "<absent>") != current.get(k, "<absent>"):
            out.append(f"{k}: {saved.get(k, '<absent>')!r} -> {current.get(k, '<absent>')!r}")
    return out


def _nbytes(x: Any) -> int:
    if torch.is_tensor(x):
        return x.element_size() * x.nelement()
    if isinstance(x, dict):
        return sum(_nbytes(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return sum(_nbytes(v) for v in x)
    return 64


class PromptCache:
    """Encoded prompts (model input tensors) by (sample id, presentation), LRU, byte-bounded."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple[str, str], tuple[Any, int]] = OrderedDict()
        self.bytes = 0

    def get(self, key: tuple[str, str], make: Callable[[], Any]) -> Any:
        if key in self._data:
            self._data.move_to_end(key)
            return self._data[key][0]
        value = make()
        size = _nbytes(value)
        self._data[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes and len(self._data) > 1:
            _, (_, old) = self._data.popitem(last=False)
            self.bytes -= old
        return value

    def __len__(self) -> int:
        return len(self._data)


def _disable_dropout(model: torch.nn.Module) -> None:
    """RL needs pi_old and pi to be the same function at ratio 1: no dropout anywhere."""
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
        for name in ("attention_dropout", "dropout", "hidden_dropout"):
            if isinstance(getattr(m, name, None), float):
                setattr(m, name, 0.0)


def _available_trackers(spec: str) -> list[str]:
    import importlib.util

    if spec == "none":
        return []
    if spec == "auto":
        has_tb = any(importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX"))
        return ["tensorboard"] if has_tb else []
    return [t.strip() for t in spec.split(",") if t.strip()]


def _enable_cpu_fsdp(acc: Any) -> None:
    """Turn on accelerate's FSDP for CPU processes (gloo).

    accelerate only switches to FSDP for accelerator backends (CUDA, XPU, ...); on CPU it falls
    back to DDP. FSDP2's ``fully_shard`` itself works on CPU with gloo, so when the launch
    environment asks for FSDP (``ACCELERATE_USE_FSDP``, e.g. from configs/accelerate/fsdp2.yaml)
    we set the same state accelerate would have set, and ``prepare`` runs its usual FSDP2 path.
    This is what makes the sharded-training tests possible on CPU machines.
    """
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    acc.state.fsdp_plugin = FullyShardedDataParallelPlugin()
    acc.state.distributed_type = DistributedType.FSDP


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
        evaluator: Evaluator | None = None,
    ) -> None:
        """``samples`` + ``media_root`` bypass loading ``data``; ``policy`` bypasses building one
        from the config; ``media_cache`` (a MediaCache) may be shared between runs;
        ``evaluator(trainer, model_dir) -> {metric: value}`` replaces the default held-out
        evaluation (the ``maple-eval`` runner on a saved checkpoint) every ``eval_every`` steps."""
        self.cfg = config
        self._shared_cache = media_cache
        self.out = Path(out)
        self._data, self._samples, self._media_root = data, samples, media_root
        self.policy = policy
        self.callbacks = list(callbacks)
        self.evaluator = evaluator
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self._bar: Any = None

    # ------------------------------------------------------------------ setup
    def setup(self, resume: bool = True) -> MapoTrainer:
        self.acc = self._setup_accelerator()
        resume_from = ckpt.latest_checkpoint(self.out) if resume else None
        if resume_from is not None:
            self._check_recipe()
        self.samples, self.media_root = self._setup_data()
        self.media_config, self.media_cache = self._setup_media()
        if self.policy is None:
            self._check_streams()  # before loading any weights
            from maple_bench.mapo.loading import build_policy

            model_path = resume_from / "model" if resume_from else self.cfg.model
            self.policy = build_policy(self.cfg, model_path, self.media_config)
        elif resume_from is not None:
            self.policy.load_weights(resume_from / "model")
        self.ref_policy = self._setup_reference()
        self._prepare_model()
        self.sampler = self._setup_sampler()
        self.window = RewardWindow(self.cfg.reward_window, TAG_NAMES)
        self._prompt_cache = PromptCache(int(self.cfg.prompt_cache_mb * 2**20))
        self.metrics = MetricsLog(self.out / "metrics.jsonl", enabled=self.acc.is_main_process)
        if self.acc.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            if resume_from is None:
                self._start_fresh()
            (self.out / "config.json").write_text(json.dumps(self.cfg.to_dict(), indent=1))
        self.acc.wait_for_everyone()
        if resume_from is not None:
            self._resume(resume_from)
        self._setup_trackers()
        return self

    def _check_recipe(self) -> None:
        saved_path = self.out / "config.json"
        if not saved_path.is_file():
            return
        saved = json.loads(saved_path.read_text())
        diff = recipe_diff(saved, self.cfg.to_dict())
        if diff:
            raise RecipeMismatchError(
                f"{self.out} holds checkpoints of a different recipe ({'; '.join(diff)}): "
                "use another --out, or --no-resume to start this folder over"
            )

    def _check_streams(self) -> None:
        """Refuse, before loading a model, training samples the policy cannot see at all."""
        from maple_bench.mapo.loading import policy_streams

        accepted = policy_streams(self.cfg)
        if accepted is None:
            return
        can = parse_tag(sorted(accepted))
        blind: dict[str, int] = {}
        for s in self.samples:
            shown = s.rmt if self.cfg.inputs == "required" else VAS
            if shown & can == BLIND:
                blind[s.rmt.name] = blind.get(s.rmt.name, 0) + 1
        if blind:
            ok = [t for t in TAG_NAMES if parse_tag(t) & can != BLIND]
            counts = ", ".join(f"{t}: {n}" for t, n in blind.items())
            raise ValueError(
                f"policy={self.cfg.policy} accepts only {'/'.join(sorted(accepted))} but the "
                f"training set has samples that require none of them ({counts}); train on the "
                f"tags it can see: train_tags=[{','.join(ok)}]"
            )

    def _start_fresh(self) -> None:
        """Not resuming: old metrics and checkpoints in OUT belong to another run; a later resume
        must not pick them up, and the metrics log starts empty."""
        for name in ("metrics.jsonl", "curves.png"):
            (self.out / name).unlink(missing_ok=True)
        if (self.out / "checkpoints").is_dir():
            log.warning("%s: starting over, removing the old checkpoints", self.out)
            shutil.rmtree(self.out / "checkpoints")

    def _setup_accelerator(self) -> Any:
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        cuda = torch.cuda.is_available()
        cpu = self.cfg.device == "cpu" or (self.cfg.device == "auto" and not cuda)
        mp: str | None = self.cfg.mixed_precision
        if mp == "auto":
            launched = os.environ.get("ACCELERATE_MIXED_PRECISION")
            mp = None if launched else ("bf16" if not cpu else "no")
        trackers = _available_trackers(self.cfg.log_with)
        # accelerate keeps one process-wide state and refuses a second Accelerator with other
        # settings (mixed precision, plugins); trainers built one after another in a process
        # (tests, benchmarks, the demo) each get their own. The process group is kept.
        from accelerate.state import AcceleratorState

        AcceleratorState._reset_state(reset_partial_state=False)
        acc = Accelerator(
            cpu=cpu,
            mixed_precision=mp,
            gradient_accumulation_steps=self.cfg.grad_accum,
            log_with=trackers or None,
            project_dir=str(self.out / "trackers"),
            # modality-dependent control flow: a V-only micro-batch leaves the audio tower unused
            kwargs_handlers=[
                DistributedDataParallelKwargs(find_unused_parameters=True, broadcast_buffers=False)
            ],
        )
        if cpu and acc.num_processes > 1 and os.environ.get("ACCELERATE_USE_FSDP") == "true":
            _enable_cpu_fsdp(acc)
        if self.cfg.batch_size % acc.num_processes:
            raise ValueError(
                f"batch_size {self.cfg.batch_size} must be divisible by the "
                f"{acc.num_processes} processes"
            )
        return acc

    def _setup_trackers(self) -> None:
        if not self.acc.log_with:
            return
        flat = {
            k: (v if isinstance(v, (int, float, str, bool)) else json.dumps(v))
            for k, v in self.cfg.to_dict().items()
        }
        self.acc.init_trackers(str(self.cfg.extra.get("name", "maple-bench-train")), config=flat)

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
        if self.cfg.train_tags is not None:
            samples = [s for s in samples if s.rmt.name in self.cfg.train_tags]
        if not samples:
            tags = f", train_tags {list(self.cfg.train_tags)}" if self.cfg.train_tags else ""
            raise ValueError(
                f"no multiple-choice samples to train on in {self._data!r} "
                f"(config {self.cfg.data_config}, split {self.cfg.split}{tags})"
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
            cache = MediaCache(
                max_items=self.cfg.media_cache_items,
                max_bytes=int(self.cfg.media_cache_mb * 2**20),
            )
        return mc, cache

    def _setup_reference(self) -> Any:
        """The frozen initial policy for the KL term (None when kl_beta = 0). Loaded again from
        the checkpoint the run starts from (no copy of the live module, no gradients, in the
        autocast dtype when mixed precision is on); a model built from scratch is copied."""
        if self.cfg.kl_beta <= 0:
            return None
        import copy

        ref = copy.copy(self.policy)
        start = self.cfg.model
        if start is not None and hasattr(self.policy.model, "from_pretrained"):
            dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(
                str(self.acc.mixed_precision), torch.float32
            )
            ref.model = type(self.policy.model).from_pretrained(start, dtype=dtype)
        else:
            ref.model = copy.deepcopy(self.policy.model)
        ref.model.to(self.acc.device).eval().requires_grad_(False)
        _disable_dropout(ref.model)
        ref._init_runner()
        return ref

    def _prepare_model(self) -> None:
        """Dropout off, gradient checkpointing, AdamW + LR schedule, accelerate.prepare."""
        from transformers import get_scheduler

        cfg, model = self.cfg, self.policy.model
        _disable_dropout(model)
        model.float()  # fp32 master weights whatever the checkpoint's dtype
        if cfg.gradient_checkpointing:
            if not getattr(model, "supports_gradient_checkpointing", False):
                raise ValueError(
                    f"config gradient_checkpointing=true: {type(model).__name__} does not "
                    "support it; set gradient_checkpointing=false"
                )
            kwargs = {"use_reentrant": False}
            if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.2x
                model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
            model.train()  # transformers checkpoints only in train mode; dropout is off
        else:
            model.eval()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        runner, self.optimizer = self.acc.prepare(self.policy.runner, optimizer)
        self.policy.runner = runner
        self.runner = runner
        # not prepared: accelerate would step it once per process per optimizer step
        self.scheduler = get_scheduler(
            "constant_with_warmup" if cfg.lr_scheduler == "constant" else cfg.lr_scheduler,
            self.optimizer.optimizer if hasattr(self.optimizer, "optimizer") else self.optimizer,
            num_warmup_steps=cfg.warmup_steps,
            num_training_steps=cfg.max_steps,
        )
        from torch.distributed.fsdp import FSDPModule

        dist = str(self.acc.state.distributed_type)
        self.sharded = isinstance(runner, FSDPModule) or "DEEPSPEED" in dist
        if hasattr(self.policy, "synced_gpus"):
            self.policy.synced_gpus = self.sharded and self.acc.num_processes > 1
        self.params = [p for p in self.runner.parameters() if p.requires_grad]

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
        ckpt.load_optimizer(path, self.optimizer, self.runner)
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        ckpt.load_rng(path)
        self.sampler.load_state_dict(state["sampler"])
        self.window.load_state_dict(state["window"])
        self.metrics.truncate_after(self.step)
        log.info("resumed from %s at step %d", path, self.step)

    # ------------------------------------------------------------------ train
    def train(self) -> list[dict[str, Any]]:
        t0 = time.perf_counter()
        every = self.cfg.save_every
        if self.cfg.progress and self.acc.is_main_process:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.cfg.max_steps, initial=self.step, desc="train", unit="step")
        try:
            while self.step < self.cfg.max_steps:
                rows = self._train_step()  # one rollout batch: several optimizer steps
                # evaluation sees the weights after the rollout batch's last update, so it is
                # logged on that step (the one a due step belongs to)
                if any(self._due(self.cfg.eval_every, r["step"]) for r in rows):
                    rows[-1].update(self._evaluate())
                for row in rows:
                    row["wall_time"] = time.perf_counter() - t0
                    for cb in self.callbacks:
                        cb(self, row)
                    self.history.append(row)
                    self.metrics.write(row)
                    self._log_trackers(row)
                    if self._bar is not None:
                        self._bar.update(1)
                        self._bar.set_postfix(
                            reward=f"{row['reward_mean']:.3f}", loss=f"{row['loss']:.4f}"
                        )
                # checkpoints fall on rollout-batch boundaries: a resume never re-samples mid-batch
                if every and any(r["step"] % every == 0 for r in rows):
                    self.save()
            self.save()
        finally:
            if self._bar is not None:
                self._bar.close()
        if self.cfg.plot and self.acc.is_main_process:
            plot_curves(
                read_metrics(self.out / "metrics.jsonl"),
                self.out / "curves.png",
                title=str(self.cfg.extra.get("name", "")),
            )
        return self.history

    @staticmethod
    def _due(every: int, step: int) -> bool:
        return every > 0 and step % every == 0

    def _log_trackers(self, row: dict[str, Any]) -> None:
        if not self.acc.log_with:
            return
        numeric = {
            k: float(v)
            for k, v in row.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        }
        self.acc.log(numeric, step=int(row["step"]))

    def _evaluate(self) -> dict[str, float]:
        """Held-out evaluation of the current weights; returns ``eval/...`` metrics."""
        model_dir = self.out / "eval" / f"step-{self.step:06d}" / "model"
        self._save_model(model_dir)
        result: dict[str, float] = {}
        if self.acc.is_main_process:
            evaluate = self.evaluator or maple_eval_evaluator
            result = {f"eval/{k}": float(v) for k, v in evaluate(self, model_dir).items()}
            if "eval/micro_acc" in result:
                result["eval_acc"] = result["eval/micro_acc"]
        self.acc.wait_for_everyone()
        return result

    def _save_model(self, path: Path) -> None:
        """Full (unsharded) weights as a ``save_pretrained`` folder; every process must call."""
        state = ckpt.full_model_state(self.runner)
        if self.acc.is_main_process:
            ckpt.save_model(self.policy, path, state)
        self.acc.wait_for_everyone()

    def save(self) -> Path | None:
        self.acc.wait_for_everyone()
        model_state = ckpt.full_model_state(self.runner)
        optim_state = ckpt.full_optimizer_state(self.runner, self.optimizer)
        path = None
        if self.acc.is_main_process:
            state = {
                "sampler": self.sampler.state_dict(),
                "window": self.window.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "world_size": self.acc.num_processes,
            }
            path = ckpt.save_checkpoint(
                self.out,
                self.step,
                policy=self.policy,
                model_state=model_state,
                optimizer_state=optim_state,
                state=state,
                keep=self.cfg.keep_checkpoints,
            )
        self.acc.wait_for_everyone()
        return path

    def cleanup(self) -> None:
        self.acc.wait_for_everyone()
        self.acc.end_training()

    # ------------------------------------------------------------------ one rollout batch
    def _plan(self) -> Plan:
        return curriculum_plan(
            self.cfg,
            progress=self.step / self.cfg.max_steps,
            order=self.sampler.order,
            counts=self.sampler.counts,
            window=self.window,
        )

    def _prompt(self, sample: Any) -> Any:
        from maple_bench.present import present

        shown = sample.rmt if self.cfg.inputs == "required" else VAS
        accepted = getattr(self.policy, "accepted_streams", None)
        if accepted is not None:  # e.g. a text-only LM sees subtitles only
            shown = shown & parse_tag(sorted(accepted))
            if shown == BLIND:
                raise ValueError(
                    f"sample {sample.id!r} (RMT {sample.rmt.name}) has no stream this policy "
                    f"accepts ({', '.join(sorted(accepted))}); train on tags it can see with "
                    "train_tags=[...] (e.g. train_tags=[S,VS,AS,VAS] for subtitles)"
                )

        def make() -> Any:
            mi = present(sample, self.media_config, presentation=shown, cache=self.media_cache)
            return self.policy.encode(mi)

        return self._prompt_cache.get((sample.id, shown.name), make)

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

    def _micro_chunks(self, rows: torch.Tensor) -> list[torch.Tensor | None]:
        """Exactly ``grad_accum`` micro-batches of local rows (None: no row, run a dummy).

        Rows of one prompt stay adjacent (``rows`` is sorted), so a prompt is encoded once per
        micro-batch it appears in."""
        parts = torch.tensor_split(rows, self.cfg.grad_accum) if rows.numel() else []
        out: list[torch.Tensor | None] = [p if p.numel() else None for p in parts]
        return out + [None] * (self.cfg.grad_accum - len(out))

    def _old_logprobs(self, prompts: list[Any], ro: Any, rows: torch.Tensor) -> torch.Tensor:
        """Log-probs of the rollout policy for ``rows`` (local ids), before any update."""
        G = self.cfg.group_size
        old = torch.zeros_like(ro.mask)
        with torch.no_grad():
            for ch in self._micro_chunks(rows):
                idx = ch.tolist() if ch is not None else [0]  # dummy keeps processes in step
                lp, _ = self.policy.logprobs(
                    [prompts[j // G] for j in idx],
                    ro.tokens[idx],
                    ro.mask[idx],
                    self.cfg.temperature,
                )
                if ch is not None:
                    old[idx] = lp.detach().float().cpu()
        return old

    def _train_step(self) -> list[dict[str, Any]]:
        """One rollout batch: sample, reward, filter + advantages, then the mini-batch updates."""
        from maple_bench.scoring import reward

        cfg, G, acc = self.cfg, self.cfg.group_size, self.acc
        t_start = time.perf_counter()
        allowed, quota_w, order = self._plan()
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
        ro = self.policy.sample(prompts, G, cfg.temperature, with_logprobs=False, seeds=seeds)
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
        truncated = (
            ro.truncated if ro.truncated is not None else torch.zeros(n_local, dtype=torch.bool)
        )
        # canonical row id = batch position * G + completion index: independent of world size
        canon = groups * G + torch.arange(n_local) % G

        # the global batch, in canonical order
        order_idx = torch.argsort(self._gather(canon))
        g_rewards = self._gather(rewards)[order_idx]
        g_tags = self._gather(tag_ids)[order_idx]
        g_groups = self._gather(groups)[order_idx]
        g_ntok = self._gather(ro.mask.sum(-1).float())[order_idx]
        g_trunc = self._gather(truncated.long())[order_idx].bool()
        g_tag_names = [TAG_NAMES[i] for i in g_tags.tolist()]
        # g_loss: rows that enter the loss: kept, and (optionally) not truncated
        plan = rollout_plan(
            cfg,
            g_rewards,
            g_tag_names,
            groups=g_groups,
            strata=g_tags,
            window=self.window,
            drop=g_trunc if cfg.mask_truncated_completions else None,
        )
        g_adv, g_keep, g_loss, weights = plan.adv, plan.keep, plan.loss, plan.weights
        # `early`: filtered rows skip the loss pass; `late` / `none`: every row runs, c_j = 0
        run_rows = (
            g_loss.nonzero().flatten() if cfg.filter == "early" else torch.arange(len(g_keep))
        )
        local_of = {int(k): j for j, k in enumerate(canon.tolist())}  # canonical id -> local row
        my_run = torch.tensor(
            sorted(local_of[int(k)] for k in run_rows.tolist() if int(k) in local_of),
            dtype=torch.long,
        )
        old = self._old_logprobs(prompts, ro, my_run) if n_updates > 1 else None

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
            "truncated_frac": float(g_trunc.float().mean()),
        }
        self.last_batch = base  # the global batch of the latest step (tests, callbacks)
        out = []
        done = 0
        for epoch in range(cfg.ppo_epochs):
            parts = split_minibatches(
                run_rows, cfg.steps_per_generation, (cfg.seed, rollout_step, epoch)
            )
            for part in parts:
                if done >= n_updates:
                    break
                mb_loss = g_loss[part]
                c_part = per_sample_weights(
                    [g_tag_names[i] for i in part.tolist()],
                    weights,
                    mode=cfg.stratum_weighting,
                    keep=mb_loss,
                )
                n_kept = float(mb_loss.sum())
                t_kept = float(g_ntok[part][mb_loss].sum())
                mine = [
                    (local_of[int(k)], j) for j, k in enumerate(part.tolist()) if int(k) in local_of
                ]
                rows = torch.tensor(sorted(m[0] for m in mine), dtype=torch.long)
                adv_l = torch.zeros(n_local)
                c_l = torch.zeros(n_local)
                for loc, j in mine:
                    adv_l[loc] = g_adv[part[j]]
                    c_l[loc] = c_part[j]
                stats = self._update(prompts, ro, old, rows, adv_l, c_l, n_kept, t_kept)
                self.step += 1
                done += 1
                row = step_row(self.step, base, stats, time.perf_counter() - t_start)
                row["lr"] = stats["lr"]
                row["kl"] = row["kl"] if self.ref_policy is not None else 0.0
                row["minibatch"] = done
                row["truncated_frac"] = base["truncated_frac"]
                out.append(row)
                t_start = time.perf_counter()
        return out

    def _update(
        self,
        prompts: list[Any],
        ro: Any,
        old_all: torch.Tensor | None,
        rows: torch.Tensor,
        adv: torch.Tensor,
        c: torch.Tensor,
        n_kept: float,
        t_kept: float,
    ) -> dict[str, float]:
        """Loss over exactly ``grad_accum`` micro-batches of the local ``rows``, gradients summed
        over micro-batches and processes, clip, one optimizer step and one LR-schedule step."""
        cfg, G, acc = self.cfg, self.cfg.group_size, self.acc
        params = self.params
        self.optimizer.zero_grad(set_to_none=True)
        track_var = cfg.grad_variance and acc.num_processes == 1 and cfg.grad_accum >= 2
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
        # DDP / FSDP average gradients over processes; our loss is already normalised by the
        # global counts, so scale it back up to get their sum
        scale = float(acc.num_processes)
        if "DEEPSPEED" in str(acc.distributed_type):
            scale *= cfg.grad_accum  # the engine also divides by its accumulation steps
        chunks = self._micro_chunks(rows)
        for i, ch in enumerate(chunks):
            dummy = ch is None
            idx = [0] if ch is None else ch.tolist()
            row_prompts = [prompts[j // G] for j in idx]
            tokens, mask = ro.tokens[idx], ro.mask[idx].to(acc.device)
            cw = torch.zeros(len(idx)) if dummy else c[idx]
            sync = acc.no_sync(self.runner) if i < len(chunks) - 1 else contextlib.nullcontext()
            with sync:
                logp, ent = self.policy.logprobs(row_prompts, tokens, mask, cfg.temperature)
                logp = logp.float()
                old = (
                    old_all[idx].to(logp.device)
                    if old_all is not None
                    else logp.detach()  # one update per batch: on-policy, ratio 1
                )
                sur = clipped_surrogate(
                    logp, old, adv[idx].to(logp.device), eps_low=cfg.eps_low, eps_high=cfg.eps_high
                )
                per_tok = sur.loss
                if self.ref_policy is not None:
                    with torch.no_grad(), acc.autocast():  # the reference is not prepared
                        ref_logp, _ = self.ref_policy.logprobs(
                            row_prompts, tokens, mask, cfg.temperature
                        )
                    kl = k3(logp, ref_logp.float())
                    per_tok = per_tok + cfg.kl_beta * kl
                    kept_kl = mask * (cw.to(mask.device) != 0)[:, None]
                    tot["kl_sum"] += float((kl.detach() * kept_kl).sum())
                loss = aggregate(
                    per_tok,
                    mask,
                    mode=cfg.loss_agg,
                    num_samples=n_kept,
                    num_tokens=t_kept,
                    max_len=self.policy.max_len,
                    weights=cw.to(logp.device),
                )
                acc.backward(loss * scale)
            tot["loss"] += float(loss.detach())
            kept_tokens = mask * (cw.to(mask.device) != 0)[:, None]  # `late` / dummy rows out
            for name, v in clip_fractions(sur, kept_tokens).items():
                tot[name] += v
            tot["entropy_sum"] += float((ent.detach() * kept_tokens).sum())
            if track_var:
                part = 0.0
                for p, q in zip(params, prev):
                    g = p.grad if p.grad is not None else torch.zeros_like(p)
                    part += float(((g - q) ** 2).sum())
                    q.copy_(g)
                sq_parts += part
        tot = {k: self._sum(v) for k, v in tot.items()}
        norm = acc.clip_grad_norm_(
            params, cfg.max_grad_norm if cfg.max_grad_norm > 0 else float("inf")
        )
        if norm is None:  # DeepSpeed clips inside its engine
            grad_norm = float("nan")
        else:
            norm = norm.full_tensor() if hasattr(norm, "full_tensor") else norm
            grad_norm = float(norm)
        lr = self.scheduler.get_last_lr()[0]
        if n_kept > 0:
            self.optimizer.step()
        with warnings.catch_warnings():  # the schedule counts steps with nothing kept too
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
            self.scheduler.step()
        gsq = grad_norm**2
        k = float(cfg.grad_accum)
        grad_var = (k * k * sq_parts - k * gsq) / (k * (k - 1)) if track_var else float("nan")
        return {
            **tot,
            "grad_norm": grad_norm,
            "grad_var": grad_var,
            "grad_var_rel": grad_var / gsq if gsq > 0 else float("nan"),
            "micro_batches": k * acc.num_processes,
            "lr": lr,
        }


def maple_eval_evaluator(trainer: MapoTrainer, model_dir: Path) -> dict[str, float]:
    """Held-out evaluation with the ``maple-eval`` runner, in a subprocess on ``model_dir``.

    ``maple_bench`` never imports ``evaluators``: the runner is the ``maple-eval`` command
    installed next to this Python. Returns the results' headline metrics (``micro_acc``, ...).
    """
    import subprocess
    import sys

    cfg = trainer.cfg
    exe = Path(sys.executable).with_name("maple-eval")
    if not exe.exists():
        found = shutil.which("maple-eval")
        if found is None:
            raise RuntimeError(
                "eval_every > 0 needs the maple-eval command (pip install -e . installs it); "
                "set eval_every=0 to train without held-out evaluation"
            )
        exe = Path(found)
    adapter = {"qwen_omni_thinker": "qwen2_5_omni"}.get(cfg.policy, cfg.policy)
    data = cfg.eval_data or trainer._data
    if data is None:
        raise RuntimeError("eval_every > 0 needs eval_data=PATH (or training from --data)")
    out = model_dir.parent / "run"
    cmd = [
        str(exe),
        "run",
        "--task",
        cfg.eval_task,
        "--model",
        f"{adapter}:{model_dir}",
        "--data",
        str(data),
        "--output",
        str(out),
        "--frames",
        str(cfg.num_frames),
        "--seed",
        str(cfg.seed),
        "--no-progress",
    ]
    if cfg.eval_limit:
        cmd += ["--limit", str(cfg.eval_limit)]
    if trainer.media_root is not None:
        cmd += ["--media-root", str(trainer.media_root)]
    accepted = getattr(trainer.policy, "accepted_streams", None)
    if accepted is not None and set(accepted) == {"S"}:
        cmd += ["--presentations", "S,VS,AS,VAS"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"held-out evaluation failed ({' '.join(cmd)}): {' / '.join(tail)}")
    results = json.loads((out / "results.json").read_text())
    return _headline(results)


def _headline(results: Any) -> dict[str, float]:
    """The first ``headline`` mapping found in a results document (numbers only)."""
    if isinstance(results, dict):
        h = results.get("headline")
        if isinstance(h, dict):
            return {k: float(v) for k, v in h.items() if isinstance(v, (int, float))}
        for v in results.values():
            found = _headline(v)
            if found:
                return found
    if isinstance(results, list):
        for v in results:
            found = _headline(v)
            if found:
                return found
    return {}
