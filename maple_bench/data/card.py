"""Render a dataset folder's README.md (the data card) from ``build_info`` and the templates.

Templates live in ``data_cards/`` (``dataset_card.md`` plus one ``configs/<config>.md`` per
config) and use ``string.Template`` placeholders, so a card can be re-rendered from
``build_info.json`` alone: building a second config into a folder regenerates the whole card.
"""

from __future__ import annotations

import os
from pathlib import Path
from string import Template
from typing import Any

import yaml

from data_cards import template_dir
from maple_bench.data.stats import markdown_table
from maple_bench.schema import ARROW_SCHEMA, NONE_OPTION, features

TEMPLATE_DIR = Path(os.environ.get("MAPLE_BENCH_CARD_TEMPLATES") or template_dir())
COLUMN_DOCS = {
    "id": "unique row id",
    "question_id": "id of the underlying question (shared by its presentations)",
    "video_id": "source video; the unit of train/test splits",
    "task": "`qa` or `caption`",
    "question": "question text (captioning: the instruction)",
    "options": "answer options in display order (lettered A, B, ...)",
    "answer": "text of the correct option (null for captioning)",
    "rmt": "Required Modality Tag",
    "presentation": "streams given to the model",
    "condition": "`exact`, `superset` or `deficit`",
    "none_reason": "`deficit`, `replaced` or null",
    "video": "video file, relative to the media root",
    "audio": "separate audio file (null: the video's soundtrack)",
    "subtitle": "subtitle file (.srt/.vtt), relative to the media root",
    "start": "clip start in seconds (null: beginning)",
    "end": "clip end in seconds (null: end of file)",
    "subtitle_text": "inline subtitles/transcript (wins over `subtitle`)",
    "captions": "reference captions (captioning)",
    "split": "split name",
    "metadata": "JSON object with any further fields",
}


def data_file(config: str, split: str) -> str:
    """Path of a split's single shard inside the dataset folder."""
    return f"data/{config}/{split}-00000-of-00001.parquet"


CONFIG_ORDER = ("maple_bench", "maple_qa", "maple_qa_plus", "maple_caption")


def ordered_configs(build_info: dict[str, Any]) -> dict[str, Any]:
    """The folder's configs in canonical order (bench, qa, qa_plus, caption, then others)."""
    configs = build_info.get("configs", {})
    rank = {n: i for i, n in enumerate(CONFIG_ORDER)}
    return {n: configs[n] for n in sorted(configs, key=lambda n: (rank.get(n, len(rank)), n))}


class _NoAliasDumper(yaml.SafeDumper):
    """Write repeated structures out in full (Hub card parsers do not expect YAML anchors)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def card_yaml(build_info: dict[str, Any]) -> dict[str, Any]:
    """The card's YAML header: ``configs`` with data_files, ``dataset_info`` with features."""
    configs = ordered_configs(build_info)
    feats = features()._to_yaml_list()
    licenses = {c["source"].get("license") for c in configs.values()} - {None}
    total = sum(s["num_rows"] for c in configs.values() for s in c["splits"].values())
    return {
        "pretty_name": build_info.get("pretty_name") or "MAPLE-format benchmark",
        "license": licenses.pop() if len(licenses) == 1 else "unknown",
        "language": ["en"],
        "task_categories": ["visual-question-answering", "video-text-to-text"],
        "tags": ["maple", "multimodal", "video", "audio", "subtitles", "modality-aware"],
        "size_categories": [_size_category(total)],
        "configs": [
            {
                "config_name": name,
                "data_files": [{"split": sp, "path": data_file(name, sp)} for sp in cfg["splits"]],
            }
            for name, cfg in configs.items()
        ],
        "dataset_info": [
            {
                "config_name": name,
                "features": feats,
                "splits": [
                    {
                        "name": sp,
                        "num_bytes": info.get("num_bytes", 0),
                        "num_examples": info["num_rows"],
                    }
                    for sp, info in cfg["splits"].items()
                ],
            }
            for name, cfg in configs.items()
        ],
    }


def _describe_maps(maps: dict[str, dict[str, Any]] | None) -> str:
    if not maps:
        return "none needed (maple-bench schema)"
    parts = []
    for file, m in maps.items():
        pairs = ", ".join(
            f"{k}={'|'.join(v) if isinstance(v, list) else v}" for k, v in m.items() if k != v
        )
        parts.append(f"`{Path(file).name}`: " + (pairs or "identity"))
    return "; ".join(parts)


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return label
    return "100K<n<1M"


def _template(name: str, template_dir: Path) -> str:
    path = template_dir / name
    if not path.is_file():
        raise FileNotFoundError(
            f"data card template {path} is missing; set MAPLE_BENCH_CARD_TEMPLATES to the "
            f"data_cards/ folder of a maple-bench checkout"
        )
    return path.read_text(encoding="utf-8")


def render_card(build_info: dict[str, Any], *, template_dir: Path | None = None) -> str:
    """The full README.md text for a dataset folder described by ``build_info``."""
    tdir = template_dir or TEMPLATE_DIR
    configs = ordered_configs(build_info)
    header = yaml.dump(
        card_yaml(build_info), Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True
    ).strip()
    rows = ["| config | split | rows | questions | videos | file |", "|---|---|---:|---:|---:|---|"]
    sections, prov = [], []
    for name, cfg in configs.items():
        for sp in cfg["splits"]:
            c = cfg["counts"][sp]
            rows.append(
                f"| `{name}` | {sp} | {c['num_rows']} | {c['num_questions']} | "
                f"{c['num_videos']} | `{data_file(name, sp)}` |"
            )
        sections.append(_template(f"configs/{name}.md", tdir).strip())
        for sp in cfg["splits"]:
            sections.append(f"Counts for `{name}` / `{sp}`:\n\n{markdown_table(cfg['counts'][sp])}")
        src = cfg["source"]
        lines = [
            f"- `{name}`: builder `{cfg['builder']}` from {src['kind']} source `{src['location']}`",
            f"  - revision: `{src.get('revision') or 'n/a (local files)'}`",
            f"  - seed {cfg['seed']}, test fraction {cfg['test_fraction']}"
            + (f", none fraction {cfg['none_fraction']}" if "none_fraction" in cfg else ""),
            f"  - column mapping: {_describe_maps(cfg.get('column_map'))}",
            "  - ids sha256: "
            + ", ".join(f"{sp} `{info['ids_hash'][:16]}`" for sp, info in cfg["splits"].items()),
        ]
        ann = cfg.get("annotation")
        if ann:
            agree = ", ".join(
                f"{k} {v:.3f}" for k, v in (ann.get("agreement") or {}).items() if v is not None
            )
            lines.append(
                f"  - RMT labels verified by {len(ann.get('annotators') or [])} annotator(s) "
                f"({', '.join(ann.get('annotators') or [])}) via {', '.join(ann.get('label_source') or [])}: "
                f"{ann.get('n_items_verified')} items, {ann.get('n_changed')} tags changed"
                + (f"; agreement: {agree}" if agree else "")
            )
        prov.extend(lines)
    media = build_info.get("media_root")
    prov.append(
        f"- media root: `{media}`"
        + (" (relative to this folder)" if media and not Path(media).is_absolute() else "")
        if media
        else "- media root: not recorded; pass `--media-root` / `media_root=` when loading"
    )
    prov.append(
        f"- tool: maple-bench {build_info.get('tool_version')}, schema {build_info.get('schema_version')}"
    )
    lic = card_yaml(build_info)["license"]
    license_text = (
        f"Data licence: `{lic}` (from the source). Media files are not part of this folder."
        if lic != "unknown"
        else "The source gave no licence (`unknown`): check the terms of the annotations and "
        "media before redistributing. Media files are not part of this folder."
    )
    if "nd" in lic.split("-"):
        license_text += (
            " The licence forbids derivatives: keep this build for local evaluation and do not "
            "publish it."
        )
    first: tuple[str, dict[str, Any]] = next(
        iter(configs.items()), ("maple_qa", {"splits": {"test": {}}})
    )
    return Template(_template("dataset_card.md", tdir)).substitute(
        yaml=header,
        title=build_info.get("pretty_name") or "MAPLE-format benchmark",
        tool_version=build_info.get("tool_version", "?"),
        configs_table="\n".join(rows),
        config_sections="\n\n".join(sections),
        none_option=NONE_OPTION,
        columns_table="\n".join(
            ["| column | type | meaning |", "|---|---|---|"]
            + [f"| `{f.name}` | {f.type} | {COLUMN_DOCS.get(f.name, '')} |" for f in ARROW_SCHEMA]
        ),
        provenance="\n".join(prov),
        first_config=first[0],
        first_split=next(iter(first[1]["splits"]), "test"),
        license_text=license_text,
    )
