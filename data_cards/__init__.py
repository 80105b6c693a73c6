"""Dataset card templates, filled in by :mod:`maple_bench.data.card`.

A package (rather than a bare folder) so the templates ship in wheels and non-editable installs:
:func:`template_dir` finds them wherever the distribution is installed.
"""

from __future__ import annotations

from pathlib import Path


def template_dir() -> Path:
    """The folder holding ``dataset_card.md`` and ``configs/<config>.md``."""
    return Path(__file__).resolve().parent
