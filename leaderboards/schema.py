"""The leaderboard JSON schema, its validation, and strict JSON reading and writing.

A board is checked twice: by the versioned JSON Schema shipped next to this module
(``leaderboard.schema.json``: types, ranges, snake_case keys, nulls for missing values) and by
the rules a schema cannot express (no NaN or infinity, one entry per model + revision, every
entry sharing the board's task hash and dataset revision). Errors name the file and the field.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1.0"
"""Version written into every board (``schema_version``); bumped on incompatible changes."""

SCHEMA_PATH = Path(__file__).with_name("leaderboard.schema.json")
"""Where the board JSON Schema lives (shipped as package data)."""

TAGS: tuple[str, ...] = ("V", "A", "S", "VA", "VS", "AS", "VAS")
"""The seven Required Modality Tags, in canonical order (uni-modal first)."""

UNI_TAGS: tuple[str, ...] = ("V", "A", "S")
"""Single-stream tags."""

CONDITIONS: tuple[str, ...] = ("exact", "superset", "deficit")
"""QA+ presentation conditions."""

HEADLINE_REQUIRED: tuple[str, ...] = (
    "avg_acc",
    "micro_acc",
    "acc_uni",
    "acc_multi",
    "uni_multi_gap",
    "modality_spread",
    "fusion_gain",
    "fusion_gain_rel",
    "invalid_rate",
    "error_rate",
)
"""Headline metrics every entry carries (null when a run could not define them)."""


class LeaderboardError(ValueError):
    """A board or results file is not acceptable; the message says where and what to do."""

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike[str] | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.field = field
        self.hint = hint
        parts = []
        if self.file:
            parts.append(self.file)
        if field:
            parts.append(f"field '{field}'")
        where = ": ".join(parts)
        text = f"{where}: {message}" if where else message
        if hint:
            text += f" ({hint})"
        super().__init__(text)


@lru_cache(maxsize=1)
def board_schema() -> dict[str, Any]:
    """The board JSON Schema as a dict (loaded once)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def json_path(parts: Any) -> str:
    """Render a jsonschema error path (``deque`` of keys / indices) as ``a.b[0].c``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def _check_finite(value: Any, path: str, file: str | None) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise LeaderboardError(
            f"non-finite number {value!r}",
            file=file,
            field=path,
            hint="write null for a missing value",
        )
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_finite(v, f"{path}.{k}" if path else str(k), file)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{path}[{i}]", file)


def entry_key(entry: Mapping[str, Any]) -> tuple[str, str]:
    """The identity of an entry: (model name, model revision or "")."""
    model = entry["model"]
    return (str(model["name"]), str(model.get("revision") or ""))


def validate_board(board: Any, *, file: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`LeaderboardError` (pointing at the field) unless ``board`` is a valid board."""
    import jsonschema

    f = None if file is None else str(file)
    validator = jsonschema.Draft202012Validator(board_schema())
    errors = sorted(validator.iter_errors(board), key=lambda e: (len(e.absolute_path), e.message))
    if errors:
        # The deepest error is the most specific one (anyOf failures report at the parent).
        err = max(errors, key=lambda e: len(e.absolute_path))
        raise LeaderboardError(
            err.message,
            file=f,
            field=json_path(err.absolute_path),
            hint=f"violates leaderboard schema {SCHEMA_VERSION} rule '{'/'.join(map(str, err.absolute_schema_path))}'",
        )
    _check_finite(board, "", f)
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(board["entries"]):
        key = entry_key(entry)
        if key in seen:
            raise LeaderboardError(
                f"duplicate entry for model {key[0]!r} revision {key[1]!r} (also entries[{seen[key]}])",
                file=f,
                field=f"entries[{i}].model",
                hint="one entry per model + revision; republish to replace it",
            )
        seen[key] = i
        prov = entry["provenance"]
        if prov["task_hash"] != board["task_hash"]:
            raise LeaderboardError(
                f"task hash {prov['task_hash']!r} differs from the board's {board['task_hash']!r}",
                file=f,
                field=f"entries[{i}].provenance.task_hash",
            )
        if prov["dataset_revision"] != board["dataset"]["revision"]:
            raise LeaderboardError(
                f"dataset revision {prov['dataset_revision']!r} differs from the board's "
                f"{board['dataset']['revision']!r}",
                file=f,
                field=f"entries[{i}].provenance.dataset_revision",
            )


def dumps(board: Mapping[str, Any]) -> str:
    """Serialise strictly: sorted keys, no NaN/Infinity, trailing newline (stable diffs)."""
    return json.dumps(board, indent=2, sort_keys=True, allow_nan=False, ensure_ascii=False) + "\n"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def load_json(path: str | os.PathLike[str], *, what: str = "JSON file") -> Any:
    """Read a JSON file, refusing NaN/Infinity literals; errors name the file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LeaderboardError(f"{what} not found", file=p) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise LeaderboardError(
            f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})", file=p
        ) from None
    except ValueError as e:
        raise LeaderboardError(str(e), file=p, hint="write null for a missing value") from None


def load_board(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a board file."""
    board = load_json(path, what="board file")
    validate_board(board, file=path)
    return board


def _file_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temp file in the same folder, fsync, os.replace."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(p))  # mkstemp makes 0600; keep the file's (or umask) mode
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_board(path: str | os.PathLike[str], board: Mapping[str, Any]) -> None:
    """Validate, then write a board atomically (the board on disk is never half-written)."""
    validate_board(board, file=path)
    atomic_write_text(path, dumps(board))
