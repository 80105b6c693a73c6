"""The run configuration: one frozen dataclass, loadable from YAML, overridable by CLI flags.

Unknown keys are refused with the list of valid ones, so a typo in ``run.yaml`` never silently
falls back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

MASKING_POLICIES = ("drop", "blank")


class ConfigError(ValueError):
    """A run configuration value or key is wrong; the message says which and what to do."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one ``maple-eval run``."""

    task: str
    """Registered task name (``maple-eval ls``); ``a,b,c`` runs several (see :func:`split_tasks`)."""
    model: str
    """Adapter name, optionally ``name:pretrained`` (e.g. ``causal_lm:/ckpt``)."""
    model_args: Mapping[str, Any] = field(default_factory=dict)
    """Adapter keyword arguments (``--model-args pretrained=DIR,dtype=bfloat16``)."""
    data: str | None = None
    """Local dataset folder / synth output folder / Hub repo id; None: the task's default."""
    revision: str | None = None
    """Hub revision (commit, tag or branch) of ``data``; recorded in the results."""
    dataset_config: str | None = None
    """Dataset config to read instead of the task's (e.g. ``maple_bench``); None: the task's."""
    split: str | None = None
    """Dataset split to read instead of the task's (``test``); None: the task's."""
    media_root: str | None = None
    """Folder the items' media paths are relative to (default: the dataset's own)."""
    output: str | None = None
    """Output folder (default ``eval_results/<task>__<model>``)."""
    limit: int | float | None = None
    """A count (int >= 1) or a fraction (float in (0, 1]) of the items, sampled per RMT tag with
    ``seed`` so every tag is represented (after ``presentations``)."""
    presentations: tuple[str, ...] | None = None
    """Keep only items shown under these presentations (e.g. ``("S",)`` for a text-only model)."""
    k: int = 1
    """Draws per item; pass@1 is the mean over draws."""
    scoring: str = "generate"
    """``generate`` (the reply is parsed and scored) or ``loglikelihood`` (each option's
    continuation scored by the model; lm-eval's ``acc`` and ``acc_norm``; local causal LMs and
    the Qwen thinker, multiple-choice tasks)."""
    seed: int = 0
    """Base seed: per-item seeds derive from it and the item id, so sharding never changes them."""
    batch_size: int | str = 8
    """Requests per adapter call, or ``auto``: served models get 4 x their concurrency; local
    models start at 64 on GPU (8 on CPU) and shrink by 10% on each out-of-memory (accelerate's
    ``find_executable_batch_size``)."""
    num_workers: int = 2
    """DataLoader worker processes decoding media (0: decode in the main process)."""
    prefetch_factor: int = 4
    """Video groups each worker decodes ahead."""
    frames: int | None = None
    """Frames sampled per clip (None: the task default)."""
    fps: float | None = None
    """Sample frames at this rate instead of a fixed count."""
    max_pixels: int | None = None
    """Downscale frames (keeping aspect) to at most this many pixels each; None keeps the source."""
    audio_rate: int | None = None
    """Audio sample rate in Hz (None: the task default, 16 kHz)."""
    masking: str = "drop"
    """How absent streams are masked: ``drop`` (absent) or ``blank`` (black/silence/empty)."""
    backend: str | None = None
    """Media decoder (None: the media module's default choice)."""
    strict: bool = False
    """Stop on the first media error instead of logging it as a failed sample."""
    resume: bool = False
    """Require an existing run in ``output`` to continue (rerunning into it resumes anyway)."""
    device: str | None = None
    """``cpu``, ``cuda``, ``cuda:1``...; None picks the GPU of this rank when there is one."""
    dtype: str | None = None
    """Model dtype; None: bfloat16 on GPU, float32 on CPU."""
    cache_dir: str | None = None
    """Where generated synthetic datasets are cached (default ``$XDG_CACHE_HOME/maple_bench``)."""
    synth_per_tag: int = 4
    """Synth tasks without ``--data``: questions generated per tag."""
    dist_timeout_s: float = 14400.0
    """How long a rank that finished its shard waits for the others (a failed rank is noticed
    at once through its failure note; a killed one by the launcher)."""
    progress: bool = True
    """Show the tqdm progress bar (rank 0)."""

    def __post_init__(self) -> None:
        if self.masking not in MASKING_POLICIES:
            raise ConfigError(f"masking {self.masking!r}: expected one of {MASKING_POLICIES}")
        if self.scoring not in ("generate", "loglikelihood"):
            raise ConfigError(f"scoring {self.scoring!r}: expected 'generate' or 'loglikelihood'")
        if self.k < 1:
            raise ConfigError(f"k must be >= 1 (got {self.k})")
        if isinstance(self.batch_size, str):
            if self.batch_size.strip().lower() != "auto":
                try:
                    object.__setattr__(self, "batch_size", int(self.batch_size))
                except ValueError:
                    raise ConfigError(
                        f"batch_size {self.batch_size!r}: give a number or 'auto'"
                    ) from None
            else:
                object.__setattr__(self, "batch_size", "auto")
        if self.batch_size != "auto" and int(self.batch_size) < 1:
            raise ConfigError(f"batch_size must be >= 1 or 'auto' (got {self.batch_size})")
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0 (got {self.num_workers})")
        if self.prefetch_factor < 1:
            raise ConfigError(f"prefetch_factor must be >= 1 (got {self.prefetch_factor})")
        if self.synth_per_tag < 1:
            raise ConfigError(f"synth_per_tag must be >= 1 (got {self.synth_per_tag})")
        if self.limit is not None:
            object.__setattr__(self, "limit", parse_limit(self.limit))
        if not self.task or not self.model:
            raise ConfigError(
                "a run needs --task and --model (or `task:` and `model:` in the config)"
            )
        object.__setattr__(self, "model_args", dict(self.model_args))
        if self.presentations is not None:
            from maple_bench.modality import ModalityParseError, parse_tag

            raw = self.presentations
            parts = raw.split(",") if isinstance(raw, str) else list(raw)
            try:
                names = tuple(parse_tag(p).name for p in parts if str(p).strip())
            except ModalityParseError as e:
                raise ConfigError(f"presentations: {e}") from None
            if not names:
                raise ConfigError("presentations: name at least one of V, A, S, VA, VS, AS, VAS")
            object.__setattr__(self, "presentations", names)

    @property
    def tasks(self) -> list[str]:
        """The task names of ``task`` (comma-separated)."""
        return [t.strip() for t in self.task.split(",") if t.strip()]

    @property
    def adapter_name(self) -> str:
        return self.model.split(":", 1)[0]

    @property
    def output_dir(self) -> Path:
        if self.output:
            return Path(self.output)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model).strip("_")
        return Path("eval_results") / f"{self.task}__{safe}"

    def adapter_kwargs(self) -> dict[str, Any]:
        """``model_args`` plus ``pretrained`` from a ``name:pretrained`` model spec."""
        kw = dict(self.model_args)
        if ":" in self.model:
            kw.setdefault("pretrained", self.model.split(":", 1)[1])
        return kw

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["model_args"] = dict(self.model_args)
        d["presentations"] = list(self.presentations) if self.presentations else None
        return d

    @classmethod
    def valid_keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "config") -> RunConfig:
        """Build from a mapping (YAML), refusing unknown keys. ``-`` in keys reads as ``_``."""
        valid = cls.valid_keys()
        clean: dict[str, Any] = {}
        for key, value in data.items():
            k = str(key).replace("-", "_")
            if k not in valid:
                close = difflib.get_close_matches(k, valid, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(
                    f"{source}: unknown key {key!r}.{hint} Valid keys: {', '.join(valid)}"
                )
            clean[k] = value
        if isinstance(clean.get("model_args"), str):
            clean["model_args"] = parse_model_args(clean["model_args"])
        try:
            return cls(**clean)
        except TypeError as e:
            raise ConfigError(f"{source}: {e}") from None


def parse_limit(value: Any) -> int | float:
    """``--limit``: ``"21"`` -> 21 items, ``"0.1"`` -> 10% of the items (per tag)."""
    if isinstance(value, bool):
        raise ConfigError(f"limit {value!r}: give a count (e.g. 100) or a fraction (e.g. 0.1)")
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(
                    f"limit {value!r}: give a count (e.g. 100) or a fraction (e.g. 0.1)"
                ) from None
    if isinstance(value, float):
        if value.is_integer() and value > 1:
            value = int(value)
        elif not 0 < value <= 1:
            raise ConfigError(f"limit {value}: a fraction must be in (0, 1]; a count >= 1")
    if isinstance(value, int) and value < 1:
        raise ConfigError(f"limit must be >= 1 (got {value})")
    return value


def split_tasks(config: RunConfig) -> list[RunConfig]:
    """One config per task of ``--tasks a,b,c``.

    Several tasks: each writes its own run folder ``<output>/<task>/`` (its own sample log,
    ``run_meta.json`` and ``results.json``: one results file per task), so every task resumes and
    is validated on its own. One task keeps ``--output`` as given.
    """
    names = config.tasks
    if len(set(names)) != len(names):
        raise ConfigError(f"tasks {config.task!r}: a task is named twice")
    if len(names) == 1:
        return [dataclasses.replace(config, task=names[0])]
    out = []
    for name in names:
        base = config.output_dir if config.output else Path("eval_results")
        sub = base / name if config.output else dataclasses.replace(config, task=name).output_dir
        out.append(dataclasses.replace(config, task=name, output=str(sub)))
    return out


def load_yaml_config(path: str | Path) -> dict[str, Any]:
    """Read a run YAML file into a plain mapping (validated when merged)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    with open(p, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of keys to values")
    return data


def parse_model_args(text: str | None) -> dict[str, Any]:
    """``"pretrained=DIR,dtype=bfloat16,max_new_tokens=16"`` -> dict with ints/floats/bools."""
    out: dict[str, Any] = {}
    if not text:
        return out
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError(f"--model-args: {part!r} is not key=value")
        k, v = part.split("=", 1)
        out[k.strip()] = _coerce(v.strip())
    return out


def _coerce(v: str) -> Any:
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v
