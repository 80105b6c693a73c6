"""Prefetching and decoding: a DataLoader whose workers present and decode whole videos.

The unit of work handed to a worker is a *video group*: every item (all presentations, all
draws) of one video. The worker decodes the clip's frames and audio once into its
:class:`~maple_bench.media.MediaCache` and derives each presentation by masking, so the 7 QA+
presentations of a question cost one decode, and decoding overlaps with generation in the main
process. A media error fails only the items it touches; it is carried back as data, not raised.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from maple_bench.schema import Sample

log = logging.getLogger(__name__)

_CACHE: Any = None  # one MediaCache per process (per DataLoader worker)


@dataclass(frozen=True)
class WorkItem:
    """One (item, draw) to run."""

    sample: Sample
    """The presented item."""
    draw: int
    """Draw index in [0, k)."""
    seed: int
    """Derived seed of this (item, draw)."""


@dataclass(frozen=True)
class Prepared:
    """A work item after presentation: the model input and prompt, or the error that stopped it."""

    item: WorkItem
    """What was prepared."""
    input: Any
    """``ModelInput`` (None when preparation failed)."""
    prompt: str | None
    """Prompt text (None on error)."""
    prompt_hash: str | None
    """Hash of the prompt text."""
    delivered: dict[str, Any]
    """Frames / audio seconds / subtitle characters actually given to the model."""
    error: str | None = None
    """Why the item could not be prepared (a media problem)."""
    error_type: str | None = None
    """Exception class name of ``error``."""
    prepared: Any = None
    """The adapter preparer's output for this item (see ``ModelAdapter.preparer``)."""


def item_seed(base: int, doc_id: str, draw: int) -> int:
    """A 31-bit seed from (base seed, item id, draw): the same whichever rank or batch runs it."""
    h = hashlib.sha256(f"{base}|{doc_id}|{draw}".encode()).hexdigest()
    return int(h[:8], 16) & 0x7FFFFFFF


def shard_of(video_id: str, world_size: int) -> int:
    """The rank that owns a video (all its items): a stable hash, not the position in the list."""
    if world_size <= 1:
        return 0
    return int(hashlib.sha256(video_id.encode("utf-8")).hexdigest()[:8], 16) % world_size


def group_by_video(items: Sequence[WorkItem]) -> list[list[WorkItem]]:
    """Items grouped by video, groups in order of first appearance (stable, deterministic)."""
    groups: dict[str, list[WorkItem]] = {}
    for it in items:
        groups.setdefault(it.sample.video_id, []).append(it)
    return list(groups.values())


def _cache() -> Any:
    global _CACHE
    if _CACHE is None:
        from maple_bench.media import MediaCache

        _CACHE = MediaCache(max_items=64)
    return _CACHE


def delivered_of(model_input: Any) -> dict[str, Any]:
    """Delivered counts for the log, plus whether audio went in interleaved with the video."""
    d = model_input.delivered
    return {
        "frames": int(d.frames),
        "audio_seconds": round(float(d.audio_seconds), 4),
        "subtitle_chars": int(d.subtitle_chars),
        "audio_in_video": bool(model_input.use_audio_in_video),
    }


def prepare_group(
    group: Sequence[WorkItem],
    media_config: Any,
    preparer: Callable[[Any, str], Any] | None = None,
    keep_inputs: bool = True,
) -> list[Prepared]:
    """Present every item of a video group (draws of an item share one presentation), then run
    the adapter's preparer on it; drop the decoded input when the adapter does not need it."""
    from maple_bench.media import MediaError
    from maple_bench.present import present
    from maple_bench.prompts import prompt_for, prompt_hash

    cache = _cache()
    out: list[Prepared] = []
    by_id: dict[str, Prepared] = {}
    empty = {"frames": 0, "audio_seconds": 0.0, "subtitle_chars": 0}
    for it in group:
        base = by_id.get(it.sample.id)
        if base is None:
            try:
                mi = present(it.sample, media_config, cache=cache)
                prompt = prompt_for(it.sample, mi.subtitles)
                extra = preparer(mi, prompt) if preparer is not None else None
            except MediaError as e:
                base = Prepared(it, None, None, None, empty, _error_text(e), type(e).__name__)
            except Exception as e:
                # Not a media problem (a value the decoder chokes on, a preparer bug): still this
                # item's failure, logged and counted in error_rate; --strict stops on it.
                log.warning("item %r: %s: %s", it.sample.id, type(e).__name__, e)
                base = Prepared(it, None, None, None, empty, _error_text(e), type(e).__name__)
            else:
                base = Prepared(it, mi if keep_inputs else None, prompt, prompt_hash(prompt),
                                delivered_of(mi), prepared=extra)  # fmt: skip
            by_id[it.sample.id] = base
        out.append(Prepared(it, base.input, base.prompt, base.prompt_hash, base.delivered,
                            base.error, base.error_type, base.prepared))  # fmt: skip
    return out


def _error_text(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    path = getattr(e, "path", None)
    if path and str(path) not in text:
        text = f"{text} ({path})"
    return text


class GroupDataset:
    """Map-style dataset: index -> the prepared items of one video group (runs in a worker)."""

    def __init__(self, groups: list[list[WorkItem]], media_config: Any,
                 preparer: Callable[[Any, str], Any] | None = None, keep_inputs: bool = True) -> None:  # fmt: skip
        self.groups = groups
        self.media_config = media_config
        self.preparer = preparer
        self.keep_inputs = keep_inputs

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> list[Prepared]:
        return prepare_group(self.groups[i], self.media_config, self.preparer, self.keep_inputs)


def exit_with_parent(parent_pid: int, worker_id: int = 0) -> None:
    """DataLoader ``worker_init_fn``: make this worker die when the main process dies.

    A SIGKILLed ``maple-eval`` runs no cleanup, and its workers would stay blocked on a full
    result queue for minutes. On Linux the kernel sends the worker SIGKILL when its parent goes
    (``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread polls the parent pid each second.
    A parent that died before the call is caught by comparing ``getppid`` with ``parent_pid``.
    """
    import sys

    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    else:  # pragma: no cover - no prctl outside Linux
        import threading
        import time

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
    if os.getppid() != parent_pid:
        os._exit(1)


def _identity(x: Any) -> Any:
    # Keep numpy arrays as they are (the default collate would turn them into tensors).
    return x


def iter_prepared(
    groups: list[list[WorkItem]],
    media_config: Any,
    *,
    num_workers: int,
    prefetch_factor: int = 4,
    preparer: Callable[[Any, str], Any] | None = None,
    keep_inputs: bool = True,
) -> Iterator[list[Prepared]]:
    """Prepared video groups in order; decoded ahead by ``num_workers`` worker processes."""
    if not groups:
        return
    ds = GroupDataset(groups, media_config, preparer, keep_inputs)
    if num_workers == 0:
        for i in range(len(ds)):
            yield ds[i]
        return
    import functools
    import multiprocessing as mp

    import torch.utils.data as tud

    # fork starts workers in milliseconds and shares the loaded item list; workers never touch
    # CUDA, so forking after the model is on the GPU is safe. spawn where fork does not exist.
    ctx = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    loader: tud.DataLoader[list[Prepared]] = tud.DataLoader(
        ds,  # type: ignore[arg-type]
        batch_size=None,
        shuffle=False,
        num_workers=min(num_workers, len(ds)),
        collate_fn=_identity,
        prefetch_factor=prefetch_factor,
        multiprocessing_context=ctx,
        persistent_workers=False,
        worker_init_fn=functools.partial(exit_with_parent, os.getpid()),
    )
    yield from loader
