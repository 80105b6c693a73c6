"""Label Studio round trip: tasks to import (with the proposal as a prediction) and its export.

Tasks carry everything a person needs to verify a tag: media URLs, subtitles, question, lettered
options, the current and proposed tag, and the ablation evidence. The labelling interface is a
multi-choice of V / A / S; the chosen letters form the tag. Importing Label Studio's JSON export
gives back the task data unchanged plus one :class:`Label` per completed annotation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from annotation.labels import Label, now_iso
from annotation.propose import Proposal
from maple_bench.fileio import atomic_write_json, atomic_write_text
from maple_bench.modality import MODALITY_ORDER, ModalityParseError, parse_tag
from maple_bench.prompts import format_options
from maple_bench.schema import Sample, SchemaError

FROM_NAME = "rmt"
TO_NAME = "question"
MODEL_VERSION = "maple-propose-v1"


def labeling_config() -> str:
    """The Label Studio labelling interface (XML) matching :func:`export_tasks`."""
    choices = "\n".join(
        f"    <Choice value={quoteattr(m.value)} hint={quoteattr(m.long_name)}/>"
        for m in MODALITY_ORDER
    )
    return f"""<View>
  <Header value="Which streams are REQUIRED to answer? (minimal set)"/>
  <Video name="video" value="$video"/>
  <Audio name="audio" value="$audio"/>
  <Text name="subtitles" value="$subtitles"/>
  <Text name="{TO_NAME}" value="$question"/>
  <Text name="options" value="$options_text"/>
  <Text name="evidence" value="$evidence"/>
  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="multiple" showInline="true" required="true">
{choices}
  </Choices>
</View>
"""


def _media_url(prefix: str, rel: str | None) -> str:
    if not rel:
        return ""
    return f"{prefix.rstrip('/')}/{rel}" if prefix else rel


def task_for(
    sample: Sample, proposal: Proposal | None, *, media_url_prefix: str = ""
) -> dict[str, Any]:
    """One Label Studio task for a QA item (and its proposal, shown as a prediction)."""
    qid = sample.question_id or sample.id
    evidence = dict(proposal.evidence) if proposal else {}
    data: dict[str, Any] = {
        "item_id": qid,
        "video_id": sample.video_id,
        "video": _media_url(media_url_prefix, sample.media.video),
        "audio": _media_url(media_url_prefix, sample.media.audio_source),
        "subtitle_file": _media_url(media_url_prefix, sample.media.subtitle),
        "subtitles": sample.subtitle_text or "",
        "question": sample.question,
        "options": list(sample.options),
        "options_text": format_options(sample.options),
        "answer": sample.answer,
        "labelled_rmt": sample.rmt.name,
        "proposed_rmt": proposal.proposed if proposal else None,
        "confidence": proposal.confidence if proposal else None,
        "flags": list(proposal.flags) if proposal else [],
        "evidence": "  ".join(
            f"{k}: {'-' if v is None else f'{v:.2f}'}" for k, v in evidence.items()
        ),
        "evidence_json": json.dumps(evidence, sort_keys=True),
        "split": sample.split,
    }
    task: dict[str, Any] = {"data": data}
    if proposal and proposal.proposed:
        task["predictions"] = [
            {
                "model_version": MODEL_VERSION,
                "score": proposal.confidence,
                "result": [
                    {
                        "from_name": FROM_NAME,
                        "to_name": TO_NAME,
                        "type": "choices",
                        "value": {"choices": list(proposal.proposed)},
                    }
                ],
            }
        ]
    return task


def export_tasks(
    samples: Sequence[Sample],
    proposals: Sequence[Proposal] = (),
    *,
    out: str | Path,
    media_url_prefix: str = "",
) -> Path:
    """Write ``out`` (tasks JSON for Label Studio's import) and ``out``'s sibling config XML."""
    by_id = {p.item_id: p for p in proposals}
    seen: set[str] = set()
    tasks = []
    for s in samples:
        qid = s.question_id or s.id
        if s.task != "qa" or qid in seen:
            continue
        seen.add(qid)
        tasks.append(task_for(s, by_id.get(qid), media_url_prefix=media_url_prefix))
    out = Path(out)
    atomic_write_json(out, tasks)
    atomic_write_text(out.with_suffix(".labeling_config.xml"), labeling_config())
    return out


def _annotator(completed_by: Any) -> str:
    if isinstance(completed_by, Mapping):
        return str(completed_by.get("email") or completed_by.get("id") or "")
    return "" if completed_by is None else str(completed_by)


def import_export(path: str | Path) -> tuple[list[dict[str, Any]], list[Label]]:
    """Read Label Studio's JSON export: (task data dicts, labels of completed annotations)."""
    path = Path(path)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SchemaError(f"not a Label Studio JSON export: {e}", file=str(path)) from None
    if not isinstance(tasks, list):
        raise SchemaError("a Label Studio export is a JSON list of tasks", file=str(path))
    data_out: list[dict[str, Any]] = []
    labels: list[Label] = []
    for t in tasks:
        data = dict(t.get("data") or {})
        item = str(data.get("item_id") or t.get("id"))
        data_out.append(data)
        for ann in t.get("annotations") or []:
            if ann.get("was_cancelled"):
                continue
            choices = [
                c
                for r in ann.get("result") or []
                if r.get("from_name") == FROM_NAME
                for c in (r.get("value") or {}).get("choices") or []
            ]
            if not choices:
                continue
            try:
                tag = parse_tag(choices).name
            except ModalityParseError as e:
                raise SchemaError(str(e), row_id=item, field="rmt", file=str(path)) from None
            labels.append(
                Label(
                    item_id=item,
                    annotator=_annotator(ann.get("completed_by")) or "unknown",
                    rmt=tag,
                    created_at=str(ann.get("updated_at") or ann.get("created_at") or now_iso()),
                    source="labelstudio",
                    lead_time=float(ann["lead_time"]) if ann.get("lead_time") is not None else None,
                )
            )
    return data_out, labels
