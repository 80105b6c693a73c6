"""Sample records and their storage schema (Arrow / ``datasets.Features``)."""

from maple_bench.schema.errors import SchemaError
from maple_bench.schema.sample import (
    NONE_OPTION,
    NONE_REASONS,
    TASK_KINDS,
    MediaRef,
    Sample,
    option_letter,
)
from maple_bench.schema.storage import (
    ARROW_SCHEMA,
    features,
    sample_from_row,
    sample_to_row,
    samples_from_table,
    samples_to_table,
    validate_samples,
)

__all__ = [
    "ARROW_SCHEMA",
    "NONE_OPTION",
    "NONE_REASONS",
    "TASK_KINDS",
    "MediaRef",
    "Sample",
    "SchemaError",
    "features",
    "option_letter",
    "sample_from_row",
    "sample_to_row",
    "samples_from_table",
    "samples_to_table",
    "validate_samples",
]
