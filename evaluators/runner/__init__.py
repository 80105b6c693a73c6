"""The evaluation runner: config, prefetching/decoding workers, distributed sharding, the run.

Entry point: :func:`run_eval` (what ``maple-eval run`` calls) with a :class:`RunConfig`.
"""

from evaluators.runner.config import ConfigError, RunConfig

__all__ = ["ConfigError", "RunConfig", "run_eval", "run_tasks"]


def __getattr__(name: str) -> object:
    # Lazy, so importing the config (``maple-eval --help``) does not import torch.
    if name in ("run_eval", "run_tasks"):
        from evaluators.runner import run

        return getattr(run, name)
    raise AttributeError(f"module 'evaluators.runner' has no attribute {name!r}")
