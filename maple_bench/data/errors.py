"""Errors raised while reading sources and building datasets.

Every message says where the problem is (file, row id, column) and what to do about it. Bad
*sample* data is reported as :class:`maple_bench.schema.SchemaError`; these cover the rest.
"""

from __future__ import annotations


class DataError(ValueError):
    """A dataset source or build request that cannot be honoured."""


class ColumnMapError(DataError):
    """The source's columns cannot be mapped onto the sample fields."""


class SourceError(DataError):
    """A source that does not exist, cannot be read, or lacks the requested config/split."""
