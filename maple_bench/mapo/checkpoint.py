"""Checkpoints that resume a run exactly: model, optimizer, sampler position, RNG, weight state.

Layout of ``OUT/checkpoints/step-000010/``:

- ``model/``: a ``save_pretrained`` directory (loadable by the evaluators as any checkpoint);
- ``optimizer.pt``: the optimizer state dict in the full (unsharded) form of
  ``torch.distributed.checkpoint.state_dict`` (keyed by parameter name, tensors and numbers only;
  loaded with ``weights_only=True``, never unpickling arbitrary objects), so a run saved with
  FSDP on N processes resumes on M processes or on one;
- ``rng.pt``: torch CPU / CUDA RNG states (tensors only);
- ``state.json``: step, sampler cursors, the per-tag reward windows, metrics line count.

A checkpoint is written into a temporary folder and renamed into place, so a kill mid-write
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

STATE = "state.json"


def checkpoint_dir(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step-{step:06d}"


def _unwrapped(runner: torch.nn.Module) -> torch.nn.Module:
    """The PolicyRunner inside a DDP / DeepSpeed wrapper (FSDP2 shards in place)."""
    return getattr(runner, "module", runner)


def full_model_state(runner: torch.nn.Module) -> dict[str, Any]:
    """The policy model's full state dict on CPU (gathered from shards; every process calls)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    sd = get_model_state_dict(
        _unwrapped(runner), options=StateDictOptions(full_state_dict=True, cpu_offload=True)
    )
    return {k.removeprefix("model."): v for k, v in sd.items()}


def full_optimizer_state(runner: torch.nn.Module, optimizer: Any) -> dict[str, Any]:
    """The optimizer's full state dict keyed by parameter name (every process calls)."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_optimizer_state_dict,
    )

    opt = getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper
    return get_optimizer_state_dict(
        _unwrapped(runner), opt, options=StateDictOptions(full_state_dict=True, cpu_offload=True)
    )


def save_model(policy: Any, path: Path, state: dict[str, Any]) -> None:
    """``save_pretrained`` of ``policy.model`` with the gathered ``state`` (process 0 only)."""
    path.mkdir(parents=True, exist_ok=True)
    policy.model.save_pretrained(path, state_dict=state)
    tok = getattr(policy, "tokenizer", None)
    if tok is not None:
        tok.save_pretrained(path)


def save_checkpoint(
    out: Path,
    step: int,
    *,
    policy: Any,
    model_state: dict[str, Any],
    optimizer_state: dict[str, Any],
    state: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write checkpoint ``step`` atomically; only process 0 should call this."""
    final = checkpoint_dir(out, step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(policy, tmp / "model", model_state)
    torch.save(optimizer_state, tmp / "optimizer.pt")
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.stack([s for s in torch.cuda.get_rng_state_all()])
    torch.save(rng, tmp / "rng.pt")
    (tmp / STATE).write_text(json.dumps({"step": step, **state}, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _prune(out, keep)
    return final


def _prune(out: Path, keep: int) -> None:
    if keep <= 0:
        return
    ckpts = sorted(p for p in (out / "checkpoints").glob("step-*") if not p.name.endswith(".tmp"))
    for old in ckpts[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint under ``out`` (None when there is none)."""
    ckpts = sorted(
        p
        for p in (out / "checkpoints").glob("step-*")
        if not p.name.endswith(".tmp") and (p / STATE).is_file()
    )
    return ckpts[-1] if ckpts else None


def load_state(path: Path) -> dict[str, Any]:
    return json.loads((path / STATE).read_text())


def load_optimizer(path: Path, optimizer: Any, runner: torch.nn.Module) -> None:
    """Load ``optimizer.pt`` (full form) into a possibly sharded optimizer (every process)."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        set_optimizer_state_dict,
    )

    state = torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True)
    opt = getattr(optimizer, "optimizer", optimizer)
    set_optimizer_state_dict(
        _unwrapped(runner), opt, state, options=StateDictOptions(full_state_dict=True)
    )


def load_rng(path: Path) -> None:
    rng = torch.load(path / "rng.pt", map_location="cpu", weights_only=True)
    torch.set_rng_state(rng["cpu"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(rng["cuda"]))
