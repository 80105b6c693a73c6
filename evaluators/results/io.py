"""Validate, write (atomically) and load results files against ``schema.json``."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from maple_bench.fileio import atomic_write_json

SCHEMA_FILE = "schema.json"


class ResultsValidationError(ValueError):
    """A results object does not match the schema; ``.errors`` lists 'JSON path: problem'."""

    def __init__(self, errors: list[str], where: str = "results") -> None:
        self.errors = errors
        shown = "\n  ".join(errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{where} does not match the results schema:\n  {shown}{more}")


@lru_cache(maxsize=1)
def results_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a results file."""
    text = resources.files("evaluators.results").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _non_finite(obj: Any, path: str = "$") -> list[str]:
    """JSON paths of NaN/inf floats (the schema's ``number`` type would let them through)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return [f"{path}: {obj!r} is not a finite number; write null for a missing value"]
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _non_finite(v, f"{path}.{k}" if str(k).isidentifier() else f"{path}['{k}']")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _non_finite(v, f"{path}[{i}]")
    return out


def validate_results(obj: Any) -> list[str]:
    """Every schema violation, then (on a schema-valid object) every internal inconsistency
    (:mod:`evaluators.results.consistency`), as ``"<JSON path>: <message>"`` (empty = valid)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = Draft202012Validator(results_schema())
    errors = sorted(
        validator.iter_errors(obj), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    msgs = []
    for e in errors:
        if e.validator in ("oneOf", "anyOf") and e.context:
            e = best_match(e.context)  # the branch that got furthest names the real field
        msgs.append(f"{e.json_path}: {e.message}")
    msgs += _non_finite(obj)
    if not msgs:  # the numbers must also agree with each other (a hand-edited file may not)
        from evaluators.results.consistency import check_consistency

        msgs += check_consistency(obj)
    return msgs


def write_results(path: Path | str, results: dict[str, Any]) -> Path:
    """Validate, then write ``results`` to ``path`` atomically (temp file + os.replace)."""
    errors = validate_results(results)
    if errors:
        raise ResultsValidationError(errors, where=f"results for {path}")
    return atomic_write_json(path, results, sort_keys=False)


def load_results(path: Path | str) -> dict[str, Any]:
    """Read and validate a results file; raises :class:`ResultsValidationError` naming fields."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsValidationError([f"$: not valid JSON ({e})"], where=str(path)) from None
    errors = validate_results(obj)
    if errors:
        raise ResultsValidationError(errors, where=str(path))
    return obj
