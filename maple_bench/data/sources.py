"""Where samples come from: raw annotation files, local dataset folders, Hub repositories.

:func:`open_source` decides what a ``--source`` string is; :func:`read_tables` returns its rows
for a task ("qa" or "caption") as :class:`SourceTable` objects, one per file and split. Nothing
here interprets columns: that is :mod:`maple_bench.data.columns` and ``records``.
"""

from __future__ import annotations

import csv
import glob
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from maple_bench.data.errors import SourceError

log = logging.getLogger(__name__)

RAW_NAMES = {"qa": ("qa", "questions"), "caption": ("captions", "caption")}
RAW_EXTENSIONS = (".jsonl", ".json", ".csv", ".parquet")
HUB_REPO = "lihVerma/MAPLE-bench"
# Config preferences when the user does not name one: ours first, then the public names.
CONFIG_PREFERENCE = {
    "qa": (
        "maple_bench",
        "maple_qa",
        "MAPLE_QA_exact",
        "maple_qa_plus",
        "MAPLE_QA_all_combinations",
    ),
    "caption": ("maple_caption", "MAPLE_caption"),
}
KNOWN_LICENSES = {HUB_REPO.lower(): "cc-by-nc-nd-4.0"}
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class SourceTable:
    """Rows of one file (or one Hub split) of a source."""

    table: pa.Table
    """The rows, as read (no column interpretation yet)."""
    file: str
    """File path or ``repo:config/split`` (for messages)."""
    config: str | None = None
    """Config the rows belong to (dataset folders and Hub repos)."""
    split: str | None = None
    """Split the rows belong to, if the source says so."""


@dataclass
class Source:
    """A resolved ``--source``."""

    kind: str
    """``raw`` (annotation files), ``folder`` (dataset folder) or ``hub`` (repo id)."""
    location: str
    """Absolute path, or the repo id."""
    media_root: Path | None = None
    """Media root for the rows' relative paths, when known."""
    media_root_given: bool = False
    """Whether the user named the media root (then every media file must exist)."""
    revision: str | None = None
    """Revision requested by the user (Hub)."""
    resolved_revision: str | None = None
    """Commit sha the data was read at (Hub, when resolvable), else None."""
    license: str | None = None
    """Licence of the source data, when known."""
    info: dict[str, Any] = field(default_factory=dict)
    """Extra facts (folder build_info, card YAML)."""

    @property
    def repo_id(self) -> str | None:
        return self.location if self.kind == "hub" else None

    def describe(self) -> dict[str, Any]:
        """What the card and build_info record about the source."""
        return {
            "kind": self.kind,
            "location": self.location,
            "repo_id": self.repo_id,
            "revision": self.resolved_revision or self.revision,
            "requested_revision": self.revision,
            "license": self.license,
        }


def open_source(
    source: str | Path, *, revision: str | None = None, media_root: str | Path | None = None
) -> Source:
    """Work out what ``source`` is. Raises :class:`SourceError` when it is nothing we can read."""
    text = str(source)
    path = Path(text).expanduser()
    given = media_root is not None
    root = Path(media_root).expanduser().absolute() if given else None  # type: ignore[arg-type]
    if path.exists():
        path = path.absolute()
        if path.is_file():
            if path.suffix.lower() not in RAW_EXTENSIONS:
                raise SourceError(f"{path}: unsupported file type; use .jsonl, .csv or .parquet")
            default = path.parent / "media"
            return Source("raw", str(path), root or (default if default.is_dir() else None), given)
        yaml_cfg = read_card_yaml(path / "README.md")
        if (
            yaml_cfg.get("configs")
            or (path / "build_info.json").is_file()
            or (path / "data").is_dir()
        ):
            info = _read_json(path / "build_info.json")
            if root is None and info.get("media_root"):
                root = folder_media_root(path, info["media_root"])
            lic = yaml_cfg.get("license")
            return Source(
                "folder",
                str(path),
                root,
                given,
                license=lic,
                info={"build_info": info, "card": yaml_cfg},
            )
        if any(_raw_file(path, t) for t in RAW_NAMES):
            default = path / "media"
            return Source("raw", str(path), root or (default if default.is_dir() else None), given)
        raise SourceError(
            f"{path} is neither a raw annotation folder (qa.jsonl / captions.jsonl) nor a dataset "
            f"folder (README.md with configs, data/*.parquet)"
        )
    if _REPO_ID.match(text) and not text.startswith((".", "/")):
        return Source(
            "hub",
            text,
            root,
            given,
            revision=revision,
            license=KNOWN_LICENSES.get(text.lower()),
        )
    raise SourceError(f"source {text!r} does not exist and is not a Hub repo id (owner/name)")


def folder_media_root(folder: Path, recorded: str) -> Path:
    """The media root recorded in a folder's build_info (relative paths may not climb out)."""
    p = Path(recorded)
    if p.is_absolute():
        return p
    if ".." in p.parts:
        raise SourceError(
            f"{folder}/build_info.json: media_root {recorded!r} climbs out of the folder"
        )
    return folder / p


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SourceError(f"{path}: not valid JSON ({e})") from None


def read_card_yaml(readme: Path) -> dict[str, Any]:
    """The YAML front matter of a dataset card ({} when there is none)."""
    if not readme.is_file():
        return {}
    import yaml

    text = readme.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError as e:
        raise SourceError(f"{readme}: the YAML header is invalid ({e})") from None
    return data if isinstance(data, dict) else {}


def _raw_file(folder: Path, task: str) -> Path | None:
    for stem in RAW_NAMES[task]:
        for ext in RAW_EXTENSIONS:
            if (folder / f"{stem}{ext}").is_file():
                return folder / f"{stem}{ext}"
    return None


# -- reading ---------------------------------------------------------------------------------------


def read_file(path: Path) -> pa.Table:
    """Read a .jsonl / .json / .csv / .parquet file into an Arrow table (values untouched)."""
    ext = path.suffix.lower()
    if ext == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    rows: list[dict[str, Any]]
    if ext in {".jsonl", ".json"}:
        rows = []
        with path.open(encoding="utf-8") as fh:
            head = fh.read(1)
            fh.seek(0)
            if head == "[":
                rows = json.load(fh)
            else:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise SourceError(f"{path}: line {n} is not valid JSON ({e})") from None
                    if not isinstance(obj, dict):
                        raise SourceError(f"{path}: line {n} is not a JSON object")
                    rows.append(obj)
    elif ext == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [{k: (v if v != "" else None) for k, v in r.items()} for r in csv.DictReader(fh)]
    else:
        raise SourceError(f"{path}: unsupported file type {ext!r}")
    return _rows_to_table(rows)


def _rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows -> table keeping Python values as they are (columns of JSON-encoded objects)."""
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    # Lists and objects (options, captions, metadata) travel as JSON text; records.py reads them.
    data: dict[str, list[Any]] = {c: [] for c in cols}
    for r in rows:
        for c in cols:
            v = r.get(c)
            data[c].append(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
    return pa.table({c: _column(v) for c, v in data.items()})


def _column(values: list[Any]) -> pa.Array:
    """Numbers stay numbers when a column is all numbers; anything mixed becomes text."""
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {int}:
        return pa.array(values, type=pa.int64())
    if kinds and kinds <= {int, float}:
        return pa.array(values, type=pa.float64())
    if kinds and kinds <= {bool}:
        return pa.array(values, type=pa.bool_())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def read_tables(
    source: Source, task: str, *, config: str | None = None, split: str | None = None
) -> list[SourceTable]:
    """The source's tables for ``task``; ``split`` restricts folder/Hub sources to one split."""
    if source.kind == "raw":
        path = Path(source.location)
        if path.is_file():
            return [SourceTable(read_file(path), str(path))]
        f = _raw_file(path, task)
        if f is None:
            names = " / ".join(f"{s}.jsonl" for s in RAW_NAMES[task])
            raise SourceError(f"{path}: no {task} annotations ({names}) in this folder")
        return [SourceTable(read_file(f), str(f))]
    if source.kind == "folder":
        return _folder_tables(Path(source.location), task, config, split)
    return _hub_tables(source, task, config, split)


def folder_configs(folder: Path) -> dict[str, dict[str, list[str]]]:
    """config -> split -> file patterns, from the card's YAML (or ``data/<config>/<split>-*``)."""
    card = read_card_yaml(folder / "README.md")
    out: dict[str, dict[str, list[str]]] = {}
    for cfg in card.get("configs") or []:
        name = cfg.get("config_name", "default")
        files = cfg.get("data_files") or []
        splits: dict[str, list[str]] = {}
        if isinstance(files, str):
            files = [files]
        if isinstance(files, Mapping):
            files = [{"split": k, "path": v} for k, v in files.items()]
        for item in files:
            if isinstance(item, str):
                splits.setdefault("train", []).append(item)
            else:
                paths = item.get("path")
                paths = [paths] if isinstance(paths, str) else list(paths or [])
                splits.setdefault(item.get("split", "train"), []).extend(paths)
        out[name] = splits
    if not out and (folder / "data").is_dir():
        for sub in sorted(p for p in (folder / "data").iterdir() if p.is_dir()):
            for f in sorted(sub.glob("*.parquet")):
                out.setdefault(sub.name, {}).setdefault(f.name.split("-")[0], []).append(
                    str(f.relative_to(folder))
                )
    return out


def pick_config(available: list[str], task: str, config: str | None, where: str) -> str:
    """The requested config (case-insensitive), else the preferred one for ``task``."""
    if config is not None:
        for name in available:
            if name == config or name.lower() == config.lower():
                return name
        raise SourceError(
            f"{where}: no config {config!r}; configs are {', '.join(available) or '(none)'}"
        )
    for pref in CONFIG_PREFERENCE[task]:
        for name in available:
            if name.lower() == pref.lower():
                return name
    matches = [n for n in available if ("caption" in n.lower()) == (task == "caption")]
    if len(matches) == 1 or (len(available) == 1 and (matches := available)):
        return matches[0]
    raise SourceError(
        f"{where}: cannot tell which config holds {task} rows; pass --source-config "
        f"(configs: {', '.join(available) or '(none)'})"
    )


def _folder_tables(
    folder: Path, task: str, config: str | None, split: str | None
) -> list[SourceTable]:
    configs = folder_configs(folder)
    name = pick_config(list(configs), task, config, str(folder))
    splits = configs[name]
    if split is not None and split not in splits:
        raise SourceError(
            f"{folder}: config {name!r} has no split {split!r}; splits are {', '.join(splits)}"
        )
    out = []
    for sp, patterns in splits.items():
        if split is not None and sp != split:
            continue
        for pat in patterns:
            files = sorted(glob.glob(os.path.join(folder, pat)))
            if not files:
                raise SourceError(
                    f"{folder}: config {name!r} split {sp!r}: no file matches {pat!r}"
                )
            for f in files:
                out.append(SourceTable(read_file(Path(f)), f, name, sp))
    return out


# -- the Hub -----------------------------------------------------------------------------------


def _hub_path(repo_id: str) -> str:
    """What ``datasets.load_dataset`` is given for a repo id (tests point it at a local copy)."""
    return repo_id


def _fetch_sha(repo_id: str, revision: str | None) -> str:
    """The commit sha of ``revision`` of a dataset repo (network)."""
    from huggingface_hub import HfApi

    return str(HfApi().dataset_info(repo_id, revision=revision).sha)


def resolve_revision(repo_id: str, revision: str | None) -> str | None:
    """Pin a revision to a commit sha when the Hub is reachable; else keep what was asked."""
    if re.fullmatch(r"[0-9a-f]{40}", revision or ""):
        return revision
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}:
        log.warning(
            "HF_HUB_OFFLINE is set: revision %r of %s is not pinned to a sha", revision, repo_id
        )
        return revision
    try:
        return _fetch_sha(repo_id, revision)
    except Exception as e:  # network or auth trouble: report, keep going with the name
        log.warning(
            "could not resolve revision %r of %s (%s); recording it unpinned", revision, repo_id, e
        )
        return revision


def _hub_tables(
    source: Source, task: str, config: str | None, split: str | None
) -> list[SourceTable]:
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - datasets is a core dependency
        raise SourceError("reading a Hub repo needs `pip install datasets`") from e
    repo = source.location
    name = config or {"qa": "MAPLE_QA_exact", "caption": "MAPLE_caption"}[task]
    if source.resolved_revision is None:
        source.resolved_revision = resolve_revision(repo, source.revision)
    rev = source.resolved_revision
    try:
        loaded = datasets.load_dataset(_hub_path(repo), name, revision=rev)
    except Exception as e:
        raise SourceError(
            f"could not load {repo} config {name!r} at revision {rev!r}: {e}. The Hub may be "
            f"unreachable; download the repo and pass its folder as the source"
        ) from e
    if source.license is None:
        first = next(iter(loaded.values()), None)
        source.license = getattr(getattr(first, "info", None), "license", None) or None
    splits = list(loaded)
    chosen = splits
    if split is not None:
        if split in loaded:
            chosen = [split]
        elif len(splits) == 1:
            log.warning(
                "%s/%s has no split %r; using its only split %r", repo, name, split, splits[0]
            )
            chosen = splits
        else:
            raise SourceError(
                f"{repo} config {name!r} has no split {split!r}; splits are {', '.join(splits)}"
            )
    return [
        SourceTable(loaded[sp].with_format("arrow")[:], f"{repo}:{name}/{sp}", name, sp)
        for sp in chosen
    ]
