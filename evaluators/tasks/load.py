"""Turn a :class:`TaskSpec` plus the user's ``--data`` / ``--revision`` into a list of samples.

Where the data comes from:
- MAPLE tasks, no ``--data``: the Hub repo at the task's config and revision.
- ``--data`` an existing folder: a local builder output folder (its ``maple_*`` configs); for
  synth tasks it may also be a raw synth output (``qa.jsonl`` + ``media/``), built in memory by
  the data builders.
- ``--data`` anything else: a Hub repo id (with ``--revision``).
- synth tasks, no ``--data``: a small synthetic benchmark is generated into the cache (keyed by
  seed and size, so reruns reuse it).
Hub revisions: the resolved commit is recorded in the dataset provenance.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluators.tasks import TaskSpec
from maple_bench.schema import Sample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedTask:
    """A task resolved to concrete items."""

    spec: TaskSpec
    """The registered task."""
    samples: list[Sample]
    """Items in the task's order (after ``--limit``)."""
    media_root: Path | None
    """Folder the items' media paths are relative to."""
    dataset: dict[str, Any] = field(default_factory=dict)
    """Dataset provenance: source, repo_id, revision, config, split, n, ids_hash, content_hash
    (the evaluated items) and dataset_hash (the loaded split's content, before any selection)."""

    @property
    def doc_ids(self) -> list[str]:
        return [s.id for s in self.samples]


def default_cache_dir() -> Path:
    base = os.environ.get("MAPLE_BENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "maple_bench"
    )
    return Path(base)


def load_task(
    spec: TaskSpec,
    *,
    data: str | None = None,
    revision: str | None = None,
    media_root: str | Path | None = None,
    limit: int | float | None = None,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    synth_per_tag: int = 4,
    presentations: tuple[str, ...] | None = None,
    config: str | None = None,
    split: str | None = None,
) -> LoadedTask:
    """Resolve ``spec`` to samples. See the module docstring for where data comes from.

    ``config`` / ``split`` read another config or split of the data than the task's own.
    """
    import dataclasses

    from maple_bench.data import content_hash, ids_hash, load_samples

    if config is not None or split is not None:
        spec = dataclasses.replace(
            spec,
            local_config=config or spec.local_config,
            hub_config=config or spec.hub_config,
            split=split or spec.split,
        )

    if spec.source == "synth":
        folder = _synth_source(data, cache_dir, seed, synth_per_tag)
        source, config, rev = str(folder), spec.local_config, None
    elif data is not None and Path(data).exists():
        source, config, rev = str(data), spec.local_config, None
    else:
        source = data or spec.repo_id or ""
        config = spec.hub_config or spec.local_config
        rev = revision or spec.revision
    sset = load_samples(
        source, config, spec.split, revision=rev, media_root=media_root,
        limit=None, seed=seed,
    )  # fmt: skip
    samples = list(sset.samples)
    prov = dict(getattr(sset, "provenance", {}) or {})
    if spec.kind == "ablation":
        from maple_bench.data.ablation import ablation_samples

        samples = ablation_samples(samples)
        prov["expansion"] = "ablation: 7 presentations + blind, None option, original answer"
    if presentations:
        keep = set(presentations)
        samples = [s for s in samples if s.shown.name in keep]
        if not samples:
            raise ValueError(
                f"task {spec.name!r}: no item of {source} is shown as {sorted(keep)}; "
                f"presentations present: {sorted({s.shown.name for s in sset.samples})}"
            )
        prov["presentations"] = sorted(keep)
    prov["n_before_limit"] = len(samples)
    if limit is not None:
        samples = limit_per_tag(samples, limit, seed)
        prov["limit"] = {"value": limit, "rule": LIMIT_RULE, "seed": seed}
    wrong = [s.id for s in samples if s.task != spec.sample_kind]
    if wrong:
        raise ValueError(
            f"task {spec.name!r} expects {spec.sample_kind} items but {source} config {config!r} "
            f"holds {len(wrong)} other rows (e.g. id {wrong[0]!r}); pick the matching task"
        )
    if spec.kind == "qa_plus" and samples and not any(s.has_none_option for s in samples):
        raise ValueError(
            f"task {spec.name!r} is QA+ but no item of {source} ({config}) has the None option; "
            f"did you mean the {spec.name.replace('_plus', '')!r} task?"
        )
    prov.setdefault("source", source)
    prov.setdefault("config", config)
    prov.setdefault("split", spec.split)
    # Identity of exactly the items evaluated (after expansion, presentations and --limit).
    # load_samples already hashed every item of the split: hash again only if the set changed.
    same = len(samples) == len(sset.samples) and all(a is b for a, b in zip(samples, sset.samples))
    if not same or prov.get("content_hash") is None:
        prov["ids_hash"] = ids_hash(s.id for s in samples)
        prov["content_hash"] = content_hash(samples)
    prov.setdefault("repo_id", spec.repo_id if spec.source == "hub" and data is None else None)
    prov.setdefault("revision", rev)
    prov["n"] = len(samples)
    root = sset.media_root if media_root is None else Path(media_root)
    return LoadedTask(spec, samples, Path(root) if root is not None else None, prov)


LIMIT_RULE = (
    "per-tag: seeded sample of round(n * share of tag), at least 1 per tag, task order kept"
)
"""How ``--limit`` picks items (recorded in the dataset provenance)."""


def limit_count(limit: int | float, n: int) -> int:
    """Items kept by ``--limit``: a count (int >= 1) or a fraction of ``n`` (float in (0, 1])."""
    if isinstance(limit, bool):
        raise ValueError(f"limit {limit!r}: give a count (e.g. 100) or a fraction (e.g. 0.1)")
    if isinstance(limit, float):
        if not 0 < limit <= 1:
            raise ValueError(f"limit {limit}: a fraction must be in (0, 1]; a count must be >= 1")
        return max(1, round(limit * n))
    if limit < 1:
        raise ValueError(f"limit {limit}: a count must be >= 1")
    return min(int(limit), n)


def limit_per_tag(samples: list[Sample], limit: int | float, seed: int) -> list[Sample]:
    """A seeded sample of ``limit`` items (count or fraction) with every RMT tag represented.

    Each tag gets its share of the count (largest remainder), at least one item while the count
    allows; within a tag, items are drawn by a seeded shuffle. The kept items stay in task order,
    so ``--limit 21`` on a 7-tag task gives 3 items per tag instead of the first 21 rows.
    """
    import random

    n = limit_count(limit, len(samples))
    if n >= len(samples):
        return list(samples)
    by_tag: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        by_tag.setdefault(s.rmt.name, []).append(i)
    tags = sorted(by_tag)
    quota = dict.fromkeys(tags, 0)
    if n >= len(tags):
        for t in tags:
            quota[t] = 1
    rest = n - sum(quota.values())
    if rest > 0:
        pool = {t: len(by_tag[t]) - quota[t] for t in tags}
        total = sum(pool.values())
        exact = {t: rest * pool[t] / total for t in tags}
        for t in tags:
            quota[t] += int(exact[t])
        left = n - sum(quota.values())
        for t in sorted(tags, key=lambda t: (-(exact[t] - int(exact[t])), t))[:left]:
            quota[t] += 1
    rng = random.Random(f"limit|{seed}")
    keep: list[int] = []
    for t in tags:
        idx = list(by_tag[t])
        rng.shuffle(idx)
        keep += idx[: quota[t]]
    return [samples[i] for i in sorted(keep)]


# -- synthetic data -------------------------------------------------------------------------------


def _is_built(folder: Path) -> bool:
    return (folder / "build_info.json").is_file()


def _is_raw(folder: Path) -> bool:
    return (folder / "qa.jsonl").is_file()


def _synth_source(data: str | None, cache_dir: str | Path | None, seed: int, per_tag: int) -> Path:
    """A built dataset folder or a raw synth folder (generated into the cache when not given).

    A raw synth folder is built in memory by :func:`maple_bench.data.load_samples` with the
    builders of :mod:`maple_bench.data` (QA+ None replacement seeded by ``seed``).
    """
    if data is not None:
        folder = Path(data)
        if not (_is_built(folder) or _is_raw(folder)):
            raise FileNotFoundError(
                f"--data {data}: neither a built dataset folder (build_info.json) nor a "
                f"`maple-bench synth` output (qa.jsonl); create one with `maple-bench synth --out "
                f"DIR`, or leave --data out to generate one into the cache"
            )
        return folder
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    out = cache / "synth" / f"pt{per_tag}_s{seed}"
    if not _is_raw(out):
        generate_synth(out, per_tag=per_tag, seed=seed)
    return out


def generate_synth(out: Path, *, per_tag: int, seed: int, **kw: Any) -> Path:
    """Write a raw synthetic benchmark (``maple_bench.synth.generate``); ``kw`` go to SynthConfig."""
    from maple_bench.synth import SynthConfig, generate

    return generate(out, SynthConfig(per_tag=per_tag, seed=seed, **kw), overwrite=True)
