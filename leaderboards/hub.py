"""Hugging Face Hub exports: model-card ``model-index`` / ``.eval_results`` entries, and ``push``
of a board + its rendered site to a Hub dataset or Space repo.

``push`` always builds the upload tree in a folder first (``stage``); ``--dry-run DIR`` stops
there, so the tree a test inspects is exactly what would be uploaded. Tokens are never printed
or written: ``huggingface_hub`` reads ``HF_TOKEN`` (or the saved login) itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaderboards.render import markdown_document, render_site
from leaderboards.schema import TAGS, LeaderboardError, entry_key, load_board

REPO_TYPES = ("dataset", "space")
"""Repo types ``push`` can write to."""

MODEL_INDEX_METRICS = (
    "avg_acc",
    "micro_acc",
    "acc_uni",
    "acc_multi",
    "uni_multi_gap",
    "fusion_gain",
)
"""Headline metrics exported to a model card, followed by the 7 per-tag accuracies."""


def _find_entry(
    board: Mapping[str, Any], model: str, revision: str | None = None
) -> Mapping[str, Any]:
    matches = [
        e
        for e in board["entries"]
        if e["model"]["name"] == model and (revision is None or e["model"]["revision"] == revision)
    ]
    if not matches:
        names = sorted({entry_key(e)[0] for e in board["entries"]})
        raise LeaderboardError(
            f"no entry for model {model!r}", hint=f"models on this board: {names}"
        )
    if len(matches) > 1:
        revs = [e["model"]["revision"] for e in matches]
        raise LeaderboardError(
            f"model {model!r} has {len(matches)} revisions {revs}", hint="pass --revision"
        )
    return matches[0]


def _task_type(task: str) -> str:
    return "video-text-to-text" if "caption" in task else "multiple-choice"


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 2)


def model_index(
    board: Mapping[str, Any],
    model: str,
    *,
    revision: str | None = None,
    source_url: str | None = None,
) -> dict[str, Any]:
    """The ``model-index`` block (built with ``huggingface_hub.EvalResult``) for one model.

    Values are percentages (2 decimals); null metrics are left out; ``verified`` is false
    (self-reported). Returns ``{"model-index": [...]}`` ready for a model card's YAML header.
    """
    from huggingface_hub import EvalResult, ModelCardData

    entry = _find_entry(board, model, revision)
    ds = board["dataset"]
    common = {
        "task_type": _task_type(board["task"]),
        "task_name": board.get("title") or board["task"],
        "dataset_type": ds.get("repo_id") or f"local/{board['task']}",
        "dataset_name": f"MAPLE {board['task']}",
        "dataset_config": ds.get("config"),
        "dataset_split": ds.get("split"),
        "dataset_revision": ds.get("revision"),
        # huggingface_hub requires a URL with a source name
        "source_name": "maple-bench leaderboard" if source_url else None,
        "source_url": source_url,
        "verified": False,
    }
    results = []
    metrics: list[tuple[str, str, float | None]] = [
        ("accuracy" if "acc" in m else m, m, entry["headline"].get(m)) for m in MODEL_INDEX_METRICS
    ]
    metrics += [("accuracy", f"acc_{t}", entry["by_tag"][t]["acc"]) for t in TAGS]
    for cond, cell in (entry["by_condition"] or {}).items():
        metrics.append(("accuracy", f"acc_{cond}", cell["acc"]))
    for mtype, name, value in metrics:
        if value is None:
            continue
        results.append(
            EvalResult(metric_type=mtype, metric_name=name, metric_value=_pct(value), **common)
        )
    if not results:
        raise LeaderboardError(f"model {model!r} has no metric values to export")
    card = ModelCardData(model_name=model, eval_results=results)
    return {"model-index": card.to_dict()["model-index"]}


def eval_results(
    board: Mapping[str, Any], model: str, *, revision: str | None = None
) -> list[dict[str, Any]]:
    """Entries in the Hub's newer ``.eval_results/<name>.yaml`` format (avg_acc, in %)."""
    entry = _find_entry(board, model, revision)
    value = _pct(entry["headline"].get("avg_acc"))
    if value is None:
        raise LeaderboardError(f"model {model!r} has no avg_acc to export")
    item: dict[str, Any] = {
        "dataset": {
            "id": board["dataset"].get("repo_id") or f"local/{board['task']}",
            "task_id": board["task"],
        },
        "value": value,
        "source": {"name": "maple-bench leaderboard"},
    }
    if entry["model"].get("date"):
        item["date"] = str(entry["model"]["date"])[:10]
    return [item]


# -- push ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushPlan:
    """The staged upload."""

    folder: Path | None
    """Folder holding the exact tree to upload (None after a real upload: it was temporary)."""
    files: tuple[str, ...]
    """Its files, relative POSIX paths, sorted."""
    repo_id: str
    """Target repo."""
    repo_type: str
    """``dataset`` or ``space``."""


def _card(repo_type: str, repo_id: str, boards: Sequence[Mapping[str, Any]]) -> str:
    if repo_type == "space":
        front = (
            "---\ntitle: maple-bench leaderboard\nemoji: 🍁\ncolorFrom: red\ncolorTo: yellow\n"
            "sdk: static\napp_file: index.html\npinned: false\ntags:\n- leaderboard\n- maple-bench\n---\n"
        )
    else:
        front = (
            "---\npretty_name: maple-bench leaderboard\ntags:\n- leaderboard\n- maple-bench\n---\n"
        )
    layout = (
        "The page is `index.html`; the boards are `boards/*.json`."
        if repo_type == "space"
        else "The boards are `boards/*.json`; the rendered page is `site/index.html`."
    )
    return (
        f"{front}\n# maple-bench leaderboard\n\nMachine-checked leaderboard of MAPLE tasks "
        f"(repo `{repo_id}`). {layout} Every board validates against the leaderboard JSON "
        "schema.\n\n" + markdown_document(list(boards))
    )


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy a rendered site, skipping hidden files, lock files and symlinks (nothing outside)."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if (
            any(part.startswith(".") for part in rel.parts)
            or path.is_symlink()
            or path.suffix == ".lock"
        ):
            continue
        if path.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)


def stage(
    sources: Sequence[str | os.PathLike[str]],
    dest: str | os.PathLike[str],
    *,
    repo_id: str,
    repo_type: str = "dataset",
) -> PushPlan:
    """Write the upload tree into ``dest`` (must be absent or empty).

    ``sources`` is one rendered site folder (holding ``index.html`` and ``boards/``) or one or
    more board JSON files (rendered here). Layout: a Space gets the site at its root (static
    SDK, ``app_file: index.html``); a dataset repo gets ``boards/`` at its root and the site
    under ``site/``. Both get a ``README.md`` card with the Markdown table.
    """
    if repo_type not in REPO_TYPES:
        raise LeaderboardError(
            f"repo type {repo_type!r} not supported", hint=f"choose one of {REPO_TYPES}"
        )
    out = Path(dest)
    if out.exists() and any(out.iterdir()):
        raise LeaderboardError(
            "dry-run folder is not empty", file=out, hint="give a new or empty folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    paths = [Path(s) for s in sources]
    site_root = out if repo_type == "space" else out / "site"
    if len(paths) == 1 and paths[0].is_dir():
        if not (paths[0] / "index.html").is_file():
            raise LeaderboardError(
                "not a rendered site (no index.html)",
                file=paths[0],
                hint="run `leaderboard render` first",
            )
        board_files = sorted((paths[0] / "boards").glob("*.json"))
        boards = [load_board(b) for b in board_files]
        _copy_tree(paths[0], site_root)
    else:
        for p in paths:
            if p.is_dir():
                raise LeaderboardError("give either one site folder or board JSON files", file=p)
        boards = [load_board(p) for p in paths]
        render_site(boards, site_root)
    if repo_type == "dataset":
        _copy_tree(site_root / "boards", out / "boards")
    (out / "README.md").write_text(_card(repo_type, repo_id, boards), encoding="utf-8")
    files = tuple(sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()))
    return PushPlan(folder=out, files=files, repo_id=repo_id, repo_type=repo_type)


def push(
    sources: Sequence[str | os.PathLike[str]],
    *,
    repo_id: str,
    repo_type: str = "dataset",
    dry_run: str | os.PathLike[str] | None = None,
    token: str | None = None,
    commit_message: str = "Update maple-bench leaderboard",
    private: bool = False,
) -> PushPlan:
    """Stage the tree, then (unless ``dry_run``) create the repo if needed and upload it."""
    if dry_run is not None:
        return stage(sources, dry_run, repo_id=repo_id, repo_type=repo_type)
    from huggingface_hub import HfApi

    with tempfile.TemporaryDirectory(prefix="maple-push-") as tmp:
        tmp_tree = Path(tmp) / "tree"
        plan = stage(sources, tmp_tree, repo_id=repo_id, repo_type=repo_type)
        api = HfApi(token=token)
        api.create_repo(
            repo_id,
            repo_type=repo_type,
            exist_ok=True,
            private=private,
            space_sdk="static" if repo_type == "space" else None,
        )
        api.upload_folder(
            repo_id=repo_id,
            repo_type=repo_type,
            folder_path=str(tmp_tree),
            commit_message=commit_message,
        )
    return PushPlan(folder=None, files=plan.files, repo_id=repo_id, repo_type=repo_type)
