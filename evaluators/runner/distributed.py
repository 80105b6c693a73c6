"""Several processes (``accelerate launch`` / ``torchrun``): ranks, failure propagation, barriers.

Items are sharded by a hash of their video id (see :func:`evaluators.runner.data.shard_of`), each
rank writes its own shard log, and rank 0 merges the shards by id. Failure handling avoids the
classic hang where one rank dies and the others wait forever in a collective:

- a rank that raises writes ``<out>/.failures/rank<R>.txt`` and goes straight to the final
  collective; the other ranks look for such files after every batch and stop early;
- every rank then takes part in one all-reduce of a failure flag (gloo, bounded by a timeout),
  after which all ranks raise :class:`RunFailed` naming the rank and its error;
- a rank killed outright (SIGKILL, OOM) is noticed by the launcher, which ends the job.
"""

from __future__ import annotations

import datetime
import os
import shutil
from dataclasses import dataclass
from pathlib import Path


class RunFailed(RuntimeError):
    """Another rank (or this one) failed; the whole job stops."""


class PeerFailed(RunFailed):
    """Raised on a healthy rank when it sees that another rank failed."""


@dataclass
class DistContext:
    """This process's place in the job."""

    rank: int = 0
    """Global rank."""
    world_size: int = 1
    """Number of processes."""
    local_rank: int = 0
    """Rank on this machine (picks the GPU)."""
    failure_dir: Path | None = None
    """Where ranks drop failure notes (inside the output folder)."""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    # -- setup / teardown -----------------------------------------------------------------------
    @classmethod
    def from_env(cls, timeout_s: float) -> DistContext:
        """Read RANK / WORLD_SIZE / LOCAL_RANK (set by accelerate and torchrun); init gloo."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
        ctx = cls(rank=rank, world_size=world, local_rank=local)
        if world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                # gloo for our control messages (tiny CPU tensors) on CPU and GPU nodes alike.
                dist.init_process_group(
                    "gloo", timeout=datetime.timedelta(seconds=timeout_s), rank=rank,
                    world_size=world,
                )  # fmt: skip
        return ctx

    def close(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    # -- collectives -----------------------------------------------------------------------------
    def any_true(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any rank (an all-reduce MAX)."""
        if not self.distributed:
            return flag
        import torch
        import torch.distributed as dist

        t = torch.tensor([1 if flag else 0], dtype=torch.int32)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def agree(self, error: BaseException | None, what: str) -> None:
        """Every rank learns whether any rank failed ``what``; all raise together if so."""
        if error is not None:
            self.report_failure(error)
        if self.any_true(error is not None):
            if error is not None:
                raise error
            raise PeerFailed(f"{what} failed on another rank: {self.failure_messages()}")

    # -- failure notes ---------------------------------------------------------------------------
    def set_failure_dir(self, out_dir: Path, *, clean: bool) -> None:
        self.failure_dir = out_dir / ".failures"
        if clean and self.failure_dir.exists():
            shutil.rmtree(self.failure_dir, ignore_errors=True)

    def report_failure(self, error: BaseException) -> None:
        if self.failure_dir is None or not self.distributed:
            return
        self.failure_dir.mkdir(parents=True, exist_ok=True)
        note = self.failure_dir / f"rank{self.rank}.txt"
        note.write_text(f"{type(error).__name__}: {error}\n", encoding="utf-8")

    def failure_messages(self) -> str:
        if self.failure_dir is None or not self.failure_dir.exists():
            return "(no message left)"
        notes = sorted(self.failure_dir.glob("rank*.txt"))
        return "; ".join(f"{p.stem}: {p.read_text(encoding='utf-8').strip()}" for p in notes)

    def check_peers(self) -> None:
        """Raise :class:`PeerFailed` if another rank left a failure note (cheap: one listdir)."""
        if not self.distributed or self.failure_dir is None or not self.failure_dir.exists():
            return
        others = [p for p in self.failure_dir.glob("rank*.txt") if p.stem != f"rank{self.rank}"]
        if others:
            raise PeerFailed(f"stopping: {self.failure_messages()}")
