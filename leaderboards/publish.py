"""Publish results files into a board: validate, refuse mismatches, merge, lock, write atomically.

``publish`` is all-or-nothing: every results file is read and converted before the board is
touched, the merged board is validated, and it is written once with ``os.replace``. Concurrent
publishers serialise on :func:`maple_bench.locks.path_lock` of the board, held across
read-merge-write, so two publishes running at once both land (no lost update); the lock file
lives in the shared lock folder, never in boards/.
Publishing the same results again replaces the entry with an identical one and leaves the file
byte-for-byte unchanged (idempotent).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaderboards.entries import (
    EntryOptions,
    chance_from_results,
    definitions_from_results,
    load_entry,
    primary_score_from_results,
)
from leaderboards.schema import (
    SCHEMA_VERSION,
    LeaderboardError,
    entry_key,
    load_board,
    validate_board,
    write_board,
)


@dataclass(frozen=True)
class PublishReport:
    """What one publish did to the board."""

    board: Path
    """The board file written (or left unchanged)."""
    task: str
    """The board's task."""
    added: tuple[str, ...]
    """``name@revision`` of entries that were new."""
    replaced: tuple[str, ...]
    """Entries whose content changed (same model + revision published again with new results)."""
    unchanged: tuple[str, ...]
    """Entries published again with identical content."""
    written: bool
    """False when the merged board equals the one on disk (nothing rewritten)."""
    n_entries: int
    """Entries on the board afterwards."""


@contextmanager
def board_lock(board_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the board's exclusive lock for the block (waits for another publisher)."""
    from maple_bench.locks import path_lock

    with path_lock(board_path, what="leaderboards publish"):
        yield


def _label(entry: Mapping[str, Any]) -> str:
    name, rev = entry_key(entry)
    return f"{name}@{rev}" if rev else name


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_board(
    task: str,
    entry: Mapping[str, Any],
    *,
    definitions: Mapping[str, str] | None = None,
    title: str | None = None,
    primary_score: str | None = None,
) -> dict[str, Any]:
    """An empty board whose identity (task, task hash, dataset) is taken from its first entry."""
    prov = entry["provenance"]
    return {
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "task": task,
        "primary_score": primary_score,
        "task_hash": prov["task_hash"],
        "dataset": {
            "repo_id": prov["dataset_repo_id"],
            "revision": prov["dataset_revision"],
            "config": prov["dataset_config"],
            "split": prov["dataset_split"],
            "ids_hash": prov["ids_hash"],
        },
        "metrics_version": prov["metrics_version"],
        "definitions": dict(definitions or {}),
        "updated": _now(),
        "entries": [],
    }


def check_compatible(
    board: Mapping[str, Any], task: str, entry: Mapping[str, Any], *, file: str | None
) -> None:
    """Refuse an entry whose task, task hash, dataset revision or metrics version differ."""
    prov = entry["provenance"]
    if task != board["task"]:
        raise LeaderboardError(
            f"task {task!r} does not match the board's task {board['task']!r}",
            file=file,
            field="results",
            hint="one board per task: publish it to another --board",
        )
    if prov["task_hash"] != board["task_hash"]:
        raise LeaderboardError(
            f"task hash {prov['task_hash']!r} does not match the board's {board['task_hash']!r}: "
            "the run used different items",
            file=file,
            field="task_hash",
            hint="evaluate on the board's items, or start a new board",
        )
    if prov["dataset_revision"] != board["dataset"]["revision"]:
        raise LeaderboardError(
            f"dataset revision {prov['dataset_revision']!r} does not match the board's "
            f"{board['dataset']['revision']!r}",
            file=file,
            field="maple.provenance.dataset.revision",
            hint="evaluate on the pinned revision (--revision), or start a new board",
        )
    mv = prov["metrics_version"]
    if mv is not None and board["metrics_version"] is not None and mv != board["metrics_version"]:
        raise LeaderboardError(
            f"metrics version {mv!r} differs from the board's {board['metrics_version']!r}: "
            "the numbers are not comparable",
            file=file,
            field="maple.metrics_version",
            hint="re-score the run with `maple-eval score` at the board's version",
        )


def merge_entry(board: dict[str, Any], entry: Mapping[str, Any]) -> str:
    """Insert or replace ``entry`` (same model name + revision); returns added/replaced/unchanged."""
    key = entry_key(entry)
    for i, old in enumerate(board["entries"]):
        if entry_key(old) == key:
            if old == entry:
                return "unchanged"
            board["entries"][i] = copy.deepcopy(dict(entry))
            return "replaced"
    board["entries"].append(copy.deepcopy(dict(entry)))
    board["entries"].sort(key=entry_key)
    return "added"


def _strip_updated(board: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in board.items() if k != "updated"}


def publish(
    results: Sequence[str | os.PathLike[str]],
    board_path: str | os.PathLike[str],
    *,
    options: EntryOptions = EntryOptions(),
    results_schema: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> PublishReport:
    """Publish results files into ``board_path`` (created when absent). See the module docstring."""
    if not results:
        raise LeaderboardError("no results files given")
    if options.model_name and len(results) > 1:
        raise LeaderboardError(
            "--model-name applies to one results file; publish them one at a time"
        )
    loaded = []
    chances: list[float | None] = []
    for path in results:
        task, entry, doc = load_entry(path, options=options, results_schema=results_schema)
        loaded.append(
            (str(path), task, entry, definitions_from_results(doc), primary_score_from_results(doc))
        )
        chances.append(chance_from_results(doc))

    bp = Path(board_path)
    with board_lock(bp):
        if bp.exists():
            board = load_board(bp)
        else:
            _, task0, entry0, defs0, score0 = loaded[0]
            board = new_board(task0, entry0, definitions=defs0, title=title, primary_score=score0)
        before = copy.deepcopy(board)
        if title is not None:
            board["title"] = title
        outcome: dict[str, list[str]] = {"added": [], "replaced": [], "unchanged": []}
        for file, task, entry, defs, score in loaded:
            check_compatible(board, task, entry, file=file)
            if score is not None and board.get("primary_score") not in (None, score):
                raise LeaderboardError(
                    f"primary score {score!r} differs from the board's {board['primary_score']!r}",
                    file=file,
                    field="maple.primary_score",
                )
            outcome[merge_entry(board, entry)].append(_label(entry))
            board["definitions"].update(defs)
        known = [c for c in chances if c is not None]
        if known and board.get("chance_acc") is None:
            board["chance_acc"] = known[0]  # same task hash -> same items -> same chance
        changed = _strip_updated(board) != _strip_updated(before) or not bp.exists()
        if changed:
            board["updated"] = _now()
            write_board(bp, board)
        else:
            validate_board(board, file=bp)
    return PublishReport(
        board=bp,
        task=board["task"],
        added=tuple(outcome["added"]),
        replaced=tuple(outcome["replaced"]),
        unchanged=tuple(outcome["unchanged"]),
        written=changed,
        n_entries=len(board["entries"]),
    )
