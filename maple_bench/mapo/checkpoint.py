"""Checkpoints that resume a run exactly: model, optimizer, sampler position, RNG, weight state.

Layout of ``OUT/checkpoints/step-000010/``:

- ``model/``: a ``save_pretrained`` directory (loadable by the evaluators as any checkpoint);
- ``optimizer.pt``: the optimizer state dict (tensors and numbers only; loaded with
  ``weights_only=True``, never unpickling arbitrary objects);
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


def save_checkpoint(
    out: Path,
    step: int,
    *,
    policy: Any,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    keep: int = 2,
    write_model: bool = True,
) -> Path:
    """Write checkpoint ``step`` atomically; only process 0 should call this."""
    final = checkpoint_dir(out, step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if write_model:
        policy.save(tmp / "model")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
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


def load_optimizer(path: Path, optimizer: torch.optim.Optimizer) -> None:
    state = torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(state)


def load_rng(path: Path) -> None:
    rng = torch.load(path / "rng.pt", map_location="cpu", weights_only=True)
    torch.set_rng_state(rng["cpu"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(rng["cuda"]))
