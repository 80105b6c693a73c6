"""Propose an RMT for each item from ablation evidence: its accuracy under every presentation.

Each item is shown under the seven presentations (plus the blind one, question only) with the
None option added and its *original* answer as the target, so a model that lacks a needed
stream can say so instead of guessing. Presentation P passes when accuracy over the k draws is at
least ``threshold``. The proposed tag is the minimal P that passes and whose supersets all pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from maple_bench.modality import ALL_TAGS, VAS, Tag, parse_tag

FLAG_AMBIGUOUS = "ambiguous"  # two incomparable minimal presentations pass (redundant evidence)
FLAG_FAILS_FULL = "fails_full"  # wrong even with every stream (VAS): a bad item or a weak model
FLAG_BLIND = "blind_solvable"  # right with no media at all, from the question alone
FLAG_MISMATCH = "label_mismatch"  # proposed tag differs from the item's current label
FLAG_NOT_MONOTONE = "not_monotone"  # a presentation passes but one of its supersets fails


@dataclass(frozen=True)
class Proposal:
    """The proposed tag of one item and the evidence behind it."""

    item_id: str
    """Question id of the item."""
    video_id: str
    """Its video."""
    labelled: str | None
    """The tag it currently carries (None when unlabelled)."""
    proposed: str | None
    """Proposed RMT name; None when nothing passes with all supersets passing."""
    confidence: float
    """Worst margin of the evidence: min(acc of the proposal and its supersets,
    1 - acc of its proper subsets, including blind); 1 means clean, 0 means no support."""
    flags: tuple[str, ...]
    """Problems found (see the FLAG_* constants)."""
    evidence: Mapping[str, float | None] = field(default_factory=dict)
    """Accuracy per presentation name ("none" = blind); None where it was not run."""
    draws: int = 0
    """Draws per presentation (k)."""

    def to_row(self) -> dict[str, object]:
        return {
            "item_id": self.item_id,
            "video_id": self.video_id,
            "labelled_rmt": self.labelled,
            "proposed_rmt": self.proposed,
            "confidence": round(self.confidence, 6),
            "flags": ";".join(self.flags),
            "draws": self.draws,
            **{f"acc_{k}": v for k, v in self.evidence.items()},
        }


def decide(
    acc: Mapping[Tag, float], *, threshold: float = 0.5, blind_acc: float | None = None
) -> tuple[Tag | None, float, tuple[str, ...]]:
    """Pure rule: accuracies per presentation -> (proposed tag, confidence, flags)."""
    passes = {p: acc.get(p, 0.0) >= threshold for p in ALL_TAGS}
    closed = [p for p in ALL_TAGS if passes[p] and all(passes[q] for q in ALL_TAGS if p < q)]
    minimal = [p for p in closed if not any(q < p for q in closed)]
    flags: list[str] = []
    if not passes[VAS]:
        flags.append(FLAG_FAILS_FULL)
    if any(passes[p] and not all(passes[q] for q in ALL_TAGS if p < q) for p in ALL_TAGS):
        flags.append(FLAG_NOT_MONOTONE)
    if blind_acc is not None and blind_acc >= threshold:
        # Answerable from the question alone: no stream is required, so no RMT fits.
        flags.append(FLAG_BLIND)
        return None, 0.0, tuple(flags)
    if len(minimal) > 1:
        flags.append(FLAG_AMBIGUOUS)
    if not minimal:
        return None, 0.0, tuple(flags)
    # Among incomparable minimal sets prefer the better-supported one, then the smaller.
    best = max(minimal, key=lambda p: (acc.get(p, 0.0), -len(p), -p.sort_key))
    support = min(acc.get(q, 0.0) for q in ALL_TAGS if best <= q)
    below = [acc.get(q, 0.0) for q in ALL_TAGS if q < best]
    if blind_acc is not None:
        below.append(blind_acc)
    confidence = min(support, 1.0 - max(below)) if below else support
    return best, max(0.0, confidence), tuple(flags)


def accuracy_table(rows: Iterable[Mapping[str, object]]) -> dict[str, dict[str, list[bool]]]:
    """Log rows -> {question id: {presentation name: [correct per draw]}} (errors count wrong)."""
    table: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        qid = str(r.get("question_id") or r.get("doc_id"))
        pres = str(r.get("presentation") or "none")
        table[qid][pres].append(bool(r.get("correct")) and not r.get("error"))
    return table


def propose_from_rows(
    rows: Sequence[Mapping[str, object]],
    *,
    labels: Mapping[str, str] | None = None,
    threshold: float = 0.5,
) -> list[Proposal]:
    """Proposals from ablation log rows (``question_id``, ``presentation``, ``correct``, ...)."""
    videos = {
        str(r.get("question_id") or r.get("doc_id")): str(r.get("video_id", "")) for r in rows
    }
    if labels is None:
        labels = {
            str(r.get("question_id") or r.get("doc_id")): str(r["rmt"])
            for r in rows
            if r.get("rmt")
        }
    out = []
    for qid, by_pres in sorted(accuracy_table(rows).items()):
        acc: dict[Tag, float] = {}
        evidence: dict[str, float | None] = {}
        for p in ALL_TAGS:
            draws = by_pres.get(p.name)
            evidence[p.name] = sum(draws) / len(draws) if draws else None
            if draws:
                acc[p] = sum(draws) / len(draws)
        blind = by_pres.get("none")
        blind_acc = sum(blind) / len(blind) if blind else None
        evidence["none"] = blind_acc
        proposed, conf, flags = decide(acc, threshold=threshold, blind_acc=blind_acc)
        labelled = labels.get(qid)
        if labelled is not None and proposed is not None and parse_tag(labelled) != proposed:
            flags = (*flags, FLAG_MISMATCH)
        k = max((len(v) for v in by_pres.values()), default=0)
        out.append(
            Proposal(
                item_id=qid,
                video_id=videos.get(qid, ""),
                labelled=parse_tag(labelled).name if labelled else None,
                proposed=proposed.name if proposed else None,
                confidence=conf,
                flags=flags,
                evidence=evidence,
                draws=k,
            )
        )
    return out


def write_proposals(proposals: Sequence[Proposal], path: str | Path) -> Path:
    """Write the proposal table as CSV (atomically)."""
    import pandas as pd

    from maple_bench.fileio import atomic_write_text

    df = pd.DataFrame([p.to_row() for p in proposals])
    return atomic_write_text(Path(path), df.to_csv(index=False))


def read_proposals(path: str | Path) -> list[Proposal]:
    """Read a proposal table written by :func:`write_proposals`."""
    import pandas as pd

    df = pd.read_csv(path, dtype={"item_id": str, "video_id": str}, keep_default_na=False)
    out = []
    for r in df.to_dict("records"):
        ev = {
            k[4:]: (None if v == "" else float(v))
            for k, v in r.items()
            if str(k).startswith("acc_")
        }
        out.append(
            Proposal(
                item_id=str(r["item_id"]),
                video_id=str(r.get("video_id", "")),
                labelled=r.get("labelled_rmt") or None,
                proposed=r.get("proposed_rmt") or None,
                confidence=float(r.get("confidence") or 0.0),
                flags=tuple(f for f in str(r.get("flags", "")).split(";") if f),
                evidence=ev,
                draws=int(r.get("draws") or 0),
            )
        )
    return out
