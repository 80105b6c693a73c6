"""Human-readable output of a results dict: terminal tables and PNG charts."""

from .charts import plot_results
from .table import format_comparison, format_table

__all__ = ["format_comparison", "format_table", "plot_results"]
