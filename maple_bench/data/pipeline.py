"""Source -> samples -> builder -> dataset folder, top to bottom.

:func:`read_source_samples` is shared by the builders and the loader: it opens a source, maps
every table's columns (all mappings are checked before any row is read), converts rows to
validated samples and checks ids, media and splits. :func:`build_dataset` then applies one
builder and writes the folder atomically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from maple_bench.data import builders
from maple_bench.data.columns import ColumnMap, parse_column_map, resolve_columns
from maple_bench.data.identity import ids_hash
from maple_bench.data.media_refs import check_media
from maple_bench.data.records import (
    SourceRows,
    caption_rows,
    is_canonical,
    qa_rows,
    rows_from_canonical,
)
from maple_bench.data.sources import Source, open_source, read_tables
from maple_bench.data.splits import DEFAULT_TEST_FRACTION, assign_splits
from maple_bench.data.stats import summarize_table
from maple_bench.schema import Sample, samples_to_table, validate_samples

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceSamples:
    """Everything read from a source for one task."""

    source: Source
    """The resolved source (kind, location, revision, licence, media root)."""
    samples: list[Sample]
    """Validated samples with splits assigned."""
    column_maps: dict[str, dict[str, Any]]
    """file -> the column mapping used (empty for maple-bench's own tables)."""
    media_checked: bool
    """Whether every media reference was found under the media root."""


def read_source_samples(
    source: str | Path | Source,
    task: str,
    *,
    config: str | None = None,
    split: str | None = None,
    column_map: str | Mapping[str, str] | None = None,
    revision: str | None = None,
    media_root: str | Path | None = None,
    seed: int = 0,
    test_fraction: float | None = None,
    extras_to_metadata: bool = False,
    check_media_files: bool = True,
    strict_media: bool = True,
) -> SourceSamples:
    """Open ``source`` and return its ``task`` rows ("qa" or "caption") as validated samples.

    ``test_fraction`` splits rows that carry no split (None: the default, all test). Given for a
    source whose every row already has a split it would do nothing, so that is an error.
    """
    override = parse_column_map(column_map)
    src = (
        source
        if isinstance(source, Source)
        else open_source(source, revision=revision, media_root=media_root)
    )
    tables = read_tables(src, task, config=config, split=split)
    maps: list[ColumnMap | None] = []
    for t in tables:  # every mapping is resolved before any row is converted
        if is_canonical(t.table.column_names) and not override:
            maps.append(None)
        else:
            maps.append(
                resolve_columns(t.table.column_names, kind=task, override=override, file=t.file)
            )
    read = qa_rows if task == "qa" else caption_rows
    parts: list[SourceRows] = []
    for t, cmap in zip(tables, maps):
        if cmap is None:
            parts.append(rows_from_canonical(t.table, file=t.file))
        else:
            parts.append(
                read(
                    t.table.to_pylist(),
                    cmap,
                    file=t.file,
                    split=t.split,
                    extras_to_metadata=extras_to_metadata,
                )
            )
    file = tables[0].file if len(tables) == 1 else src.location
    samples = validate_samples((s for p in parts for s in p.samples), file=file)
    has_split = [h for p in parts for h in p.has_split]
    checked = False
    if check_media_files and src.media_root is not None:
        if src.media_root.is_dir():
            samples = check_media(samples, src.media_root, file=file, strict=strict_media)
            checked = strict_media
        elif src.media_root_given:
            from maple_bench.data.errors import DataError

            raise DataError(
                f"media root {src.media_root} is not a directory; pass --media-root DIR"
            )
        else:
            log.warning(
                "media root %s does not exist; media references are not checked", src.media_root
            )
    if test_fraction is not None and has_split and all(has_split):
        from collections import Counter

        from maple_bench.data.errors import DataError

        counts = Counter(s.split for s in samples)
        raise DataError(
            f"{file}: --test-fraction {test_fraction} would be ignored: every row already has "
            f"a split ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))}). Drop "
            f"--test-fraction to keep the source's splits, or remove the split column to "
            f"split by video hash"
        )
    samples = assign_splits(
        samples,
        has_split,
        seed=seed,
        test_fraction=DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction,
        file=file,
    )
    cmaps = {p.file: p.column_map.as_dict() for p in parts if p.column_map is not None}
    return SourceSamples(src, samples, cmaps, checked)


def apply_builder(
    config: str, samples: list[Sample], *, seed: int, none_fraction: float, file: str | None = None
) -> list[Sample]:
    """Run the builder of ``config`` on source samples."""
    if config == "maple_caption":
        out = builders.build_caption(samples, file=file)
    elif config == "maple_qa_plus":
        out = builders.build_qa_plus(
            builders.base_questions(samples, file=file), seed=seed, none_fraction=none_fraction
        )
    else:
        out = builders.build_qa(builders.base_questions(samples, file=file))
    return validate_samples(out, file=file)


def build_table(
    config: str, samples: list[Sample], *, seed: int, none_fraction: float, file: str | None = None
) -> pa.Table:
    """Run the builder of ``config`` straight to an Arrow table (QA+ is vectorised)."""
    if config == "maple_qa_plus":
        table = builders.qa_plus_table(
            builders.base_questions(samples, file=file), seed=seed, none_fraction=none_fraction
        )
        return table
    return samples_to_table(
        apply_builder(config, samples, seed=seed, none_fraction=none_fraction, file=file)
    )


def split_tables(table: pa.Table) -> dict[str, pa.Table]:
    """One table per split, splits in a stable order (test first, then alphabetical)."""
    names = sorted(set(table.column("split").to_pylist()), key=lambda k: (k != "test", k))
    return {sp: table.filter(pc.equal(table["split"], sp)) for sp in names}


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote."""

    out: Path
    """The dataset folder."""
    config: str
    """Config name written."""
    counts: dict[str, dict[str, Any]]
    """split -> :func:`maple_bench.data.stats.summarize` output."""


def build_dataset(
    builder: str,
    source: str | Path,
    out: str | Path,
    *,
    seed: int = 0,
    none_fraction: float = builders.DEFAULT_NONE_FRACTION,
    test_fraction: float | None = None,
    column_map: str | Mapping[str, str] | None = None,
    revision: str | None = None,
    media_root: str | Path | None = None,
    source_config: str | None = None,
    source_split: str | None = None,
    link_media: bool = True,
) -> BuildResult:
    """Build one config (``bench``, ``qa``, ``qa-plus`` or ``caption``) into the folder ``out``.

    Nothing is written unless every row is valid; the folder appears (or is updated) atomically.
    """
    from maple_bench.data.writer import write_dataset

    config = builders.config_name(builder)
    task = builders.TASK_OF_CONFIG[config]
    if not 0.0 <= none_fraction <= 1.0:
        raise ValueError(f"--none-fraction must be within [0, 1], got {none_fraction}")
    read = read_source_samples(
        source,
        task,
        config=source_config,
        split=source_split,
        column_map=column_map,
        revision=revision,
        media_root=media_root,
        seed=seed,
        test_fraction=test_fraction,
        extras_to_metadata=config == "maple_bench",
    )
    built = build_table(
        config, read.samples, seed=seed, none_fraction=none_fraction, file=read.source.location
    )
    tables = split_tables(built)
    info: dict[str, Any] = {
        "builder": builder,
        "task": task,
        "source": read.source.describe(),
        "source_config": source_config,
        "source_split": source_split,
        "seed": seed,
        "test_fraction": DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction,
        "column_map": read.column_maps or None,
        "media_checked": read.media_checked,
        "splits": {
            sp: {
                "num_rows": table.num_rows,
                "num_bytes": table.nbytes,
                "ids_hash": ids_hash(table.column("id").to_pylist()),
            }
            for sp, table in tables.items()
        },
        "counts": {sp: summarize_table(table) for sp, table in tables.items()},
    }
    if config == "maple_qa_plus":
        info["none_fraction"] = none_fraction
    annotation = _annotation_provenance(read.source)
    if annotation:
        info["annotation"] = annotation
    folder = write_dataset(
        out,
        config,
        tables,
        info,
        media_root=read.source.media_root if read.media_checked else None,
        link_media=link_media,
    )
    return BuildResult(folder, config, info["counts"])


ANNOTATION_PROVENANCE = "annotation_provenance.json"
"""Written by ``maple-bench annotate apply`` beside verified raw annotations."""


def _annotation_provenance(source: Any) -> dict[str, Any] | None:
    """Label provenance of a raw source whose tags were verified (source, annotators, agreement)."""
    if source.kind != "raw":
        return None
    loc = Path(source.location)
    path = (loc if loc.is_dir() else loc.parent) / ANNOTATION_PROVENANCE
    if not path.is_file():
        return None
    prov = json.loads(path.read_text(encoding="utf-8"))
    keep = ("label_source", "annotators", "n_labels", "n_items_verified", "n_changed", "agreement",
            "applied_at", "tool")  # fmt: skip
    return {k: prov.get(k) for k in keep}
