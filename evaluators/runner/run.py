"""One evaluation run, top to bottom: resolve the task, check the model can take its streams,
prepare inputs in worker processes, generate in batches, score, log, merge, write results.

Read :meth:`Runner.execute` first; every other method is one step of it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.adapters import ADAPTERS, Request, build_adapter, check_streams
from evaluators.adapters.base import ModelAdapter, check_task_kind
from evaluators.runner.config import RunConfig
from evaluators.runner.data import (
    Prepared,
    WorkItem,
    group_by_video,
    item_seed,
    iter_prepared,
    shard_of,
)
from evaluators.runner.distributed import DistContext, RunFailed
from evaluators.runner.provenance import (
    diff_fields,
    fingerprint_fields,
    git_hash,
    library_versions,
    run_fingerprint,
    select_device,
    select_dtype,
)
from evaluators.samplelog import (
    SampleLogWriter,
    done_hashes,
    item_hash,
    make_record,
    merge_logs,
    read_log,
    record_key,
    stale_keys,
)
from evaluators.tasks import LoadedTask, TaskSpec, get_task, load_task
from maple_bench.fileio import atomic_write_json

log = logging.getLogger(__name__)

RUN_META = "run_meta.json"
RESULTS = "results.json"


class RunMismatchError(RuntimeError):
    """The output folder holds a different run (model, task, media spec ...)."""


class MediaFailure(RuntimeError):
    """A media error under ``--strict``."""


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run produced (rank 0 has the paths; other ranks get None)."""

    output_dir: Path
    """The run folder."""
    results_path: Path | None
    """``results.json`` (rank 0 only)."""
    log_path: Path
    """The merged sample log."""
    results: dict[str, Any] | None
    """The results document (rank 0 only)."""
    n_new: int
    """(item, draw) pairs this invocation ran on this rank."""


def log_name(task: str) -> str:
    return f"samples_{task}.jsonl"


def write_json_atomic(path: Path, data: Any) -> None:
    atomic_write_json(path, data, sort_keys=False, default=str)


def run_eval(config: RunConfig) -> RunOutcome:
    """Run ``config`` in this process (one rank of a job when launched by accelerate/torchrun)."""
    ctx = DistContext.from_env(config.dist_timeout_s)
    try:
        return Runner(config, ctx).execute()
    finally:
        ctx.close()


class Runner:
    """The steps of one run; state lives on the instance between them."""

    def __init__(self, config: RunConfig, ctx: DistContext) -> None:
        self.config = config
        self.ctx = ctx
        self.out = config.output_dir
        self.spec: TaskSpec = get_task(config.task)
        self.adapter_cls = ADAPTERS.get(config.adapter_name)  # unknown names fail here, at once
        self.task: LoadedTask | None = None
        self.media_config: Any = None
        self.adapter: ModelAdapter | None = None
        self.meta: dict[str, Any] = {}
        self._hashes: dict[str, str] = {}
        self._locks = contextlib.ExitStack()

    # -- the run ---------------------------------------------------------------------------------
    def execute(self) -> RunOutcome:
        with contextlib.ExitStack() as self._locks:
            return self._execute()

    def _execute(self) -> RunOutcome:
        t0 = time.time()
        self._seed_everything()
        self.ctx.set_failure_dir(self.out, clean=False)
        self._step("loading the task", self._setup_task)
        self._step("locking the output folder", self._lock_output)
        self._step("checking the output folder", self._check_existing_run)
        self._step("loading the model", self._setup_adapter)
        self._step("writing run_meta.json", self._prepare_output)  # also a barrier
        err: BaseException | None = None
        n_new = 0
        try:
            n_new = self._evaluate()
        except BaseException as e:
            err = e
        self.ctx.agree(err, "evaluation")
        if self.adapter is not None:
            self.adapter.close()
        main_log = self.out / log_name(self.spec.name)
        if not self.ctx.is_main:
            return RunOutcome(self.out, None, main_log, None, n_new)
        results = self._finish(main_log, time.time() - t0)
        return RunOutcome(self.out, self.out / RESULTS, main_log, results, n_new)

    def _step(self, what: str, fn: Any) -> None:
        """Run a setup step on every rank; if it fails anywhere, every rank stops with the error."""
        err: BaseException | None = None
        try:
            fn()
        except Exception as e:
            err = e
        self.ctx.agree(err, what)

    # -- setup -----------------------------------------------------------------------------------
    def _seed_everything(self) -> None:
        seed = self.config.seed
        random.seed(seed)
        try:
            import numpy as np
            import torch

            np.random.seed(seed % 2**32)
            torch.manual_seed(seed)
        except ImportError:  # pragma: no cover
            pass

    def _setup_task(self) -> None:
        c = self.config
        # Rank 0 first: a synth task may generate its data into the cache; the others then read it.
        if not self.ctx.is_main:
            self.ctx.barrier()
        try:
            self.task = load_task(
                self.spec, data=c.data, revision=c.revision, media_root=c.media_root,
                limit=c.limit, cache_dir=c.cache_dir, seed=c.seed, synth_per_tag=c.synth_per_tag,
                presentations=c.presentations, config=c.dataset_config, split=c.split,
            )  # fmt: skip
        finally:
            if self.ctx.is_main:
                self.ctx.barrier()
        from maple_bench.media import AudioSpec, VideoSpec
        from maple_bench.present import MediaConfig

        self.media_config = MediaConfig(
            media_root=self.task.media_root,
            video=VideoSpec(
                num_frames=c.frames or self.spec.num_frames, fps=c.fps, max_pixels=c.max_pixels
            ),
            audio=AudioSpec(sample_rate=c.audio_rate or self.spec.audio_rate),
            policy=c.masking,
            backend=c.backend,
        )
        # Refuse streams the model cannot take BEFORE loading it (class-level declaration).
        check_task_kind(self.adapter_cls, self.spec.sample_kind)
        check_streams(self.adapter_cls, self._presentations(), policy=c.masking)

    def _presentations(self) -> list[Any]:
        assert self.task is not None
        return sorted({s.shown for s in self.task.samples}, key=lambda t: t.sort_key)

    def _fingerprint(self) -> tuple[str, dict[str, Any]]:
        assert self.task is not None
        # The resolved dtype: one command on a GPU (bf16) and on a CPU (fp32) node is two runs.
        dtype = select_dtype(
            self.config.dtype, select_device(self.config.device, self.ctx.local_rank)
        )
        fields = fingerprint_fields(
            self.config, self.spec, self.task.dataset, self.media_config, dtype
        )
        return run_fingerprint(fields), fields

    def _lock_output(self) -> None:
        """Rank 0 holds the output folder's lock until the run ends: a second ``maple-eval run``
        into the same ``--output`` is refused at once instead of writing duplicates."""
        if self.ctx.is_main:
            from maple_bench.locks import path_lock

            self._locks.enter_context(path_lock(self.out, what="maple-eval run", wait=False))

    def _check_existing_run(self) -> None:
        meta_path = self.out / RUN_META
        fp, fields = self._fingerprint()
        logs = list(self.out.glob(f"samples_{self.spec.name}*.jsonl"))
        if not meta_path.exists():
            if self.config.resume:
                raise RunMismatchError(
                    f"--resume: {self.out} holds no run to resume ({RUN_META} is missing); "
                    f"drop --resume to start a new run there"
                )
            if logs:
                raise RunMismatchError(
                    f"{self.out} has sample logs but no {RUN_META}; it was not written by this "
                    f"runner. Pick another --output folder."
                )
            return
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if old.get("fingerprint") != fp:
            diffs = diff_fields(old.get("fingerprint_fields", {}), fields) or ["(unknown fields)"]
            raise RunMismatchError(
                f"{self.out} holds a different run (fingerprint {old.get('fingerprint')} vs {fp}); "
                f"refusing to mix them. Changed: {'; '.join(diffs)}. Use another --output folder, "
                f"or delete {self.out} to start over."
            )

    def _setup_adapter(self) -> None:
        c = self.config
        device = select_device(c.device, self.ctx.local_rank)
        dtype = select_dtype(c.dtype, device)
        self.adapter = build_adapter(
            c.adapter_name, c.adapter_kwargs(), device=device, dtype=dtype, seed=c.seed,
            media_config=self.media_config,
        )  # fmt: skip
        # The instance may narrow what it takes (e.g. a checkpoint without an audio tower).
        check_streams(self.adapter, self._presentations(), policy=c.masking)
        self.device, self.dtype = device, dtype

    def _prepare_output(self) -> None:
        # Created only now, so a run that fails during setup leaves no empty folder behind.
        if self.ctx.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            self.ctx.set_failure_dir(self.out, clean=True)
            self._write_meta()

    def _write_meta(self) -> None:
        assert self.task is not None and self.adapter is not None
        fp, fields = self._fingerprint()
        media_prov = _media_provenance(self.media_config)
        self.meta = {
            "task": self.spec.name,
            "task_config": {**self.spec.to_dict(), "dataset": self.task.dataset},
            "fingerprint": fp,
            "fingerprint_fields": fields,
            "config": {**self.config.to_dict(), "device": self.device, "dtype": self.dtype},
            "provenance": {
                "dataset": self.task.dataset,
                "media": media_prov,
                "model": self.adapter.provenance(),
                "prompt_version": fields["prompt_version"],
                "scorer_version": _scorer_version(),
                "chat_template_hash": self.adapter.provenance().get("chat_template_hash"),
                "seeds": {"seed": self.config.seed, "per_item": "sha256(seed|doc_id|draw)[:8]"},
                "versions": library_versions(),
                "git_hash": git_hash(),
            },
            "log": log_name(self.spec.name),
        }
        write_json_atomic(self.out / RUN_META, self.meta)

    # -- evaluation loop -------------------------------------------------------------------------
    def _shard_logs(self) -> list[Path]:
        return sorted(self.out.glob(f"samples_{self.spec.name}.rank*.jsonl"))

    def _evaluate(self) -> int:
        assert self.task is not None and self.adapter is not None
        c, ctx = self.config, self.ctx
        main_log = self.out / log_name(self.spec.name)
        hashes = {s.id: item_hash(s) for s in self.task.samples}
        self._hashes = hashes
        done_map = done_hashes([main_log, *self._shard_logs()])
        stale = stale_keys(done_map, hashes)
        if stale:
            raise RunMismatchError(
                f"{self.out}: {len(stale)} logged (item, draw) pairs were made for a different "
                f"version of the item (item_hash differs), e.g. {stale[:3]}; the data changed "
                f"since. Use another --output folder, or delete {self.out} to start over."
            )
        done = set(done_map)
        work = [
            WorkItem(s, d, item_seed(c.seed, s.id, d))
            for s in self.task.samples
            for d in range(c.k)
            if (s.id, d) not in done and shard_of(s.video_id, ctx.world_size) == ctx.rank
        ]
        if done and ctx.is_main:
            log.info("resuming: %d (item, draw) pairs already in %s", len(done), self.out)
        path = main_log if not ctx.distributed else (
            self.out / f"samples_{self.spec.name}.rank{ctx.rank}-of-{ctx.world_size}.jsonl"
        )  # fmt: skip
        bar = _progress(len(work), c.progress and ctx.is_main, self.spec.name)
        pending: list[Prepared] = []
        n = 0
        with SampleLogWriter(path) as writer:
            for group in iter_prepared(
                group_by_video(work), self.media_config, num_workers=c.num_workers,
                prefetch_factor=c.prefetch_factor, preparer=self.adapter.preparer(),
                keep_inputs=self.adapter.keep_inputs,
            ):  # fmt: skip
                for p in group:
                    if p.error is not None:
                        if c.strict:
                            raise MediaFailure(
                                f"item {p.item.sample.id!r}: {p.error_type}: {p.error} "
                                f"(--strict; drop it to log media errors as failed samples)"
                            )
                        writer.write(self._record(p, None))
                        n += 1
                        bar.update(1)
                    else:
                        pending.append(p)
                    if len(pending) >= c.batch_size:
                        n += self._generate(pending, writer, bar)
                        pending = []
                        ctx.check_peers()
            if pending:
                n += self._generate(pending, writer, bar)
        bar.close()
        return n

    def _generate(self, batch: list[Prepared], writer: SampleLogWriter, bar: Any) -> int:
        assert self.adapter is not None
        reqs = [
            Request(p.input, p.prompt or "", p.item.draw, p.item.seed, p.prepared) for p in batch
        ]
        outputs = self.adapter.generate(reqs)
        if len(outputs) != len(reqs):
            raise RuntimeError(
                f"adapter {self.adapter.name!r} returned {len(outputs)} replies for {len(reqs)} requests"
            )
        writer.write_many(self._record(p, out) for p, out in zip(batch, outputs))
        bar.update(len(batch))
        return len(batch)

    def _record(self, p: Prepared, output: str | None) -> dict[str, Any]:
        sample = p.item.sample
        common: dict[str, Any] = dict(draw=p.item.draw, delivered=p.delivered,
                                      prompt_hash=p.prompt_hash, item_hash_=self._hashes.get(sample.id))  # fmt: skip
        if p.error is not None:
            return make_record(
                sample, raw_output=None, error=p.error, error_type=p.error_type, **common
            )
        if sample.task == "caption":
            return make_record(sample, raw_output=output, **common)
        from maple_bench.scoring import score

        s = score(sample, output)
        return make_record(
            sample, raw_output=output, parsed_index=s.parsed_index, parsed_text=s.parsed_text,
            correct=s.correct, invalid=s.invalid, scorer=s.provenance(), **common,
        )  # fmt: skip

    # -- merge and results -----------------------------------------------------------------------
    def _finish(self, main_log: Path, wall_s: float) -> dict[str, Any]:
        assert self.task is not None
        order = self.task.doc_ids
        shards = self._shard_logs()
        if shards:
            added = merge_logs(main_log, shards, order)
            log.info("merged %d records from %d shard logs into %s", added, len(shards), main_log)
        records = final_records(read_log(main_log), order, self.config.k)
        from evaluators.runner.results import write_run_results

        return write_run_results(self, records, wall_s)


def final_records(records: list[dict[str, Any]], order: list[str], k: int) -> list[dict[str, Any]]:
    """The run's records for the current items and draws, once each, in task order.

    Raises if one is missing (a bug, or a log edited by hand): results are never computed from a
    partial set silently.
    """
    want = {(d, j) for d in order for j in range(k)}
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for r in records:
        key = record_key(r)
        if key in want and key not in seen:
            seen[key] = r
    missing = want - set(seen)
    if missing:
        ex = sorted(missing)[:3]
        raise RunFailed(
            f"{len(missing)} (item, draw) pairs have no log record, e.g. {ex}; rerun to fill them"
        )
    rank = {d: i for i, d in enumerate(order)}
    return sorted(seen.values(), key=lambda r: (rank[r["doc_id"]], r["draw"]))


def _scorer_version() -> str:
    from maple_bench.scoring import SCORER_VERSION

    return SCORER_VERSION


def _media_provenance(media_config: Any) -> dict[str, Any]:
    prov = getattr(media_config, "provenance", None)
    base = prov() if callable(prov) else {}
    base = dict(base)
    base.setdefault("video", media_config.video.key())
    base.setdefault("audio", media_config.audio.key())
    base.setdefault("policy", media_config.policy)
    return base


def _progress(total: int, enabled: bool, task: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total, disable=not enabled, unit="item", desc=f"maple-eval {task}", dynamic_ncols=True
    )
