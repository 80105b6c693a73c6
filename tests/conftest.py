"""Hermetic tests: no network, every cache in a temporary directory, CPU unless marked ``gpu``."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = ["tests.fixtures.media"]


@pytest.fixture(autouse=True)
def _hermetic_caches(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Send every Hugging Face / XDG cache to a temp dir and forbid Hub access."""
    root = tmp_path_factory.mktemp("caches")
    for var, sub in {
        "HF_HOME": "hf",
        "HF_DATASETS_CACHE": "hf/datasets",
        "HF_HUB_CACHE": "hf/hub",
        "XDG_CACHE_HOME": "xdg",
        "MPLCONFIGDIR": "mpl",
    }.items():
        monkeypatch.setenv(var, str(root / sub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:  # pragma: no cover - torch missing is itself a failure elsewhere
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
