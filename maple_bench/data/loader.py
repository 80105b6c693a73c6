"""The loader evaluators and the trainer consume: any source -> a :class:`SampleSet`.

``load_samples`` accepts a dataset folder built by maple-bench, a folder laid out like a Hub repo,
a Hub repo id (``lihVerma/MAPLE-bench``), or raw annotation files (then the requested config is
built in memory). Every sample is validated; the provenance block identifies exactly which items
were loaded (``ids_hash``) with which content (``content_hash``; ``dataset_hash`` before any
filter) from where (repo, revision, config, split).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maple_bench.data.builders import CONFIGS, DEFAULT_NONE_FRACTION, TASK_OF_CONFIG
from maple_bench.data.errors import SourceError
from maple_bench.data.identity import content_hash, ids_hash
from maple_bench.data.pipeline import apply_builder, read_source_samples
from maple_bench.data.sources import folder_configs, open_source, pick_config
from maple_bench.modality import Condition, Tag, parse_condition, parse_tag
from maple_bench.schema import Sample


@dataclass
class SampleSet:
    """Validated samples plus where they came from."""

    samples: list[Sample]
    """The samples, in dataset order."""
    media_root: Path | None
    """Root for the samples' relative media paths (None when unknown)."""
    provenance: dict[str, Any] = field(default_factory=dict)
    """``source, repo_id, revision, config, split, n, ids_hash, content_hash, dataset_hash``
    (+ ``filters``); see :mod:`maple_bench.data.identity`."""

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]

    def filter(
        self,
        *,
        tags: Iterable[Tag | str] | None = None,
        conditions: Iterable[Condition | str] | None = None,
        split: str | None = None,
        limit: int | None = None,
    ) -> SampleSet:
        """A new set keeping samples whose RMT is in ``tags``, condition in ``conditions``, split."""
        keep_tags = {parse_tag(t) for t in tags} if tags is not None else None
        keep_conds = {parse_condition(c) for c in conditions} if conditions is not None else None
        out = [
            s
            for s in self.samples
            if (keep_tags is None or s.rmt in keep_tags)
            and (keep_conds is None or s.condition in keep_conds)
            and (split is None or s.split == split)
        ]
        if limit is not None:
            out = out[:limit]
        filters = dict(self.provenance.get("filters") or {})
        if keep_tags is not None:
            filters["tags"] = sorted(
                (t.name for t in keep_tags), key=lambda n: parse_tag(n).sort_key
            )
        if keep_conds is not None:
            filters["conditions"] = sorted(c.value for c in keep_conds)
        if limit is not None:
            filters["limit"] = limit
        prov = dict(self.provenance)
        if split is not None:
            prov["split"] = split
        prov.update(
            n=len(out),
            ids_hash=ids_hash(s.id for s in out),
            content_hash=content_hash(out),
            filters=filters or None,
        )
        return SampleSet(out, self.media_root, prov)


def load_samples(
    source: str | Path,
    config: str | None = None,
    split: str | None = "test",
    *,
    revision: str | None = None,
    column_map: str | Mapping[str, str] | None = None,
    media_root: str | Path | None = None,
    tags: Iterable[Tag | str] | None = None,
    conditions: Iterable[Condition | str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    none_fraction: float = DEFAULT_NONE_FRACTION,
) -> SampleSet:
    """Load validated samples from any source; ``split=None`` loads every split.

    Raw annotation sources are built in memory for ``config`` (``maple_qa`` by default;
    ``maple_qa_plus`` uses ``seed`` and ``none_fraction``). Missing media files are not an error
    here: the evaluation runner reports them per sample.
    """
    src = open_source(source, revision=revision, media_root=media_root)
    if src.kind == "raw":
        cfg = _raw_config(config)
        task = TASK_OF_CONFIG[cfg]
        read = read_source_samples(
            src,
            task,
            column_map=column_map,
            seed=seed,
            extras_to_metadata=cfg == "maple_bench",
            strict_media=False,
        )
        samples = apply_builder(
            cfg, read.samples, seed=seed, none_fraction=none_fraction, file=src.location
        )
    else:
        if src.kind == "folder":
            cfg = (
                pick_config(list(folder_configs(Path(src.location))), "qa", config, src.location)
                if config is None
                else config
            )
        else:
            cfg = config or "MAPLE_QA_exact"
        task = "caption" if "caption" in cfg.lower() else "qa"
        read = read_source_samples(
            src,
            task,
            config=cfg,
            split=split,
            column_map=column_map,
            seed=seed,
            strict_media=False,
        )
        samples = read.samples
    available = sorted({s.split for s in samples})
    if split is not None and src.kind == "raw":
        if split not in available:
            raise SourceError(
                f"{src.location} ({cfg}): no split {split!r}; splits are {', '.join(available) or '(none)'}"
            )
        samples = [s for s in samples if s.split == split]
    digest = content_hash(samples)
    prov = {
        "source": str(source),
        "repo_id": src.repo_id,
        "revision": src.resolved_revision or src.revision,
        "config": cfg,
        "split": split,
        "n": len(samples),
        "ids_hash": ids_hash(s.id for s in samples),
        "content_hash": digest,
        # The loaded split's content before --limit / tag filters: what a run is "on".
        "dataset_hash": digest,
        "license": src.license,
    }
    out = SampleSet(samples, src.media_root, prov)
    if tags is not None or conditions is not None or limit is not None:
        out = out.filter(tags=tags, conditions=conditions, limit=limit)
    return out


def _raw_config(config: str | None) -> str:
    if config is None:
        return "maple_qa"
    key = config.strip().lower()
    if key in TASK_OF_CONFIG:
        return key
    if key.replace("_", "-").removeprefix("maple-") in CONFIGS:
        return CONFIGS[key.replace("_", "-").removeprefix("maple-")]
    raise SourceError(
        f"unknown config {config!r} for raw annotations; choose one of {', '.join(TASK_OF_CONFIG)}"
    )
