"""``MapoGRPOConfig``: TRL's ``GRPOConfig`` plus the MAPO keys, and the map from ``TrainConfig``.

The MAPO keys mean what they mean in :class:`maple_bench.mapo.config.TrainConfig` (same names,
same choices, same defaults as the ``mapo`` preset where TRL allows). Everything else (batching,
generation, optimiser, vLLM, PEFT, DeepSpeed / FSDP, logging) is TRL's own and untouched.

How our loss settings map onto TRL's (``maple-bench train`` -> TRL):

=================================  =======================================================
``loss_agg`` sample/token/constant ``loss_type`` grpo / dapo / dr_grpo
``eps_low`` / ``eps_high``         ``epsilon`` / ``epsilon_high``
``kl_beta`` (k3, no IS factor)     ``beta`` with ``use_bias_correction_kl=False``
``ppo_epochs``                     ``num_iterations``
``steps_per_generation``           ``steps_per_generation`` x ``gradient_accumulation_steps``
``grad_accum``                     ``gradient_accumulation_steps``
``mixed_precision`` (auto: CUDA)   ``bf16`` / ``fp16`` (TRL's own default: bf16, even on CPU)
``lr_scheduler``, ``warmup_steps`` ``lr_scheduler_type``, ``warmup_steps``
=================================  =======================================================

Combinations TRL cannot express are refused with the reason: other loss types (bnpo, cispo,
sapo, luspo, vespo have no maple-bench counterpart), a KL term together with stratum weights or
filtering (maple-bench weights the KL per completion with c_j, TRL adds it unweighted), an
optimizer step that spans two generation batches, and the ``compact`` / omni policies (TRL's
loss forward carries text and images, not audio or video features).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from trl import GRPOConfig

from maple_bench.mapo.advantages import ADVANTAGE_MODES
from maple_bench.mapo.config import SAMPLERS, STRATIFIED_MODES, TrainConfig
from maple_bench.mapo.curriculum import CURRICULA
from maple_bench.mapo.filtering import FILTER_MODES
from maple_bench.mapo.weights import STRATUM_WEIGHTINGS

#: ``advantages`` choices: ours, plus ``trl`` (TRL's own advantages, untouched: the
#: modality-unaware baseline with which the subclass is plain ``GRPOTrainer``).
TRL_ADVANTAGE_MODES = (*ADVANTAGE_MODES, "trl")
#: maple-bench loss aggregation -> TRL loss_type.
LOSS_TYPES = {"sample": "grpo", "token": "dapo", "constant": "dr_grpo"}


@dataclass
class MapoGRPOConfig(GRPOConfig):
    """TRL's ``GRPOConfig`` plus MAPO's advantage, filtering, weighting, curriculum and sampler keys.

    With ``advantages="trl"``, ``sampler="mixed"`` and ``curriculum="none"`` the trainer is plain
    ``GRPOTrainer`` (it only adds per-stratum logging).
    """

    advantages: str = field(
        default="stratum",
        metadata={
            "help": "Advantage estimator: 'stratum' (MAPO: mean and std within the stratum), "
            "'group' (per-prompt GRPO), 'group_stratum' (prompt mean, stratum std), 'global' "
            "(MUPO: one normalisation over the batch) or 'trl' (TRL's own advantages, untouched)."
        },
    )
    adv_eps: float = field(
        default=1e-6, metadata={"help": "Added to the std in the advantage denominator."}
    )
    min_stratum_size: int = field(
        default=2, metadata={"help": "Strata smaller than this use the (kept) batch statistics."}
    )
    scale_advantages: bool = field(
        default=True, metadata={"help": "Divide advantages by the std (False: centring only)."}
    )
    filter: str | None = field(
        default=None,
        metadata={
            "help": "Zero-variance groups: 'late' (masked out of the loss and its normaliser), "
            "'early' (the same loss in TRL: rows still run the loss forward), or 'none'. "
            "Default: 'late', or 'none' with advantages='trl'."
        },
    )
    stratum_weighting: str | None = field(
        default=None,
        metadata={
            "help": "How stratum weights enter the loss: 'g_ma' (sum_M w_M mean_M), 'balanced' "
            "(g_MA / K) or 'proportional' (batch mean). Default: 'g_ma', or 'proportional' "
            "with advantages='trl'."
        },
    )
    adaptive_weights: bool = field(
        default=False, metadata={"help": "Weight strata by difficulty (Beta-KL to Beta(100, 1))."}
    )
    weight_tau: float = field(default=1.0, metadata={"help": "Adaptive weights: temperature."})
    weight_min: float = field(default=0.5, metadata={"help": "Adaptive weights: lower clip."})
    weight_max: float = field(default=2.0, metadata={"help": "Adaptive weights: upper clip."})
    reward_window: int = field(
        default=512,
        metadata={"help": "Rewards remembered per stratum (adaptive weights, dynamic curriculum)."},
    )
    curriculum: str = field(
        default="none",
        metadata={
            "help": "'none', 'static' (uni -> bi -> tri tags; needs RMT strata) or 'dynamic' "
            "(hardest strata first / more often; needs sampler='stratified')."
        },
    )
    curriculum_boundaries: list[float] = field(
        default_factory=lambda: [1 / 3, 2 / 3],
        metadata={
            "help": "Static curriculum: fractions of max_steps where bi-, then tri-modal tags start."
        },
    )
    curriculum_cumulative: bool = field(
        default=True, metadata={"help": "Static curriculum: keep earlier levels in the pool."}
    )
    sampler: str = field(
        default="stratified",
        metadata={
            "help": "'stratified' (per-stratum quotas or one stratum per batch) or 'mixed' "
            "(TRL's RepeatSampler when no curriculum is set)."
        },
    )
    stratified_mode: str = field(
        default="quota",
        metadata={
            "help": "Stratified sampler: 'quota' (batches in stratum proportions) or 'single'."
        },
    )
    strata_column: str = field(
        default="rmt",
        metadata={
            "help": "Dataset column holding each prompt's stratum (the required modality tag)."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        trl_mode = self.advantages == "trl"
        if self.filter is None:
            self.filter = "none" if trl_mode else "late"
        if self.stratum_weighting is None:
            self.stratum_weighting = "proportional" if trl_mode else "g_ma"
        choices: dict[str, tuple[str, ...]] = {
            "advantages": TRL_ADVANTAGE_MODES,
            "filter": FILTER_MODES,
            "stratum_weighting": STRATUM_WEIGHTINGS,
            "curriculum": CURRICULA,
            "sampler": SAMPLERS,
            "stratified_mode": STRATIFIED_MODES,
        }
        for key, valid in choices.items():
            if getattr(self, key) not in valid:
                raise ValueError(
                    f"MapoGRPOConfig {key}={getattr(self, key)!r} is not one of {', '.join(valid)}"
                )
        if self.curriculum == "dynamic" and self.sampler != "stratified":
            raise ValueError(
                "MapoGRPOConfig curriculum='dynamic' acts through per-stratum quotas: set "
                "sampler='stratified'"
            )
        if list(self.curriculum_boundaries) != sorted(self.curriculum_boundaries):
            raise ValueError(
                f"MapoGRPOConfig curriculum_boundaries must be increasing, got {self.curriculum_boundaries}"
            )
        if trl_mode:
            if (
                self.filter != "none"
                or self.stratum_weighting != "proportional"
                or self.adaptive_weights
            ):
                raise ValueError(
                    "MapoGRPOConfig advantages='trl' leaves TRL's advantages and loss untouched; "
                    "filter, stratum_weighting and adaptive_weights need a maple-bench estimator "
                    f"(advantages in {', '.join(ADVANTAGE_MODES)})"
                )
            return
        self._check_expressible()

    def _check_expressible(self) -> None:
        """Refuse MAPO settings that TRL's loss cannot carry out exactly."""
        if self.loss_type not in LOSS_TYPES.values():
            raise ValueError(
                f"MapoGRPOConfig loss_type={self.loss_type!r} has no maple-bench counterpart: MAPO "
                "maps loss_agg sample -> 'grpo', token -> 'dapo', constant -> 'dr_grpo'; "
                "set one of those (or advantages='trl' to keep TRL's estimator)"
            )
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError(
                "MapoGRPOConfig: MAPO normalises the weighted sum of the reward functions; "
                f"multi_objective_aggregation={self.multi_objective_aggregation!r} normalises each "
                "function first. Use 'sum_then_normalize' (or advantages='trl')"
            )
        spg = int(self.steps_per_generation or 1)  # set by GRPOConfig.__post_init__
        if spg % self.gradient_accumulation_steps:
            raise ValueError(
                f"MapoGRPOConfig steps_per_generation ({self.steps_per_generation}) must be a "
                f"multiple of gradient_accumulation_steps ({self.gradient_accumulation_steps}): "
                "MAPO normalises each optimizer step over its own rows, so a step may not span "
                "two generation batches"
            )
        reweighted = (
            self.filter != "none"
            or self.stratum_weighting != "proportional"
            or self.adaptive_weights
        )
        if self.beta != 0.0 and reweighted:
            raise ValueError(
                f"MapoGRPOConfig beta={self.beta} with filter={self.filter!r}, stratum_weighting="
                f"{self.stratum_weighting!r}, adaptive_weights={self.adaptive_weights}: maple-bench "
                "weights the KL term per completion like the policy term, TRL adds it unweighted. "
                "Set beta=0 (MAPO's default), or filter='none', stratum_weighting='proportional' "
                "and adaptive_weights=False"
            )

    @property
    def mapo_active(self) -> bool:
        """True when the trainer recomputes advantages (any mode but ``trl``)."""
        return self.advantages != "trl"


def grpo_config_from_train_config(
    cfg: TrainConfig, output_dir: str, *, num_processes: int | None = None, **overrides: Any
) -> MapoGRPOConfig:
    """The ``MapoGRPOConfig`` that runs ``cfg``'s recipe under TRL (see the module docstring).

    ``batch_size`` prompts x ``group_size`` completions per rollout batch are split over
    ``num_processes`` (default: ``$WORLD_SIZE`` or 1) and ``steps_per_generation`` x
    ``grad_accum`` micro-batches. ``overrides`` set any further ``GRPOConfig`` field. The
    reward's ``format_weight`` goes to :func:`maple_bench.mapo.trl.make_maple_reward`.
    """
    if cfg.policy != "causal_lm":  # (config aliases resolve to qwen_omni_thinker)
        raise ValueError(
            f"policy {cfg.policy!r} cannot train under TRL: its loss forward carries text (and "
            "images), not audio or video features; train it with `maple-bench train`"
        )
    if cfg.kl_beta != 0.0 and (
        cfg.filter != "none" or cfg.stratum_weighting != "proportional" or cfg.adaptive_weights
    ):
        raise ValueError(
            "kl_beta > 0 with filtering or stratum weights cannot be expressed in TRL (it adds "
            "the KL term unweighted); set kl_beta=0 or filter=none, stratum_weighting=proportional"
        )
    world = num_processes if num_processes is not None else int(os.environ.get("WORLD_SIZE", "1"))
    chunks = cfg.steps_per_generation * cfg.grad_accum
    rows = cfg.batch_size * cfg.group_size
    if rows % (world * chunks):
        raise ValueError(
            f"batch_size x group_size = {rows} completions cannot be split evenly over {world} "
            f"process(es) x {chunks} micro-batches (steps_per_generation x grad_accum)"
        )
    # TRL defaults to bf16 autocast, on CPU too; maple-bench's "auto" means bf16 on CUDA only
    precision = cfg.mixed_precision
    if precision == "auto":
        import torch

        precision = "bf16" if torch.cuda.is_available() else "no"
    dtype = {"bf16": precision == "bf16", "fp16": precision == "fp16"}
    kwargs: dict[str, Any] = dict(
        output_dir=output_dir,
        num_generations=cfg.group_size,
        per_device_train_batch_size=rows // (world * chunks),
        steps_per_generation=chunks,
        gradient_accumulation_steps=cfg.grad_accum,
        num_iterations=cfg.ppo_epochs,
        max_completion_length=cfg.max_new_tokens,
        temperature=cfg.temperature,
        top_p=1.0,
        top_k=0,
        loss_type=LOSS_TYPES[cfg.loss_agg],
        epsilon=cfg.eps_low,
        epsilon_high=cfg.eps_high,
        beta=cfg.kl_beta,
        use_bias_correction_kl=False,
        learning_rate=cfg.lr,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_steps,
        mask_truncated_completions=cfg.mask_truncated_completions,
        gradient_checkpointing=cfg.gradient_checkpointing,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        max_steps=cfg.max_steps,
        seed=cfg.seed,
        use_cpu=cfg.device == "cpu",
        advantages=cfg.advantages,
        adv_eps=cfg.adv_eps,
        min_stratum_size=cfg.min_stratum_size,
        scale_advantages=cfg.scale_advantages,
        filter=cfg.filter,
        stratum_weighting=cfg.stratum_weighting,
        adaptive_weights=cfg.adaptive_weights,
        weight_tau=cfg.weight_tau,
        weight_min=cfg.weight_min,
        weight_max=cfg.weight_max,
        reward_window=cfg.reward_window,
        curriculum=cfg.curriculum,
        curriculum_boundaries=list(cfg.curriculum_boundaries),
        curriculum_cumulative=cfg.curriculum_cumulative,
        sampler=cfg.sampler,
        stratified_mode=cfg.stratified_mode,
        **dtype,
    )
    kwargs.update(overrides)
    return MapoGRPOConfig(**kwargs)
