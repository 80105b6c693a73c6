"""Results file -> board entry.

A results file (``maple-eval`` output, lm-evaluation-harness skeleton plus a ``maple`` block) is
first validated against the results JSON Schema shipped by the evaluators
(``evaluators/results/schema.json``, located as a file, never imported), then the fields a board
needs are read with strict types: a number must be a JSON number (``"29.54%"`` or ``"-"`` is
refused with the field's path), a NaN becomes null, and accuracies must be fractions in [0, 1].
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaderboards.schema import (
    CONDITIONS,
    HEADLINE_REQUIRED,
    TAGS,
    LeaderboardError,
    json_path,
    load_json,
)

RESULTS_SCHEMA_ENV = "MAPLE_RESULTS_SCHEMA"
"""Environment variable that may point at the results JSON Schema (overrides the lookup)."""

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@dataclass(frozen=True)
class EntryOptions:
    """What the user may state about a model that a results file does not say."""

    model_name: str | None = None
    """Display name; default: the results' model id (``maple.provenance.model.id``)."""
    task: str | None = None
    """Task to take from a results file that holds several; default: its only task."""
    parameters: int | None = None
    """Parameter count, when the results file does not record it."""
    open_weights: bool | None = None
    """Whether the weights are openly available (None: unknown / as recorded)."""


def results_schema_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Locate the results JSON Schema without importing the evaluators package.

    Order: ``explicit``, ``$MAPLE_RESULTS_SCHEMA``, then ``results/schema.json`` inside the
    installed ``evaluators`` package (found with ``importlib.util.find_spec``, which does not run
    the package). Raises a :class:`LeaderboardError` that says how to fix it when none exists.
    """
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get(RESULTS_SCHEMA_ENV):
        candidates.append(Path(os.environ[RESULTS_SCHEMA_ENV]))
    else:
        spec = importlib.util.find_spec("evaluators")
        for loc in (spec.submodule_search_locations or []) if spec else []:
            candidates.append(Path(loc) / "results" / "schema.json")
    for c in candidates:
        if c.is_file():
            return c
    raise LeaderboardError(
        "the results JSON Schema was not found (looked at: "
        + (", ".join(str(c) for c in candidates) or "no evaluators package installed")
        + ")",
        hint=f"install maple-bench with its evaluators package, or pass --results-schema PATH / set ${RESULTS_SCHEMA_ENV}",
    )


def validate_results(
    doc: Any,
    *,
    file: str | os.PathLike[str] | None = None,
    schema: str | os.PathLike[str] | None = None,
) -> None:
    """Validate a results document against the evaluators' results schema (field-precise errors)."""
    import jsonschema

    path = results_schema_path(schema)
    schema_doc = load_json(path, what="results schema")
    cls = jsonschema.validators.validator_for(schema_doc)
    errors = list(cls(schema_doc).iter_errors(doc))
    if errors:
        err = max(errors, key=lambda e: len(e.absolute_path))
        raise LeaderboardError(
            f"not a valid results file: {err.message}",
            file=file,
            field=json_path(err.absolute_path),
            hint=f"checked against {path}",
        )


# -- strict readers ------------------------------------------------------------------------------


class _Reader:
    """Reads typed values out of a results document, naming the field on any error."""

    def __init__(self, doc: Mapping[str, Any], file: str | None) -> None:
        self.doc = doc
        self.file = file

    def fail(self, field: str, message: str, hint: str | None = None) -> LeaderboardError:
        return LeaderboardError(message, file=self.file, field=field, hint=hint)

    def get(self, path: str, *, required: bool = False) -> Any:
        cur: Any = self.doc
        walked = []
        for part in path.split("."):
            walked.append(part)
            if not isinstance(cur, Mapping):
                raise self.fail(
                    ".".join(walked[:-1]), f"expected an object, got {type(cur).__name__}"
                )
            if part not in cur:
                if required:
                    raise self.fail(
                        ".".join(walked), "missing", hint="re-run maple-eval to write it"
                    )
                return None
            cur = cur[part]
        return cur

    def mapping(self, path: str, *, required: bool = False) -> Mapping[str, Any] | None:
        v = self.get(path, required=required)
        if v is None:
            if required:
                raise self.fail(path, "is null; expected an object")
            return None
        if not isinstance(v, Mapping):
            raise self.fail(path, f"expected an object, got {type(v).__name__} {v!r}")
        return v

    def string(self, path: str, *, required: bool = False) -> str | None:
        v = self.get(path, required=required)
        if v is None:
            if required:
                raise self.fail(path, "is null; expected a string")
            return None
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise self.fail(path, f"expected a string, got {type(v).__name__}")
        return str(v)

    def number(self, path: str, value: Any = None, *, fraction: bool = False) -> float | None:
        v = self.get(path) if value is None else value
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(
                path,
                f"expected a number or null, got {type(v).__name__} {v!r}",
                hint="numbers must be JSON numbers (no '%', '-' or 'TBD'); write null when missing",
            )
        f = float(v)
        if not math.isfinite(f):
            return None
        if fraction and not (-1e-9 <= f <= 1 + 1e-9):
            raise self.fail(
                path,
                f"expected a fraction in [0, 1], got {f}",
                hint="percent values are not accepted",
            )
        return min(max(f, 0.0), 1.0) if fraction else f

    def count(self, path: str, value: Any = None) -> int | None:
        v = self.get(path) if value is None else value
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v) or v < 0:
            raise self.fail(path, f"expected a non-negative integer, got {v!r}")
        return int(v)


def _snake_key(key: str) -> str:
    """camelCase / kebab-case / spaced -> snake_case (provenance blocks only)."""
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(key)).lower()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    if not s or not s[0].isalpha():
        s = "k_" + s
    return s


def _plain(value: Any) -> Any:
    """Copy JSON data with snake_case keys and non-finite numbers as null (for provenance blocks)."""
    if isinstance(value, Mapping):
        return {_snake_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _date(value: Any) -> str | None:
    """lm-eval writes ``date`` as a Unix timestamp; boards store an ISO date string."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    return str(value)


def _adapter(r: _Reader) -> str | None:
    """The adapter name; results may record it as a string or an object with a name."""
    raw = r.get("maple.provenance.model.adapter")
    if isinstance(raw, Mapping):
        name = raw.get("name") or raw.get("type") or raw.get("adapter")
        return None if name is None else str(name)
    if raw is not None:
        return r.string("maple.provenance.model.adapter")
    return r.string("config.model")


def _cell(r: _Reader, base: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {"acc": None, "n": None, "n_videos": None, "ci_low": None, "ci_high": None}
    if not isinstance(raw, Mapping):
        raise r.fail(base, f"expected an object with acc, n, ci_low, ci_high, got {raw!r}")
    acc_key = "acc" if "acc" in raw else ("score" if "score" in raw else "acc")
    return {
        "acc": r.number(f"{base}.{acc_key}", raw.get(acc_key), fraction=True),
        "n": r.count(f"{base}.n", raw.get("n")),
        "n_videos": r.count(f"{base}.n_videos", raw.get("n_videos")),
        "ci_low": r.number(f"{base}.ci_low", raw.get("ci_low"), fraction=True),
        "ci_high": r.number(f"{base}.ci_high", raw.get("ci_high"), fraction=True),
    }


def _pick_task(r: _Reader, options: EntryOptions) -> str:
    results = r.mapping("results", required=True)
    assert results is not None
    tasks = sorted(results)
    named = r.string("maple.task")
    if options.task:
        if options.task not in results:
            raise r.fail("results", f"has no task {options.task!r}; tasks present: {tasks}")
        return options.task
    if named and named in results:
        return named
    if len(tasks) != 1:
        raise r.fail("results", f"holds {len(tasks)} tasks {tasks}", hint="choose one with --task")
    return tasks[0]


def _task_hash(r: _Reader, task: str) -> tuple[str, str]:
    """The task hash and the field it came from.

    The dataset's content hash comes first: it changes when any item's content changes
    (a relabelled answer), so a run on relabelled data opens a new board instead of ranking
    beside runs on the original items. Files without it fall back to the explicit hashes,
    then to the item-ids hash.
    """
    for path in (
        "maple.provenance.dataset.content_hash",
        f"task_hashes.{task}",
        f"configs.{task}.task_hash",
        "maple.task_hash",
        "maple.provenance.task_hash",
        "maple.provenance.dataset.ids_hash",
    ):
        v = r.get(path)
        if v not in (None, ""):
            return str(v), path
    raise r.fail(
        "maple.provenance.dataset.ids_hash",
        "no task hash: neither task_hashes, configs.<task>.task_hash nor the dataset ids_hash is set",
        hint="results written by maple-eval record the hash of the item ids",
    )


def results_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the results file's bytes (recorded so an entry can be traced to its file)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def entry_from_results(
    doc: Mapping[str, Any],
    *,
    file: str | os.PathLike[str] | None = None,
    options: EntryOptions = EntryOptions(),
    sha256: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Build one board entry from a parsed results document; returns ``(task, entry)``.

    The document is expected to be schema-valid already (:func:`validate_results`); this step
    still type-checks every field it copies, so a hand-edited file cannot smuggle a string into
    a number column.
    """
    r = _Reader(doc, None if file is None else str(file))
    if not isinstance(doc, Mapping):
        raise r.fail("(root)", "a results file must be a JSON object")
    task = _pick_task(r, options)
    r.mapping("maple", required=True)
    task_hash, _ = _task_hash(r, task)

    name = (
        options.model_name or r.string("maple.provenance.model.id") or r.string("config.model_name")
    )
    if not name:
        raise r.fail(
            "maple.provenance.model.id", "missing; cannot name the model", hint="pass --model-name"
        )
    params = options.parameters
    if params is None:
        for p in ("maple.provenance.model.parameters", "maple.provenance.model.num_parameters"):
            params = r.count(p)
            if params is not None:
                break
    open_weights = options.open_weights
    if open_weights is None:
        ow = r.get("maple.provenance.model.open_weights")
        if ow is not None and not isinstance(ow, bool):
            raise r.fail(
                "maple.provenance.model.open_weights", f"expected true/false/null, got {ow!r}"
            )
        open_weights = ow
    model = {
        "name": name,
        "model_id": r.string("maple.provenance.model.id"),
        "revision": r.string("maple.provenance.model.revision"),
        "parameters": params,
        "adapter": _adapter(r),
        "dtype": r.string("maple.provenance.model.dtype"),
        "date": _date(r.get("date")),
        "open_weights": open_weights,
    }

    versions = r.mapping("maple.provenance.versions") or {}
    toolkit = versions.get("maple_bench") or versions.get("maple-bench")
    media = r.mapping("maple.provenance.media")
    provenance = {
        "dataset_repo_id": r.string("maple.provenance.dataset.repo_id"),
        "dataset_revision": r.string("maple.provenance.dataset.revision"),
        "dataset_config": r.string("maple.provenance.dataset.config"),
        "dataset_split": r.string("maple.provenance.dataset.split"),
        "ids_hash": r.string("maple.provenance.dataset.ids_hash"),
        "task_hash": task_hash,
        "toolkit_version": None if toolkit is None else str(toolkit),
        "metrics_version": r.string("maple.metrics_version"),
        "git_hash": r.string("maple.provenance.git_hash") or r.string("git_hash"),
        "prompt_hash": r.string("maple.provenance.prompt_hash"),
        "media_spec": None if media is None else _plain(media),
        "results_sha256": sha256 or hashlib.sha256(repr(doc).encode()).hexdigest(),
    }

    by_tag_raw = r.mapping("maple.by_tag", required=True) or {}
    unknown = sorted(set(by_tag_raw) - set(TAGS))
    if unknown:
        raise r.fail(f"maple.by_tag.{unknown[0]}", f"unknown tag; expected one of {list(TAGS)}")
    by_tag = {t: _cell(r, f"maple.by_tag.{t}", by_tag_raw.get(t)) for t in TAGS}

    by_cond_raw = r.mapping("maple.by_condition")
    by_condition = None
    if by_cond_raw:
        unknown = sorted(set(by_cond_raw) - set(CONDITIONS))
        if unknown:
            raise r.fail(
                f"maple.by_condition.{unknown[0]}",
                f"unknown condition; expected {list(CONDITIONS)}",
            )
        by_condition = {
            c: _cell(r, f"maple.by_condition.{c}", by_cond_raw.get(c)) for c in CONDITIONS
        }

    headline_raw = r.mapping("maple.headline", required=True) or {}
    headline: dict[str, float | None] = {}
    headline_ci: dict[str, dict[str, float | None]] = {}
    for key, raw in headline_raw.items():
        field = f"maple.headline.{key}"
        if not _SNAKE.match(str(key)):
            raise r.fail(field, "metric names must be snake_case")
        if isinstance(raw, Mapping):  # {"value": x, "ci_low": .., "ci_high": ..}
            headline[key] = r.number(f"{field}.value", raw.get("value"))
            if raw.get("ci_low") is not None or raw.get("ci_high") is not None:
                headline_ci[key] = {
                    "ci_low": r.number(f"{field}.ci_low", raw.get("ci_low")),
                    "ci_high": r.number(f"{field}.ci_high", raw.get("ci_high")),
                }
        else:
            headline[key] = r.number(field, raw)
    for key in HEADLINE_REQUIRED:
        headline.setdefault(key, None)
    for key, raw in (r.mapping("maple.headline_ci") or {}).items():
        if isinstance(raw, Mapping) and _SNAKE.match(str(key)):
            headline_ci[key] = {
                "ci_low": r.number(f"maple.headline_ci.{key}.ci_low", raw.get("ci_low")),
                "ci_high": r.number(f"maple.headline_ci.{key}.ci_high", raw.get("ci_high")),
            }

    n = r.get(f"n-samples.{task}.effective")
    entry = {
        "model": model,
        "provenance": provenance,
        "n_samples": r.count(f"n-samples.{task}.effective", n),
        "by_tag": by_tag,
        "by_condition": by_condition,
        "headline": headline,
        "headline_ci": headline_ci,
    }
    return task, entry


def primary_score_from_results(doc: Mapping[str, Any]) -> str | None:
    """What the per-tag numbers measure: ``accuracy`` (QA) or ``judge_score`` (captions)."""
    value = (doc.get("maple") or {}).get("primary_score")
    return value if value in ("accuracy", "judge_score") else None


def chance_from_results(doc: Mapping[str, Any]) -> float | None:
    """Accuracy of a uniform guess among the options (``maple.chance_acc``), when recorded."""
    value = (doc.get("maple") or {}).get("chance_acc")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


def definitions_from_results(doc: Mapping[str, Any]) -> dict[str, str]:
    """The metric definitions a results file states (``maple.definitions``), snake_case keys only."""
    raw = (doc.get("maple") or {}).get("definitions") or {}
    return {str(k): str(v) for k, v in raw.items() if _SNAKE.match(str(k)) and isinstance(v, str)}


def check_results_numbers(doc: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Refuse a results file whose numbers contradict each other, or the sample log beside it.

    The schema cannot see that a headline ``avg_acc`` of 0.95 sits over a per-tag table that
    averages 0.12; a board must not rank such a file. The checks (and the rescoring of the log)
    are the evaluators' own, imported here only when a file is published.
    """
    try:
        from evaluators.results.consistency import check_against_log, check_consistency
    except ModuleNotFoundError as e:  # leaderboards otherwise needs only the results schema
        raise LeaderboardError(
            f"cannot check the numbers: {e}",
            file=path,
            hint="publishing needs the evaluators package; install maple-bench with it",
        ) from e

    problems = check_consistency(doc) or check_against_log(Path(path), doc)
    if problems:
        first = problems[0]
        field, _, what = first.partition(": ")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise LeaderboardError(
            f"{what}{more}",
            file=path,
            field=field.removeprefix("$."),
            hint="the numbers do not agree; rescore the run with `maple-eval score` and publish that",
        )


def load_entry(
    path: str | os.PathLike[str],
    *,
    options: EntryOptions = EntryOptions(),
    results_schema: str | os.PathLike[str] | None = None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Read, validate and convert one results file; returns ``(task, entry, document)``."""
    doc = load_json(path, what="results file")
    validate_results(doc, file=path, schema=results_schema)
    check_results_numbers(doc, path)
    task, entry = entry_from_results(doc, file=path, options=options, sha256=results_sha256(path))
    return task, entry, doc
