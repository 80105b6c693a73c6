"""What a run needs to be reproduced: versions, git hash, device, and the run fingerprint.

The fingerprint hashes everything that changes the answers (task and its data content, model
spec and arguments, media spec and masking, prompt version, seed) and nothing that does not
(batch size, workers, process count, --limit, k). Resuming into a folder whose fingerprint differs
is refused, so two different runs are never mixed into one log.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

VERSIONED_PACKAGES = (
    "maple-bench", "torch", "transformers", "datasets", "huggingface_hub", "accelerate", "numpy",
    "av", "decord", "torchcodec", "tokenizers", "pyarrow",
)  # fmt: skip

# Adapter args that change speed or memory but never the answers. For served models the
# endpoint (a restarted server on another port) and the transport settings are recorded in the
# provenance but do not make a new run: the served model's name does.
RUNTIME_ONLY_ARGS = frozenset(
    {"batch_size", "attn_implementation", "device_map", "low_cpu_mem_usage", "base_url",
     "api_key_env", "max_concurrency", "timeout_s", "max_retries", "backoff_s"}
)  # fmt: skip


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_hash() -> str | None:
    """Commit of the maple-bench checkout the code runs from (None when not a git checkout)."""
    here = Path(__file__).resolve().parent
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def select_device(requested: str | None, local_rank: int = 0) -> str:
    """``cuda:<local rank>`` when a GPU is there (and nothing else was asked), else ``cpu``."""
    if requested:
        return requested
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda:{local_rank % torch.cuda.device_count()}"
    except ImportError:  # pragma: no cover
        pass
    return "cpu"


def select_dtype(requested: str | None, device: str) -> str:
    """bfloat16 on GPU, float32 on CPU, unless asked."""
    if requested:
        return requested
    return "bfloat16" if device.startswith("cuda") else "float32"


def media_fingerprint_fields(media_config: Any) -> dict[str, Any]:
    return {
        "video": media_config.video.key(),
        "audio": media_config.audio.key(),
        "policy": media_config.policy,
        "backend": media_config.backend,
    }


def run_fingerprint(fields: dict[str, Any]) -> str:
    blob = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def fingerprint_fields(
    config: Any, task: Any, dataset: dict[str, Any], media_config: Any, dtype: str | None = None
) -> dict[str, Any]:
    """The fields hashed into the fingerprint (stored beside it so a refusal can name the diff)."""
    from maple_bench.prompts import PROMPT_VERSION

    kwargs = {k: v for k, v in config.adapter_kwargs().items() if k not in RUNTIME_ONLY_ARGS}
    extra: dict[str, Any] = {}
    if getattr(config, "scoring", "generate") != "generate":  # the default keeps old fingerprints
        extra["scoring"] = config.scoring
    return {
        **extra,
        "task": task.name,
        "task_version": task.version,
        # The data's content, not where it was read from: `--data syn` and `--data /abs/syn`
        # are one run; relabelled data is another.
        "dataset": {k: dataset.get(k) for k in ("config", "split", "dataset_hash")},
        "model": {"adapter": config.adapter_name, "args": kwargs, "dtype": dtype or config.dtype},
        "media": media_fingerprint_fields(media_config),
        "prompt_version": PROMPT_VERSION,
        "seed": config.seed,
    }


def diff_fields(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two fingerprint field dicts."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += diff_fields(a, b, prefix=name + ".")
        elif a != b:
            out.append(f"{name}: {a!r} -> {b!r}")
    return out
