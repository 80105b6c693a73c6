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
    """Registered task name (``maple-eval ls``)."""
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
    limit: int | None = None
    """Evaluate only the first N items (in the task's order, after ``presentations``)."""
    presentations: tuple[str, ...] | None = None
    """Keep only items shown under these presentations (e.g. ``("S",)`` for a text-only model)."""
    k: int = 1
    """Draws per item; pass@1 is the mean over draws."""
    seed: int = 0
    """Base seed: per-item seeds derive from it and the item id, so sharding never changes them."""
    batch_size: int = 8
    """Requests per adapter call."""
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
        if self.k < 1:
            raise ConfigError(f"k must be >= 1 (got {self.k})")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1 (got {self.batch_size})")
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0 (got {self.num_workers})")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be >= 1 (got {self.limit})")
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
