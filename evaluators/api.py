"""The Python API: :func:`evaluate` takes the arguments of ``maple-eval run`` and returns results.

    from evaluators.api import evaluate

    res = evaluate(task="synth_qa_plus", model="solver", output="runs/solver", limit=0.2)
    res["synth_qa_plus"]["maple"]["headline"]["avg_acc"]

Keyword arguments are the keys of :class:`evaluators.runner.config.RunConfig` (the CLI flags
with ``_`` for ``-``: ``model_args``, ``media_root``, ``batch_size`` ...); ``model_args`` may be
a dict or the CLI's ``k=v,k=v`` string, ``task`` one name, ``a,b,c`` or a list. The files
written are the same as the CLI's. The return value maps each task to its results dict (the
content of its ``results.json``), in the order given, so one call with several tasks gives one
entry per task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluators.runner.config import ConfigError, RunConfig


class AllItemsFailed(RuntimeError):
    """Every item of a task failed (no reply / no media): the results measure nothing."""


def evaluate(
    task: str | Sequence[str], model: str, *, raise_on_all_failed: bool = True, **kwargs: Any
) -> dict[str, dict[str, Any]]:
    """Run ``maple-eval run`` in this process; returns ``{task: results dict}``.

    ``raise_on_all_failed``: raise :class:`AllItemsFailed` (with the first error) when every
    item of a task failed, as the CLI exits non-zero; False returns the results anyway.
    """
    from evaluators.runner.run import run_tasks

    names = task if isinstance(task, str) else ",".join(task)
    config = RunConfig.from_mapping({"task": names, "model": model, **kwargs}, source="evaluate()")
    out: dict[str, dict[str, Any]] = {}
    for outcome in run_tasks(config):
        if outcome.results is None:  # a non-zero rank of a multi-process job
            continue
        name = outcome.results["maple"]["task"]
        if outcome.all_failed and raise_on_all_failed:
            raise AllItemsFailed(
                f"every item of {name} failed ({outcome.n_errors}); first: {outcome.first_error}"
            )
        out[name] = outcome.results
    return out


__all__ = ["AllItemsFailed", "ConfigError", "evaluate"]
