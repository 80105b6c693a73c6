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
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.adapters import ADAPTERS, Reply, Request, build_adapter, check_streams
from evaluators.adapters.base import ModelAdapter, check_task_kind
from evaluators.results import RUN_META
from evaluators.runner.config import ConfigError, RunConfig, split_tasks
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
from evaluators.runner.results import RESULTS, FinishedRun, write_json_atomic, write_run_results
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

log = logging.getLogger(__name__)

__all__ = [
    "RESULTS", "RUN_META", "MediaFailure", "RunMismatchError", "RunOutcome", "run_eval",
    "run_tasks",
]  # fmt: skip


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
    n_records: int = 0
    """(item, draw) pairs in the final log (rank 0 only)."""
    n_errors: int = 0
    """Of those, how many failed (media error, or no reply from a served model)."""
    first_error: str | None = None
    """``doc_id: error`` of the first failed record, for the one-line message."""

    @property
    def all_failed(self) -> bool:
        """Every item failed: the run measured nothing (the CLI exits non-zero)."""
        return self.n_records > 0 and self.n_errors == self.n_records


def log_name(task: str) -> str:
    return f"samples_{task}.jsonl"


def run_eval(config: RunConfig) -> RunOutcome:
    """Run ``config`` in this process (one rank of a job when launched by accelerate/torchrun).

    One task; :func:`run_tasks` runs ``--tasks a,b,c``."""
    if len(config.tasks) > 1:
        raise ConfigError(f"run_eval takes one task, got {config.task!r}; use run_tasks")
    ctx = DistContext.from_env(config.dist_timeout_s)
    try:
        return Runner(config, ctx).execute()
    finally:
        ctx.close()


def run_tasks(config: RunConfig) -> list[RunOutcome]:
    """Every task of ``config.task`` (``a,b,c``) in turn, each in its own run folder
    (:func:`evaluators.runner.config.split_tasks`)."""
    return [run_eval(c) for c in split_tasks(config)]


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
        records = self._final_records(main_log)
        results = write_run_results(
            FinishedRun(out=self.out, task=self.spec.name, meta=self.meta, records=records,
                        n_original=self._n_original(), seed=self.config.seed,
                        wall_s=time.time() - t0)
        )  # fmt: skip
        failed = [r for r in records if r.get("error")]
        first = f"{failed[0]['doc_id']}: {failed[0]['error']}" if failed else None
        return RunOutcome(self.out, self.out / RESULTS, main_log, results, n_new,
                          len(records), len(failed), first)  # fmt: skip

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

        # `is None`, not `or`: an explicit --frames 0 is refused, not replaced by the default.
        frames = self.spec.num_frames if c.frames is None else c.frames
        rate = self.spec.audio_rate if c.audio_rate is None else c.audio_rate
        try:
            video = VideoSpec(num_frames=frames, fps=c.fps, max_pixels=c.max_pixels)
            audio = AudioSpec(sample_rate=rate)
        except ValueError as e:  # --frames / --fps / --max-pixels / --audio-rate out of range
            raise ConfigError(str(e)) from None
        self.media_config = MediaConfig(
            media_root=self.task.media_root,
            video=video,
            audio=audio,
            policy=c.masking,
            backend=c.backend,
        )
        # Refuse streams the model cannot take BEFORE loading it (class-level declaration).
        check_task_kind(self.adapter_cls, self.spec.sample_kind)
        if c.scoring != "generate":
            if c.scoring not in self.adapter_cls.scoring_methods:
                raise ConfigError(
                    f"--scoring {c.scoring}: adapter {c.adapter_name!r} does not score options "
                    f"by log-likelihood (adapters that do: causal_lm, qwen2_5_omni)"
                )
            if self.spec.sample_kind != "qa":
                raise ConfigError(
                    f"--scoring {c.scoring}: task {self.spec.name!r} has no options to score"
                )
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
                "scoring": _scoring_provenance(self.config.scoring),
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
        self._batch_size = self._resolve_batch_size()
        pending: list[Prepared] = []
        n = 0
        # A served model's batches overlap: the next one is queued while the last one is in
        # flight, so the request pool never idles between batches (records stay in order).
        overlap = isinstance(getattr(self.adapter, "max_in_flight", None), int)
        self._queue: deque[tuple[list[Prepared], Future[list[Reply]]]] = deque()
        self._submitter = ThreadPoolExecutor(max_workers=2) if overlap else None
        with SampleLogWriter(path) as writer, _shutdown(self._submitter):
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
                    if len(pending) >= self._batch_size:
                        n += self._generate(pending, writer, bar)
                        pending = []
                        ctx.check_peers()
            if pending:
                n += self._generate(pending, writer, bar)
            while self._queue:
                n += self._write_oldest(writer, bar)
        bar.close()
        return n

    def _resolve_batch_size(self) -> int:
        """``--batch-size``, or for ``auto``: 4 x the in-flight limit of a served model, else a
        starting size (64 on GPU, 8 on CPU) that :meth:`_replies` shrinks by 10% on each out-of-memory."""
        self._auto = self.config.batch_size == "auto"
        if not self._auto:
            return int(self.config.batch_size)
        in_flight = getattr(self.adapter, "max_in_flight", None)
        if isinstance(in_flight, int):
            self._auto = False
            return 4 * in_flight
        return 64 if str(getattr(self, "device", "cpu")).startswith("cuda") else 8

    def _replies(self, reqs: list[Request]) -> list[Reply]:
        assert self.adapter is not None
        adapter = self.adapter
        call = adapter.choice_replies if self.config.scoring == "loglikelihood" else adapter.replies
        if not self._auto:
            return call(reqs)
        from accelerate.utils import find_executable_batch_size

        @find_executable_batch_size(starting_batch_size=self._batch_size)  # type: ignore[misc]
        def run(bs: int) -> list[Reply]:
            out: list[Reply] = []
            for i in range(0, len(reqs), bs):
                out += call(reqs[i : i + bs])
            if bs < self._batch_size:
                log.info("batch size auto: %d -> %d after running out of memory",
                         self._batch_size, bs)  # fmt: skip
                self._batch_size = bs
            return out

        return run()  # type: ignore[no-any-return]

    def _generate(self, batch: list[Prepared], writer: SampleLogWriter, bar: Any) -> int:
        reqs = [
            Request(p.input, p.prompt or "", p.item.draw, p.item.seed, p.prepared, p.item.sample)
            for p in batch
        ]
        if self._submitter is None:
            return self._write(batch, self._replies(reqs), writer, bar)
        self._queue.append((batch, self._submitter.submit(self._replies, reqs)))
        n = 0
        while len(self._queue) > 1:  # one batch in flight, the next one queued behind it
            n += self._write_oldest(writer, bar)
        return n

    def _write_oldest(self, writer: SampleLogWriter, bar: Any) -> int:
        batch, future = self._queue.popleft()
        return self._write(batch, future.result(), writer, bar)

    def _write(
        self, batch: list[Prepared], outputs: list[Reply], writer: SampleLogWriter, bar: Any
    ) -> int:
        assert self.adapter is not None
        if len(outputs) != len(batch):
            raise RuntimeError(
                f"adapter {self.adapter.name!r} returned {len(outputs)} replies for {len(batch)} requests"
            )
        writer.write_many(self._record(p, out) for p, out in zip(batch, outputs))
        bar.update(len(batch))
        return len(batch)

    def _record(self, p: Prepared, reply: Reply | None) -> dict[str, Any]:
        sample = p.item.sample
        common: dict[str, Any] = dict(draw=p.item.draw, delivered=p.delivered,
                                      prompt_hash=p.prompt_hash, item_hash_=self._hashes.get(sample.id),
                                      usage=reply.usage if reply is not None else None,
                                      choice=reply.choice if reply is not None else None)  # fmt: skip
        error, error_type = p.error, p.error_type
        if error is None and reply is not None and reply.error is not None:
            error, error_type = reply.error, reply.error_type
        if error is not None:
            return make_record(
                sample, raw_output=None, error=error, error_type=error_type, **common
            )
        output = reply.text if reply is not None else None
        if sample.task == "caption":
            return make_record(sample, raw_output=output, **common)
        from maple_bench.scoring import score

        s = score(sample, output)
        return make_record(
            sample, raw_output=output, parsed_index=s.parsed_index, parsed_text=s.parsed_text,
            correct=s.correct, invalid=s.invalid, scorer=s.provenance(), **common,
        )  # fmt: skip

    # -- merge and results -----------------------------------------------------------------------
    def _final_records(self, main_log: Path) -> list[dict[str, Any]]:
        """Merge the shard logs (several processes) and return the run's records in order."""
        assert self.task is not None
        order = self.task.doc_ids
        shards = self._shard_logs()
        if shards:
            added = merge_logs(main_log, shards, order)
            log.info("merged %d records from %d shard logs into %s", added, len(shards), main_log)
        return final_records(read_log(main_log), order, self.config.k)

    def _n_original(self) -> int:
        assert self.task is not None
        return int(self.task.dataset.get("n_before_limit") or len(self.task.samples))


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


def _scoring_provenance(method: str) -> dict[str, Any]:
    """How answers were obtained (recorded in the results' provenance)."""
    if method != "loglikelihood":
        return {"method": "generate", "parse": "maple_bench.scoring.parse_answer"}
    from evaluators.adapters.loglik import PLAIN_ANSWER_CUE

    return {
        "method": "loglikelihood",
        "continuation": "'<letter>. <option>' (leading space, after "
        f"{PLAIN_ANSWER_CUE!r}, for models without a chat template)",
        "acc": "argmax of the summed continuation log-probability",
        "acc_norm": "argmax of the log-probability per UTF-8 byte of the continuation",
    }


def _media_provenance(media_config: Any) -> dict[str, Any]:
    prov = getattr(media_config, "provenance", None)
    base = prov() if callable(prov) else {}
    base = dict(base)
    base.setdefault("video", media_config.video.key())
    base.setdefault("audio", media_config.audio.key())
    base.setdefault("policy", media_config.policy)
    return base


@contextlib.contextmanager
def _shutdown(pool: ThreadPoolExecutor | None) -> Iterator[None]:
    """Shut ``pool`` down on the way out (an error cancels what was queued)."""
    try:
        yield
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _progress(total: int, enabled: bool, task: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total, disable=not enabled, unit="item", desc=f"maple-eval {task}", dynamic_ncols=True
    )
