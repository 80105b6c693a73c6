"""Dataset builders, Hub/local loading and data cards for MAPLE-format benchmarks.

Pipeline: ``sources`` (raw files, dataset folders, Hub repos) -> ``columns`` (tolerant column
mapping) -> ``records`` (validated samples) -> ``builders`` (MAPLE-bench / QA / QA+ / Caption)
-> ``writer`` + ``card`` (atomic dataset folder with a data card) -> ``hub`` (publishing).
``loader.load_samples`` is what evaluators and the trainer call.
"""

from maple_bench.data.builders import CONFIGS, DEFAULT_NONE_FRACTION, build_caption, build_qa_plus
from maple_bench.data.columns import ColumnMap, parse_column_map, resolve_columns
from maple_bench.data.errors import ColumnMapError, DataError, SourceError
from maple_bench.data.hub import push_to_hub
from maple_bench.data.identity import content_hash, ids_hash, sample_hash
from maple_bench.data.loader import SampleSet, load_samples
from maple_bench.data.pipeline import BuildResult, build_dataset
from maple_bench.data.stats import summarize

__all__ = [
    "CONFIGS",
    "DEFAULT_NONE_FRACTION",
    "BuildResult",
    "ColumnMap",
    "ColumnMapError",
    "DataError",
    "SampleSet",
    "SourceError",
    "build_caption",
    "build_dataset",
    "build_qa_plus",
    "content_hash",
    "ids_hash",
    "load_samples",
    "parse_column_map",
    "push_to_hub",
    "resolve_columns",
    "sample_hash",
    "summarize",
]
