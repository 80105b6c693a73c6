"""Media paths from data rows stay inside the media root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maple_bench.media import UnsafePathError, resolve_media_path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root" / "clips").mkdir(parents=True)
    (tmp_path / "root" / "clips" / "a.mp4").write_bytes(b"x")
    (tmp_path / "outside.mp4").write_bytes(b"x")
    return tmp_path / "root"


def test_inside_paths_resolve(root: Path) -> None:
    assert resolve_media_path(root, "clips/a.mp4") == (root / "clips" / "a.mp4").resolve()
    assert resolve_media_path(str(root), "clips/../clips/a.mp4").name == "a.mp4"
    assert resolve_media_path(root, "clips/missing.mp4").name == "missing.mp4"  # decode reports


@pytest.mark.parametrize("bad", ["../outside.mp4", "clips/../../outside.mp4", "../root2/x.mp4"])
def test_dotdot_escape_refused(root: Path, bad: str) -> None:
    with pytest.raises(UnsafePathError) as info:
        resolve_media_path(root, bad)
    assert bad in str(info.value) and "escapes the media root" in str(info.value)
    assert info.value.path == Path(bad)


def test_absolute_path_elsewhere_refused(root: Path) -> None:
    with pytest.raises(UnsafePathError, match="is absolute") as info:
        resolve_media_path(root, "/etc/passwd")
    assert "/etc/passwd" in str(info.value)


def test_absolute_path_inside_the_root_refused_like_the_builder(root: Path) -> None:
    """Issue 19, item 8: RAW_FORMAT.md forbids absolute paths and the builder rejects them; at
    run time an absolute path that happens to lie inside the root used to load anyway."""
    inside_abs = str(root / "clips" / "a.mp4")
    with pytest.raises(UnsafePathError, match="is absolute"):
        resolve_media_path(root, inside_abs)


def test_symlink_out_refused(root: Path) -> None:
    os.symlink(root.parent / "outside.mp4", root / "clips" / "link.mp4")
    os.symlink(root.parent, root / "up")
    for bad in ("clips/link.mp4", "up/outside.mp4"):
        with pytest.raises(UnsafePathError, match="symlink out of") as info:
            resolve_media_path(root, bad)
        assert bad in str(info.value)


def test_symlinked_root_itself_is_fine(root: Path, tmp_path: Path) -> None:
    # builders may link OUT/media -> the source media root
    os.symlink(root, tmp_path / "media")
    assert resolve_media_path(tmp_path / "media", "clips/a.mp4").name == "a.mp4"


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b"])
def test_empty_or_nul_refused(root: Path, bad: str) -> None:
    with pytest.raises(UnsafePathError, match="invalid media path"):
        resolve_media_path(root, bad)
