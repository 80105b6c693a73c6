"""Metrics over a sample log: per-tag accuracy, modality gap, fusion gain, QA+ and captions.

Layout: :mod:`.items` reads and validates the log (draws averaged per item), :mod:`.stats` is
the pure math (ratio statistics and derived metrics), :mod:`.bootstrap` the clustered bootstrap
and paired test, :mod:`.compare` aligns two runs, :mod:`.definitions` the documented metric
definitions and their version.
"""

from .bootstrap import BootstrapResult, PairedResult, bootstrap, paired_compare, percentile_ci
from .compare import ComparisonError, compare_logs
from .definitions import DEFINITIONS, HIGHER_IS_BETTER, METRICS_VERSION
from .items import ItemTable, SampleLogError, item_table, none_index, read_sample_log
from .stats import HEADLINE_NAMES, STAT_NAMES, ClusterSums, cluster_sums, derive

__all__ = [
    "DEFINITIONS",
    "HEADLINE_NAMES",
    "HIGHER_IS_BETTER",
    "METRICS_VERSION",
    "STAT_NAMES",
    "BootstrapResult",
    "ClusterSums",
    "ComparisonError",
    "ItemTable",
    "PairedResult",
    "SampleLogError",
    "bootstrap",
    "cluster_sums",
    "compare_logs",
    "derive",
    "item_table",
    "none_index",
    "paired_compare",
    "percentile_ci",
    "read_sample_log",
]
