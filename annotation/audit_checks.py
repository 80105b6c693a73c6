"""The names of the audit checks and what each looks for (no heavy imports: ``--help`` uses it)."""

from __future__ import annotations

AUDIT_CHECKS: dict[str, str] = {
    "leakage": "the answer's text in the subtitles of an item whose tag lacks S",
    "near_duplicate": "two items on one video asking the same thing",
    "option_length_bias": "the correct option is the longest more often than chance",
    "tag_balance": "a tag's share of a split far from 1/7",
    "label_disagreement": "proposed tag differs from the label (needs --proposals)",
}
"""Every check :func:`audit` can run, with what it looks for (printed by ``annotate audit``)."""


def checks_run(*, with_proposals: bool) -> list[str]:
    """Names of the checks :func:`audit` runs (label_disagreement only with proposals)."""
    return [c for c in AUDIT_CHECKS if with_proposals or c != "label_disagreement"]
