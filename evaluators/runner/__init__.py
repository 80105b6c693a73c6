"""The evaluation runner: config, prefetching/decoding workers, distributed sharding, the run.

Entry point: :func:`run_eval` (what ``maple-eval run`` calls) with a :class:`RunConfig`.
"""

from evaluators.runner.config import ConfigError, RunConfig

__all__ = ["ConfigError", "RunConfig", "run_eval"]


def __getattr__(name: str) -> object:
    # Lazy, so importing the config (``maple-eval --help``) does not import torch.
    if name == "run_eval":
        from evaluators.runner.run import run_eval

        return run_eval
    raise AttributeError(f"module 'evaluators.runner' has no attribute {name!r}")
