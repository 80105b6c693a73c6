"""The results file: builder (lm-eval skeleton + ``maple`` block), JSON Schema, validated I/O."""

from .build import RUN_META, build_results, normalize_provenance, read_run_meta, score_log
from .io import (
    ResultsValidationError,
    load_results,
    results_schema,
    validate_results,
    write_results,
)

__all__ = [
    "RUN_META",
    "ResultsValidationError",
    "build_results",
    "load_results",
    "normalize_provenance",
    "read_run_meta",
    "results_schema",
    "score_log",
    "validate_results",
    "write_results",
]
