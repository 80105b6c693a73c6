"""Human RMT labels: one row per (item, annotator), read from and written to a CSV table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from maple_bench.fileio import atomic_write_text
from maple_bench.modality import ModalityParseError, parse_tag
from maple_bench.schema import SchemaError

LABEL_COLUMNS = ("item_id", "annotator", "rmt", "created_at", "source", "lead_time", "notes")


@dataclass(frozen=True)
class Label:
    """One annotator's verdict on one item's required modalities."""

    item_id: str
    """Question id of the item."""
    annotator: str
    """Who labelled it (a Label Studio user id or e-mail, or a CSV annotator name)."""
    rmt: str
    """Canonical tag name (validated at construction)."""
    created_at: str
    """ISO-8601 time of the verdict."""
    source: str = "csv"
    """Where the label came from: ``labelstudio``, ``csv`` or ``propose``."""
    lead_time: float | None = None
    """Seconds the annotator spent (Label Studio's lead_time), when known."""
    notes: str | None = None
    """Free-text comment."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "rmt", parse_tag(self.rmt).name)
        except ModalityParseError as e:
            raise SchemaError(str(e), row_id=self.item_id, field="rmt") from None
        if not str(self.annotator).strip():
            raise SchemaError("empty annotator id", row_id=self.item_id, field="annotator")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_labels(labels: Iterable[Label], path: str | Path) -> Path:
    import pandas as pd

    df = pd.DataFrame([asdict(lb) for lb in labels], columns=list(LABEL_COLUMNS))
    return atomic_write_text(path, df.to_csv(index=False))


def read_labels(path: str | Path) -> list[Label]:
    """Read a label table; rows without a tag are skipped, a bad tag names its row."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("item_id", "annotator", "rmt") if c not in df.columns]
    if missing:
        raise SchemaError(
            f"label table lacks column(s) {missing}; found {list(df.columns)}", file=str(path)
        )
    out = []
    for r in df.to_dict("records"):
        if not r["rmt"].strip():
            continue
        try:
            out.append(
                Label(
                    item_id=r["item_id"],
                    annotator=r["annotator"],
                    rmt=r["rmt"],
                    created_at=r.get("created_at") or now_iso(),
                    source=r.get("source") or "csv",
                    lead_time=float(r["lead_time"]) if r.get("lead_time") else None,
                    notes=r.get("notes") or None,
                )
            )
        except SchemaError as e:
            raise e.with_file(str(path)) from None
    return out


def final_labels(labels: Sequence[Label]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """One tag per item by majority over annotators, and the items that tie.

    Returns ``(verified, ties)``: ``verified`` maps item -> tag for items with a strict majority;
    ``ties`` maps item -> {annotator: tag} for items without one. A tie is a disagreement that
    goes to an adjudicator (whose label, added as one more table, breaks it), never to a default.
    """
    from annotation.agree import majority

    by_item: dict[str, dict[str, str]] = {}
    for lb in labels:
        by_item.setdefault(lb.item_id, {})[lb.annotator] = lb.rmt
    verified, ties = {}, {}
    for item, given in by_item.items():
        top, _ = majority(list(given.values()))
        if top is None:
            ties[item] = dict(sorted(given.items()))
        else:
            verified[item] = str(top)
    return verified, ties
