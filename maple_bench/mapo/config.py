"""MAPO training configuration: one frozen dataclass, presets, YAML and ``key=value`` overrides.

Unknown keys are rejected with the list of valid ones (and a close match when there is one), so
a typo in a config file fails loudly instead of silently training the default recipe.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maple_bench.mapo.advantages import ADVANTAGE_MODES
from maple_bench.mapo.curriculum import CURRICULA
from maple_bench.mapo.filtering import FILTER_MODES
from maple_bench.mapo.loss import AGGREGATIONS
from maple_bench.mapo.weights import STRATUM_WEIGHTINGS

POLICIES = ("compact", "causal_lm", "qwen_omni_thinker")
POLICY_ALIASES = {"qwen2_5_omni": "qwen_omni_thinker", "qwen2.5_omni": "qwen_omni_thinker"}
"""Other names accepted for ``policy`` (the model family's name for the thinker adapter)."""
MIXED_PRECISION = ("auto", "no", "bf16", "fp16")
LR_SCHEDULERS = ("constant", "linear", "cosine")
INPUTS = ("required", "full")
SAMPLERS = ("mixed", "stratified")
STRATIFIED_MODES = ("quota", "single")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a MAPO / MUPO run depends on (written to ``OUT/config.yaml``)."""

    # --- policy
    policy: str = "compact"
    """``compact`` (maple_bench.models.compact), ``causal_lm`` or ``qwen_omni_thinker`` (alias
    ``qwen2_5_omni``)."""
    model: str | None = None
    """Checkpoint directory to start from; None builds a fresh compact policy (compact only)."""
    compact_hidden: int = 32
    """Hidden size of a freshly built compact policy."""
    max_new_tokens: int = 16
    """Generation budget per completion (generative policies); L_max of ``constant`` aggregation."""
    temperature: float = 1.0
    """Sampling temperature (log-probs are computed at the same temperature)."""
    rollout_seeding: str = "per_prompt"
    """``per_prompt``: one RNG per prompt (a prompt's draws do not depend on batching or on the
    number of processes; text-only prompts still generate in one padded batch, sampling by
    Gumbel-max with each prompt's generator; multimodal ones one prompt at a time); ``batch``:
    torch's global RNG seeded once per step and process."""
    # --- data and inputs
    data_config: str | None = "maple_qa"
    """Dataset config to load from ``--data`` (None: the loader's default)."""
    split: str = "train"
    """Split to train on."""
    train_tags: tuple[str, ...] | None = None
    """Train only on samples whose required tag is listed (e.g. ``[S,VS,AS,VAS]`` for a
    text-only policy that sees subtitles only); None: every tag."""
    inputs: str = "required"
    """``required``: present each sample's RMT streams (MAPO); ``full``: present VAS (MUPO)."""
    num_frames: int = 4
    """Frames decoded per clip."""
    frame_size: int | None = 64
    """Resize frames to this square size (None keeps the source size)."""
    sample_rate: int = 16000
    """Audio sample rate."""
    mask_policy: str = "drop"
    """How absent streams are masked: ``drop`` or ``blank`` (maple_bench.present)."""
    media_cache_items: int = 4096
    """Decoded clips kept in the MediaCache across epochs and presentations."""
    media_cache_mb: float = 2048.0
    """Memory bound of the MediaCache (decoded frames / audio), in MiB."""
    prompt_cache_mb: float = 1024.0
    """Memory bound of the encoded-prompt cache (model input tensors), in MiB; LRU beyond it."""
    # --- batch formation
    batch_size: int = 16
    """Prompts per optimizer step, over all processes (the global batch)."""
    group_size: int = 8
    """Completions sampled per prompt (G)."""
    grad_accum: int = 1
    """Micro-batches per optimizer step (memory; also enables the gradient-variance estimate)."""
    sampler: str = "mixed"
    """``mixed``: tags interleaved; ``stratified``: per-tag quotas or one tag per batch."""
    stratified_mode: str = "quota"
    """Stratified sampler: ``quota`` (each batch in tag proportions) or ``single`` (one tag)."""
    curriculum: str = "none"
    """``none``, ``static`` (uni -> bi -> tri) or ``dynamic`` (hardest tags first / more; needs
    ``sampler=stratified``)."""
    curriculum_boundaries: tuple[float, ...] = (1 / 3, 2 / 3)
    """Static curriculum: fractions of ``max_steps`` where bi-, then tri-modal tags start."""
    curriculum_cumulative: bool = True
    """Static curriculum: keep earlier levels in the pool."""
    # --- objective
    advantages: str = "stratum"
    """``global`` (MUPO), ``group`` (GRPO), ``stratum`` (MAPO) or ``group_stratum``."""
    adv_eps: float = 1e-6
    """Added to the std in the advantage denominator."""
    min_stratum_size: int = 2
    """Strata smaller than this use the (kept) batch statistics; groups never fall back."""
    scale_advantages: bool = True
    """Divide by the std (False: centring only)."""
    filter: str = "early"
    """Zero-variance groups: ``early`` (dropped before the loss pass), ``late`` (masked), ``none``.
    Advantages are normalised over the kept rows after filtering, whatever the mode."""
    loss_agg: str = "sample"
    """``sample`` (paper), ``token`` (DAPO) or ``constant`` (Dr. GRPO)."""
    eps_low: float = 0.2
    """Lower clip: ratio >= 1 - eps_low."""
    eps_high: float = 0.28
    """Upper clip: ratio <= 1 + eps_high."""
    steps_per_generation: int = 1
    """Mini-batches (optimizer steps) per rollout batch and epoch: the batch's kept completions
    are shuffled (seeded) and split; old log-probs come from the rollout policy, so from the
    second step on the ratio moves and the clip acts (the paper: global 256 / mini 32 = 8)."""
    ppo_epochs: int = 1
    """Passes over each rollout batch's mini-batches (each pass reshuffles them)."""
    kl_beta: float = 0.0
    """Weight of the k3 KL to the frozen initial policy (0: no reference model is kept)."""
    adaptive_weights: bool = False
    """Weight strata by difficulty (Beta-KL to Beta(100, 1))."""
    weight_tau: float = 1.0
    """Adaptive weights: softmax temperature relative to the mean difficulty."""
    weight_min: float = 0.5
    """Adaptive weights: lower clip."""
    weight_max: float = 2.0
    """Adaptive weights: upper clip."""
    reward_window: int = 512
    """Adaptive weights / dynamic curriculum: rewards remembered per tag."""
    stratum_weighting: str = "g_ma"
    """``g_ma``: sum_M w_M mean_M as ARCHITECTURE section 4 defines g_MA; ``balanced``: g_MA / K
    (K strata in the step); ``proportional``: the batch mean, w_M scaling a stratum's rows (MUPO)."""
    format_weight: float = 0.0
    """Reward bonus for a parseable answer (maple_bench.scoring.reward)."""
    # --- optimisation
    lr: float = 3e-3
    """AdamW learning rate (the paper used 2e-6 for a 3B model; the compact policy wants ~1e-3)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    max_grad_norm: float = 1.0
    """Gradient clipping (0 disables)."""
    lr_scheduler: str = "constant"
    """Learning-rate schedule after warm-up: ``constant``, ``linear`` or ``cosine`` (to 0)."""
    warmup_steps: int = 0
    """Linear warm-up from 0 over this many optimizer steps."""
    mask_truncated_completions: bool = False
    """Completions that hit ``max_new_tokens`` without an end-of-turn token are left out of the
    loss (they still count in the reward statistics): DAPO's overlong filtering."""
    max_steps: int = 100
    """Optimizer steps (rollout batches x ppo_epochs)."""
    seed: int = 0
    """Seeds the sampler, rollouts and model init."""
    # --- bookkeeping
    save_every: int = 0
    """Checkpoint every N steps (0: only at the end); taken at the end of a rollout batch."""
    keep_checkpoints: int = 2
    """Most recent checkpoints kept."""
    grad_variance: bool = True
    """Estimate the gradient variance across micro-batches (needs grad_accum >= 2)."""
    plot: bool = True
    """Write PNG training curves at the end."""
    device: str = "auto"
    """``auto`` (CUDA when available), ``cpu`` or ``cuda``."""
    mixed_precision: str = "auto"
    """Weights and AdamW stay float32 (master weights); ``bf16`` / ``fp16`` run forwards under
    autocast. ``auto``: what ``accelerate launch`` was given, else bf16 on CUDA, no on CPU."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass (transformers models): memory for compute."""
    progress: bool = True
    """Show a tqdm progress bar on the main process."""
    log_with: str = "auto"
    """accelerate trackers: ``auto`` (TensorBoard when installed), ``none``, or a comma list
    (``tensorboard``, ``wandb``, ...); logs go to ``OUT/trackers``."""
    eval_every: int = 0
    """Held-out evaluation through the maple-eval runner every N steps (0: never); it runs after
    the rollout batch that contains a multiple of N and is logged on that batch's last step."""
    eval_data: str | None = None
    """Dataset for held-out evaluation (default: the training ``--data``)."""
    eval_task: str = "maple_qa"
    """maple-eval task run during training (``maple_qa``, ``synth_qa``, ...)."""
    eval_split: str = "test"
    """Split evaluated during training."""
    eval_limit: int | None = 64
    """At most this many held-out samples per evaluation (None: all)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes copied to the run directory (e.g. experiment axis names)."""

    def __post_init__(self) -> None:
        choices = {
            "policy": POLICIES,
            "inputs": INPUTS,
            "sampler": SAMPLERS,
            "stratified_mode": STRATIFIED_MODES,
            "curriculum": CURRICULA,
            "advantages": ADVANTAGE_MODES,
            "filter": FILTER_MODES,
            "loss_agg": AGGREGATIONS,
            "stratum_weighting": STRATUM_WEIGHTINGS,
            "rollout_seeding": ("per_prompt", "batch"),
            "mask_policy": ("drop", "blank"),
            "device": ("auto", "cpu", "cuda"),
            "mixed_precision": MIXED_PRECISION,
            "lr_scheduler": LR_SCHEDULERS,
        }
        for key, valid in choices.items():
            if getattr(self, key) not in valid:
                raise ValueError(
                    f"config {key}={getattr(self, key)!r} is not one of {', '.join(valid)}"
                )
        for key in (
            "batch_size",
            "group_size",
            "grad_accum",
            "steps_per_generation",
            "ppo_epochs",
            "max_steps",
        ):
            if getattr(self, key) < 1:
                raise ValueError(f"config {key} must be >= 1, got {getattr(self, key)}")
        if self.curriculum == "dynamic" and self.sampler != "stratified":
            raise ValueError(
                "config curriculum=dynamic acts through per-tag quotas / tag order: "
                "set sampler=stratified"
            )
        if self.advantages in ("group", "group_stratum") and self.group_size < 2:
            raise ValueError(
                f"config advantages={self.advantages} normalises within each prompt's group and "
                f"needs group_size >= 2 (got {self.group_size}); use advantages=stratum or global"
            )
        if self.eps_low < 0 or self.eps_high < 0:
            raise ValueError("config eps_low / eps_high must be >= 0")
        if self.warmup_steps < 0 or self.eval_every < 0:
            raise ValueError("config warmup_steps / eval_every must be >= 0")
        object.__setattr__(self, "curriculum_boundaries", tuple(self.curriculum_boundaries))
        if self.train_tags is not None:
            from maple_bench.modality import TAG_NAMES

            tags = (self.train_tags,) if isinstance(self.train_tags, str) else self.train_tags
            bad = [t for t in tags if t not in TAG_NAMES]
            if bad or not tags:
                raise ValueError(
                    f"config train_tags={list(tags)}: each must be one of {', '.join(TAG_NAMES)}"
                )
            object.__setattr__(self, "train_tags", tuple(tags))

    def replace(self, **changes: Any) -> TrainConfig:
        return from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["curriculum_boundaries"] = list(self.curriculum_boundaries)
        if self.train_tags is not None:
            d["train_tags"] = list(self.train_tags)
        return d


_MAPO: dict[str, Any] = dict(
    advantages="stratum",
    stratum_weighting="g_ma",
    steps_per_generation=4,
    inputs="required",
    sampler="stratified",
    stratified_mode="quota",
    filter="early",
    adaptive_weights=False,
    curriculum="none",
)
PRESETS: dict[str, dict[str, Any]] = {
    # modality-unaware baseline: one normalisation over the mixed batch, every stream presented
    "mupo": dict(
        advantages="global",
        stratum_weighting="proportional",
        steps_per_generation=4,
        inputs="full",
        sampler="mixed",
        filter="none",
        adaptive_weights=False,
        curriculum="none",
    ),
    # the paper's recipe: stratum advantages, required streams, per-tag quotas, early filtering
    "mapo": _MAPO,
    # the paper's recipe + difficulty-adaptive stratum weights and the dynamic curriculum
    "mapo-adaptive": {**_MAPO, "adaptive_weights": True, "curriculum": "dynamic"},
}


def valid_keys() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig)]


def key_docs() -> dict[str, str]:
    """Each config key's documentation (the attribute docstring under it in this file)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(TrainConfig))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


# keys that were removed, with what replaces them (a clear error instead of "unknown key")
_REMOVED = {
    "dtype": "weights stay float32 (AdamW on bf16 weights rounds small updates away); "
    "set mixed_precision=bf16 for bf16 autocast",
}


def from_dict(values: dict[str, Any], *, source: str = "config") -> TrainConfig:
    """Build a config, rejecting unknown keys with the valid list and a suggestion."""
    keys = valid_keys()
    for k in values:
        if k in _REMOVED:
            raise ValueError(f"{source}: key {k!r} was removed: {_REMOVED[k]}")
        if k not in keys:
            near = difflib.get_close_matches(k, keys, n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"{source}: unknown key {k!r}.{hint} Valid keys: {', '.join(keys)}")
    types = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}
    coerced = dict(values)
    if coerced.get("policy") in POLICY_ALIASES:
        coerced["policy"] = POLICY_ALIASES[coerced["policy"]]
    for k, v in values.items():
        # YAML reads "1e-3" as a string and "2" as an int; accept both for float fields
        if types[k].startswith("float") and isinstance(v, (int, str)) and not isinstance(v, bool):
            try:
                coerced[k] = float(v)
            except ValueError as e:
                raise ValueError(f"{source}: {k}={v!r} is not a number") from e
        # int and bool fields: a wrong type would otherwise surface as a TypeError deep inside
        elif types[k] in ("int", "int | None") and (isinstance(v, bool) or not isinstance(v, int)):
            if not (v is None and types[k] == "int | None"):
                raise ValueError(f"{source}: {k}={v!r} is not an integer")
        elif types[k] == "bool" and not isinstance(v, bool):
            raise ValueError(f"{source}: {k}={v!r} is not true or false")
    return TrainConfig(**coerced)


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` with the value parsed as YAML (``lr=1e-3``, ``inputs=full``, ``x=[1,2]``)."""
    import yaml

    if "=" not in text:
        raise ValueError(f"override {text!r} must look like key=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else None
    except yaml.YAMLError as e:
        raise ValueError(f"override {text!r}: the value is not valid YAML") from e
    return key.strip(), value


def load_config(
    spec: str | Path | None, overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """A preset name (``mupo``, ``mapo``, ``mapo-adaptive``) or a YAML file, then overrides.

    A YAML file may say ``preset: mapo`` to start from a preset.
    """
    import yaml

    values: dict[str, Any] = {}
    source = "config"
    if spec is not None and str(spec) in PRESETS:
        values.update(PRESETS[str(spec)])
        source = f"preset {spec}"
    elif spec is not None:
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(
                f"config {spec!r} is neither a preset ({', '.join(PRESETS)}) nor a YAML file"
            )
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: not valid YAML ({' '.join(str(e).split())})") from e
        if not isinstance(loaded, dict):
            raise ValueError(
                f"{path}: expected a mapping of config keys, got {type(loaded).__name__}"
            )
        preset = loaded.pop("preset", None)
        if preset is not None:
            if preset not in PRESETS:
                raise ValueError(f"{path}: unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
            values.update(PRESETS[preset])
        values.update(loaded)
        source = str(path)
    for o in overrides:
        k, v = parse_override(o)
        values[k] = v
    return from_dict(values, source=source)
