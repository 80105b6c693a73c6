"""Publishing a dataset folder to the Hugging Face Hub (or, with ``dry_run``, showing exactly what
would be uploaded without touching the network).

Only the card, ``build_info.json`` and the Parquet shards are uploaded: the ``media`` link and
any hidden files stay local. Sources whose licence forbids derivatives (the public MAPLE splits
are CC-BY-NC-ND-4.0) are refused unless the caller says the redistribution is allowed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from maple_bench.data.errors import DataError
from maple_bench.data.writer import BUILD_INFO, MEDIA_LINK

NO_DERIVATIVES = ("cc-by-nd-4.0", "cc-by-nc-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nd-3.0")


def upload_files(folder: str | Path) -> list[tuple[str, Path]]:
    """(path in repo, local file) for everything that would be uploaded, sorted by repo path."""
    root = Path(folder)
    if not (root / BUILD_INFO).is_file():
        raise DataError(f"{root} is not a maple-bench dataset folder (no {BUILD_INFO})")
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if rel.parts[0] == MEDIA_LINK or any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_symlink() or not p.is_file():
            continue
        out.append((rel.as_posix(), p))
    return out


def _check_license(root: Path, allow: bool) -> None:
    info = json.loads((root / BUILD_INFO).read_text(encoding="utf-8"))
    for name, cfg in info.get("configs", {}).items():
        lic = (cfg.get("source", {}).get("license") or "").lower()
        if lic in NO_DERIVATIVES and not allow:
            raise DataError(
                f"config {name!r} was built from {cfg['source'].get('location')} under {lic}, "
                f"which forbids redistributing derivatives; refusing to upload (pass "
                f"allow_restricted_license=True only if you hold the rights)"
            )


def push_to_hub(
    folder: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool = True,
    dry_run: bool = False,
    out: str | Path | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    allow_restricted_license: bool = False,
) -> list[Any]:
    """Upload ``folder`` as dataset repo ``repo_id`` in one commit; returns the operations.

    With ``dry_run`` nothing goes to the network: the file tree that would be committed is
    copied to ``out/tree`` and the commit (repo, operations with size and sha256) is described in
    ``out/operations.json``.
    """
    from huggingface_hub import CommitOperationAdd

    root = Path(folder)
    files = upload_files(root)
    _check_license(root, allow_restricted_license)
    ops = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(path)) for rel, path in files]
    message = commit_message or f"Upload dataset built with maple-bench ({len(ops)} files)"
    if dry_run:
        if out is None:
            raise ValueError("dry_run needs out=DIR to write the upload plan into")
        dest = Path(out)
        tree = dest / "tree"
        if tree.exists():
            shutil.rmtree(tree)
        for rel, path in files:
            target = tree / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        plan = {
            "repo_id": repo_id,
            "repo_type": "dataset",
            "revision": revision,
            "private": private,
            "commit_message": message,
            "operations": [
                {
                    "op": "add",
                    "path_in_repo": rel,
                    "size": path.stat().st_size,
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                }
                for rel, path in files
            ],
        }
        (dest / "operations.json").write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")
        return ops
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    api.create_commit(
        repo_id=repo_id,
        repo_type="dataset",
        operations=ops,
        commit_message=message,
        revision=revision,
    )
    return ops
