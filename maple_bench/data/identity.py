"""Dataset identity: which items (``ids_hash``) with which content (``content_hash``).

One definition for every writer of these provenance fields (the builders' ``build_info.json``,
the loader, the evaluation runner, leaderboards). A relabelled answer, a changed option or a
moved clip window changes :func:`sample_hash` of that item and so :func:`content_hash` of the
set, while the ids stay the same: resume, the run fingerprint and the leaderboard's task hash
key on content, never on a path string or on ids alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from maple_bench.schema import Sample, sample_to_row


def sample_hash(sample: Sample) -> str:
    """sha256[:16] of the item's canonical storage row: changes whenever the item changes."""
    row = sample_to_row(sample)
    blob = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def ids_hash(ids: Iterable[str]) -> str:
    """sha256 (hex) of the sorted ids joined by newlines: identifies the item set (not order)."""
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()


def content_hash(samples: Iterable[Sample]) -> str:
    """sha256 (hex) of the sorted ``id<TAB>sample_hash`` lines: the items and their content."""
    lines = sorted(f"{s.id}\t{sample_hash(s)}" for s in samples)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
