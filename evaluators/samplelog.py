"""The per-sample log: one JSON line per (item, draw), append-only, flushed as items finish.

The log is the run's ground truth: metrics (``maple-eval score``) are recomputed from it, resume
reads it to skip finished (doc_id, draw) pairs, and several processes each write their own shard
log that rank 0 merges by id. A line cut by a crash (the process was killed mid-write) can only be
the last one; reading tolerates it and appending first trims it, so the file stays valid JSONL.
Line format: see the "Sample log" section of the contracts (``LOG_FIELDS``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from maple_bench.jsonl import JsonlFormatError, iter_jsonl, trim_torn_tail
from maple_bench.schema import Sample

log = logging.getLogger(__name__)

LOG_FIELDS: tuple[str, ...] = (
    "doc_id", "question_id", "video_id", "task", "rmt", "presentation", "condition",
    "none_reason", "draw", "options", "target", "target_index", "raw_output", "parsed_index",
    "parsed_text", "correct", "invalid", "error", "error_type", "delivered", "item_hash",
    "prompt_hash", "references", "judge", "prompt_version", "scorer", "usage", "choice",
)  # fmt: skip
"""Every line carries exactly these keys (readers may rely on them)."""

Key = tuple[str, int]


class LogFormatError(ValueError):
    """A line in the middle of a sample log is not valid JSON (the file was edited or mixed)."""


def item_hash(sample: Sample) -> str:
    """sha256[:16] of the item's canonical storage row (:func:`maple_bench.data.sample_hash`)."""
    from maple_bench.data.identity import sample_hash

    return sample_hash(sample)


def make_record(
    sample: Sample,
    *,
    draw: int,
    raw_output: str | None,
    parsed_index: int | None = None,
    parsed_text: str | None = None,
    correct: bool | None = None,
    invalid: bool | None = None,
    error: str | None = None,
    error_type: str | None = None,
    delivered: dict[str, Any] | None = None,
    prompt_hash: str | None = None,
    item_hash_: str | None = None,
    judge: Any = None,
    scorer: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    choice: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One log line for ``sample`` (draw ``draw``). An ``error`` makes the line count as wrong.

    ``scorer`` is :meth:`maple_bench.scoring.Score.provenance` (scorer version and deciding rule)
    for a scored QA reply; ``prompt_version`` is always the current prompt wording's version.
    """
    from maple_bench.prompts import PROMPT_VERSION

    is_caption = sample.task == "caption"
    if error is not None:
        correct, invalid = (None, None) if is_caption else (False, False)
    return {
        "doc_id": sample.id,
        "question_id": sample.question_id,
        "video_id": sample.video_id,
        "task": sample.task,
        "rmt": sample.rmt.name,
        "presentation": sample.shown.name or "none",  # blind (question only), as in storage
        "condition": sample.condition.value if sample.condition is not None else None,
        "none_reason": sample.none_reason,
        "draw": int(draw),
        "options": list(sample.options),
        "target": sample.answer,
        "target_index": sample.answer_index,
        "raw_output": raw_output,
        "parsed_index": parsed_index,
        "parsed_text": parsed_text,
        "correct": correct,
        "invalid": invalid,
        "error": error,
        "error_type": error_type,
        "delivered": delivered or {"frames": 0, "audio_seconds": 0.0, "subtitle_chars": 0},
        "item_hash": item_hash_ or item_hash(sample),
        "prompt_hash": prompt_hash,
        "references": list(sample.captions),
        "judge": judge,
        "prompt_version": PROMPT_VERSION,
        "scorer": scorer,
        "usage": usage,
        "choice": choice,
    }


class SampleLogWriter:
    """Append-only JSONL writer; each record is flushed (and fsynced) as soon as it is written."""

    def __init__(self, path: Path | str, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cut = trim_torn_tail(self.path)
        if cut:
            log.warning(
                "%s: dropped a torn last line (%d bytes) left by an interrupted run", path, cut
            )
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._fsync = fsync

    def write(self, record: dict[str, Any]) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")
        self._f.flush()
        if self._fsync:
            os.fsync(self._f.fileno())

    def write_many(self, records: Iterable[dict[str, Any]]) -> None:
        for r in records:
            self._f.write(json.dumps(r, ensure_ascii=False) + "\n")
        self._f.flush()
        if self._fsync:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> SampleLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_log(path: Path | str) -> Iterator[dict[str, Any]]:
    """Records of a log (:func:`maple_bench.jsonl.iter_jsonl`: a torn LAST line is skipped)."""
    try:
        for i, rec in enumerate(iter_jsonl(path, what="sample log", fix=_LOG_FIX)):
            if "doc_id" not in rec or "draw" not in rec:
                raise LogFormatError(
                    f"{path}: record {i + 1} is not a sample record (no doc_id/draw)"
                )
            yield rec
    except JsonlFormatError as e:
        raise LogFormatError(str(e)) from None


_LOG_FIX = (
    "The sample log was edited or two runs wrote to it. Move it away or rerun into a fresh "
    "--out directory."
)


def read_log(path: Path | str) -> list[dict[str, Any]]:
    return list(iter_log(path))


def record_key(rec: dict[str, Any]) -> Key:
    return (str(rec["doc_id"]), int(rec["draw"]))


def done_keys(paths: Sequence[Path | str]) -> set[Key]:
    """Every (doc_id, draw) already finished in any of ``paths`` (errors count as finished)."""
    return set(done_hashes(paths))


def done_hashes(paths: Sequence[Path | str]) -> dict[Key, str | None]:
    """(doc_id, draw) -> the ``item_hash`` its record was made for, over ``paths``."""
    out: dict[Key, str | None] = {}
    for p in paths:
        for r in iter_log(p):
            out.setdefault(record_key(r), r.get("item_hash"))
    return out


def stale_keys(done: dict[Key, str | None], current: dict[str, str]) -> list[Key]:
    """Finished keys whose item changed since (``current``: doc_id -> item hash now).

    Resuming would otherwise keep answers scored against the old item (a relabelled answer,
    changed options) and report them as this run's.
    """
    return sorted(k for k, h in done.items() if k[0] in current and h != current[k[0]])


def merge_logs(
    main: Path | str, shards: Sequence[Path | str], order: Sequence[str] | None = None
) -> int:
    """Append to ``main`` every record of ``shards`` whose (doc_id, draw) it lacks; delete shards.

    Records are matched by id, never by position, and appended in ``order`` (the task's doc id
    order, then draw) so the merged log does not depend on which rank finished first. Returns the
    number of records added. Safe to rerun after a crash mid-merge: keys already in ``main`` are
    skipped, and a shard is removed only after its records are flushed to ``main``.
    """
    main = Path(main)
    have = done_keys([main])
    new: dict[Key, dict[str, Any]] = {}
    for s in shards:
        for rec in iter_log(s):
            k = record_key(rec)
            if k not in have and k not in new:
                new[k] = rec
    rank = {d: i for i, d in enumerate(order or [])}
    ordered = sorted(
        new.values(), key=lambda r: (rank.get(r["doc_id"], len(rank)), r["doc_id"], r["draw"])
    )
    with SampleLogWriter(main) as w:
        w.write_many(ordered)
    for s in shards:
        Path(s).unlink(missing_ok=True)
    return len(ordered)
