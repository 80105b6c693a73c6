"""Feed verified labels back into a raw annotation source, with their provenance.

The result is a new raw folder (same format, documented in data_cards/RAW_FORMAT.md) whose rows
carry the verified tags, plus ``annotation_provenance.json`` (label source, annotators,
agreement, changes), which the dataset builders copy into the data card.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from annotation.labels import Label, final_labels, now_iso
from annotation.report import _finite, agreement
from maple_bench import __version__
from maple_bench.fileio import atomic_write_json
from maple_bench.modality import parse_tag
from maple_bench.schema import SchemaError

PROVENANCE_FILE = "annotation_provenance.json"


def apply_labels(source: str | Path, labels: Sequence[Label], out: str | Path) -> dict[str, Any]:
    """Write ``out``: ``source``'s raw rows with verified tags, media linked, provenance added.

    Items whose annotators tie keep their source tag, are marked ``rmt_source:
    needs_adjudication`` and are listed under ``needs_adjudication`` in the provenance: a tie
    is settled by an adjudicator's label, never by a default order.

    Every labelled id must exist in the source (a typo would otherwise be dropped silently).
    The folder appears whole or not at all (built beside ``out`` and renamed).
    """
    source, out = Path(source), Path(out)
    qa_path = source / "qa.jsonl"
    if not qa_path.is_file():
        raise SchemaError("no qa.jsonl in the raw source folder", file=str(source))
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new output folder")
    verified, ties = final_labels(labels)
    rows = [
        json.loads(line)
        for line in qa_path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    ids = {str(r.get("id")) for r in rows}
    unknown = sorted((set(verified) | set(ties)) - ids)
    if unknown:
        raise SchemaError(
            f"{len(unknown)} labelled item(s) are not in the source, e.g. {unknown[:3]}",
            file=str(qa_path),
            field="id",
        )
    changes = []
    for r in rows:
        rid = str(r.get("id"))
        if rid in verified:
            old = parse_tag(r["rmt"]).name
            new = verified[rid]
            meta = dict(r.get("metadata") or {})
            meta.update({"rmt_source": "verified", "rmt_before_verification": old})
            r["metadata"] = meta
            r["rmt"] = new
            if old != new:
                changes.append({"id": rid, "from": old, "to": new})
        elif rid in ties:
            meta = dict(r.get("metadata") or {})
            meta.update({"rmt_source": "needs_adjudication"})
            r["metadata"] = meta
    stats = agreement(labels)
    provenance = {
        "label_source": sorted({lb.source for lb in labels}),
        "annotators": stats["annotators"],
        "n_labels": len(labels),
        "n_items_verified": len(verified),
        "n_changed": len(changes),
        "changes": changes,
        "n_needs_adjudication": len(ties),
        "needs_adjudication": [{"id": k, "labels": v} for k, v in sorted(ties.items())],
        "agreement": _finite(
            {
                k: stats.get(k)
                for k in (
                    "cohen_kappa",
                    "fleiss_kappa",
                    "krippendorff_alpha",
                    "observed_agreement",
                )
            }
        ),
        "agreement_notes": {
            "cohen_kappa_method": stats.get("cohen_kappa_method"),
            "undefined": stats.get("undefined") or {},
        },
        "applied_at": now_iso(),
        "tool": f"maple-bench {__version__}",
        "source": str(source),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "qa.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows),
            encoding="utf-8",
        )
        if (source / "captions.jsonl").is_file():
            shutil.copy2(source / "captions.jsonl", tmp / "captions.jsonl")
        if (source / "media").exists():
            os.symlink((source / "media").resolve(), tmp / "media")
        atomic_write_json(tmp / PROVENANCE_FILE, provenance)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return provenance
