"""Write a dataset folder atomically: all of it, or (on any error) nothing.

The new folder is assembled in a temporary directory beside ``OUT`` (same filesystem) and then
renamed into place. An existing maple-bench folder is copied in first, so building a second
config adds it and regenerates the card from the merged ``build_info.json``. Concurrent builds
into one folder take turns on :func:`maple_bench.locks.path_lock`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from maple_bench import __version__
from maple_bench.data.card import data_file, render_card
from maple_bench.data.errors import DataError
from maple_bench.fileio import make_temp_dir
from maple_bench.locks import path_lock
from maple_bench.schema import ARROW_SCHEMA
from maple_bench.schema.sample import check_name
from maple_bench.schema.storage import SCHEMA_VERSION

BUILD_INFO = "build_info.json"
MEDIA_LINK = "media"


def is_dataset_folder(path: Path) -> bool:
    return (path / BUILD_INFO).is_file()


def write_dataset(
    out: str | Path,
    config: str,
    tables: Mapping[str, pa.Table],
    config_info: dict[str, Any],
    *,
    media_root: Path | None = None,
    link_media: bool = True,
) -> Path:
    """Write (or add) ``config`` with one Parquet shard per split; returns the folder.

    ``media_root``: the media root of the source. With ``link_media`` the folder gets a
    ``media`` symlink to it and records ``media_root: "media"``; otherwise the absolute path is
    recorded. A media root inside ``out`` is recorded relative to it.
    """
    out = Path(out).absolute()
    # Two builds into one folder at once would each copy the old folder and the second swap
    # would drop the first one's config: builds into one folder take turns.
    with path_lock(out, what="maple-bench build"):
        return _write_locked(out, config, tables, config_info, media_root, link_media)


def _write_locked(
    out: Path,
    config: str,
    tables: Mapping[str, pa.Table],
    config_info: dict[str, Any],
    media_root: Path | None,
    link_media: bool,
) -> Path:
    for kind, name in (("config", config), *(("split", sp) for sp in tables)):
        try:
            check_name(name, kind=kind)
        except ValueError as e:  # names become paths under OUT: never let one climb out
            raise DataError(f"--out {out}: {e}") from None
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} exists and is not a folder")
    existing = out.is_dir() and any(out.iterdir())
    if existing and not is_dataset_folder(out):
        raise DataError(
            f"--out {out} exists and is not a maple-bench dataset folder (no {BUILD_INFO}); "
            f"choose a new folder or remove it"
        )
    tmp = make_temp_dir(out)  # umask permissions, like any folder a shell command makes
    try:
        if existing:
            # Hard links: no data is copied (a media folder inside OUT may be large) and the
            # files we change are unlinked first, so the live folder is never modified.
            shutil.copytree(
                out, tmp, symlinks=True, dirs_exist_ok=True, copy_function=_link_or_copy
            )
        info = _load_info(tmp)
        shutil.rmtree(tmp / "data" / config, ignore_errors=True)
        for split, table in tables.items():
            path = tmp / data_file(config, split)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.cast(ARROW_SCHEMA), path)
        info["configs"][config] = config_info
        _place_media(tmp, out, info, media_root, link_media)
        _write_text(tmp / BUILD_INFO, json.dumps(info, indent=2) + "\n")
        _write_text(tmp / "README.md", render_card(info))
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _write_text(path: Path, text: str) -> None:
    """Write a fresh file (never through a hard link shared with the live folder)."""
    path.unlink(missing_ok=True)
    path.write_text(text, encoding="utf-8")


def _load_info(folder: Path) -> dict[str, Any]:
    path = folder / BUILD_INFO
    info = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    info.setdefault("configs", {})
    info["tool"] = "maple-bench"
    info["tool_version"] = __version__
    info["schema_version"] = SCHEMA_VERSION
    info.setdefault("media_root", None)
    return info


def _place_media(tmp: Path, out: Path, info: dict[str, Any], root: Path | None, link: bool) -> None:
    if root is None:
        return
    real = Path(os.path.realpath(root))
    try:
        rel = Path(root).absolute().relative_to(out)
    except ValueError:
        rel = None
    if rel is not None and ".." not in rel.parts:
        info["media_root"] = rel.as_posix()
        return
    link_path = tmp / MEDIA_LINK
    if not link:
        info["media_root"] = str(real)
        return
    if link_path.is_symlink():
        current = Path(os.path.realpath(link_path))
        if current != real:
            raise DataError(
                f"{out}/{MEDIA_LINK} already links to {current}, but this build's media root is "
                f"{real}; build into another folder or pass --no-link-media"
            )
    elif link_path.exists():
        raise DataError(f"{out}/{MEDIA_LINK} exists and is not a link to the media root {real}")
    else:
        link_path.symlink_to(real, target_is_directory=True)
    info["media_root"] = MEDIA_LINK
    info["media_source"] = str(real)


def _swap(tmp: Path, out: Path) -> None:
    """Put ``tmp`` where ``out`` is: a rename when ``out`` is absent, else rename-aside-and-back."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
