"""Install the official torchvision wheel for the parity test, outside the project's environment.

``python tests/parity/install_torchvision.py [TARGET]`` (default ``.cache/torchvision-official``
at the repository root, which git ignores). Idempotent: a target that already holds the matching
version is left alone. The wheel goes in with ``--no-deps`` so torch stays the project's own; it
is never importable from ``.venv`` (torchvision there breaks every transformers model on CPU).
Prints the folder on success; exits non-zero with one line on failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TARGET = ROOT / ".cache" / "torchvision-official"


def matching_version() -> str:
    """The torchvision release built against this torch (torch 2.m.p pairs with 0.(m+15).p)."""
    major, minor, patch = (int(x) for x in torch.__version__.split("+")[0].split(".")[:3])
    if major != 2:
        raise RuntimeError(f"no known torchvision pairing for torch {torch.__version__}")
    return f"0.{minor + 15}.{patch}"


def installed_version(target: Path) -> str | None:
    """The torchvision version in ``target`` (from its dist-info), None when absent."""
    found = sorted(target.glob("torchvision-*.dist-info"))
    if not found or not (target / "torchvision" / "__init__.py").is_file():
        return None
    return found[-1].name[len("torchvision-") : -len(".dist-info")]


def ensure(target: Path = DEFAULT_TARGET) -> Path:
    """Install the matching wheel into ``target`` unless it is already there; return ``target``."""
    want = matching_version()
    if installed_version(target) == want:
        return target
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--upgrade",
           "--target", str(target), f"torchvision=={want}"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0 or installed_version(target) != want:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"pip could not install torchvision=={want} into {target}: {tail[0]}")
    return target


if __name__ == "__main__":
    try:
        print(ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_TARGET))
    except RuntimeError as e:
        sys.exit(f"install_torchvision: {e}")
