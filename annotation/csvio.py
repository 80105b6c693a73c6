"""The plain-CSV round trip for annotators without Label Studio.

The exported sheet has one row per item with the context columns filled in and empty
``annotator`` / ``rmt`` / ``notes`` columns; annotators fill those (one copy of the sheet each, or
several rows per item) and :func:`import_csv` reads the verdicts back as :class:`Label` rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from annotation.labels import Label, now_iso
from annotation.propose import Proposal
from maple_bench.fileio import atomic_write_text
from maple_bench.modality import ModalityParseError
from maple_bench.schema import Sample, SchemaError

SHEET_COLUMNS = (
    "item_id", "video_id", "video", "subtitles", "question", "options", "answer", "labelled_rmt",
    "proposed_rmt", "confidence", "flags", "evidence", "annotator", "rmt", "notes", "created_at",
)  # fmt: skip


def export_csv(
    samples: Sequence[Sample], proposals: Sequence[Proposal] = (), *, out: str | Path
) -> Path:
    import pandas as pd

    by_id = {p.item_id: p for p in proposals}
    rows, seen = [], set()
    for s in samples:
        qid = s.question_id or s.id
        if s.task != "qa" or qid in seen:
            continue
        seen.add(qid)
        p = by_id.get(qid)
        rows.append(
            {
                "item_id": qid,
                "video_id": s.video_id,
                "video": s.media.video or "",
                "subtitles": s.subtitle_text or "",
                "question": s.question,
                "options": json.dumps(list(s.options), ensure_ascii=False),
                "answer": s.answer,
                "labelled_rmt": s.rmt.name,
                "proposed_rmt": (p.proposed or "") if p else "",
                "confidence": p.confidence if p else "",
                "flags": ";".join(p.flags) if p else "",
                "evidence": json.dumps(dict(p.evidence), sort_keys=True) if p else "",
                "annotator": "",
                "rmt": "",
                "notes": "",
                "created_at": "",
            }
        )
    return atomic_write_text(
        out, pd.DataFrame(rows, columns=list(SHEET_COLUMNS)).to_csv(index=False)
    )


def import_csv(path: str | Path, *, default_annotator: str | None = None) -> list[Label]:
    """Filled sheet -> labels. Rows with an empty ``rmt`` are not yet labelled and are skipped."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("item_id", "rmt"):
        if col not in df.columns:
            raise SchemaError(
                f"the sheet has no {col!r} column; found {list(df.columns)}",
                file=str(path),
                hint="export a fresh sheet with `maple-bench annotate export --format csv`",
            )
    out = []
    for r in df.to_dict("records"):
        if not r["rmt"].strip():
            continue
        annotator = r.get("annotator", "").strip() or default_annotator
        if not annotator:
            raise SchemaError(
                "labelled row without an annotator",
                row_id=r["item_id"],
                field="annotator",
                file=str(path),
                hint="fill the annotator column or pass --annotator",
            )
        try:
            out.append(
                Label(
                    item_id=r["item_id"],
                    annotator=annotator,
                    rmt=r["rmt"],
                    created_at=r.get("created_at") or now_iso(),
                    source="csv",
                    notes=r.get("notes") or None,
                )
            )
        except (SchemaError, ModalityParseError) as e:
            if isinstance(e, SchemaError):
                raise e.with_file(str(path)) from None
            raise SchemaError(str(e), row_id=r["item_id"], field="rmt", file=str(path)) from None
    return out
