"""The task registry: a task names a data source, a config, a split and a default media spec.

Tasks are lazy: looking one up builds a :class:`TaskSpec`; nothing is read until
:func:`load_task`. The MAPLE tasks read the Hub splits by default and the same configs of a local
builder output folder when ``--data DIR`` is given; the synth tasks generate a small synthetic
benchmark into a cache folder when no ``--data`` is given (or build one from a synth output).
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluators.runner.registry import Registry
from maple_bench.data.sources import HUB_REPO  # one definition of the public repo id

HUB_REVISION = "main"
"""The Hub revision used when none is given. The resolved commit is recorded in every result;
pass ``--revision <sha>`` to pin one (the Hub is not reachable from where this was written)."""


@dataclass(frozen=True)
class TaskSpec:
    """What a task evaluates and how its inputs are prepared by default."""

    name: str
    """Registry name."""
    kind: str
    """``qa`` (exact presentations), ``qa_plus`` (all 7 presentations + None), ``caption``, or
    ``ablation`` (7 presentations + blind, None option added, original answer kept)."""
    source: str
    """``hub`` (Hub repo, or a local builder folder with --data) or ``synth`` (generated)."""
    hub_config: str | None
    """Config name on the Hub (``MAPLE_QA_exact`` ...)."""
    local_config: str
    """Config name in a local builder output folder (``maple_qa`` ...)."""
    split: str = "test"
    """Split to evaluate."""
    repo_id: str | None = HUB_REPO
    """Default Hub repo (None for synth tasks)."""
    revision: str | None = HUB_REVISION
    """Default Hub revision."""
    num_frames: int = 8
    """Default frames per clip."""
    audio_rate: int = 16000
    """Default audio sample rate (Hz)."""
    version: str = "1"
    """Bumped when the task's data selection or defaults change (recorded in results)."""
    description: str = ""
    """One line for ``maple-eval ls``."""

    @property
    def sample_kind(self) -> str:
        """The :class:`Sample` task kind the items carry (``qa`` or ``caption``)."""
        return "caption" if self.kind == "caption" else "qa"

    def to_dict(self) -> dict[str, object]:
        from dataclasses import asdict

        return asdict(self)


TASKS: Registry[TaskSpec] = Registry("task")

TASKS.register(
    "maple_qa",
    TaskSpec("maple_qa", "qa", "hub", "MAPLE_QA_exact", "maple_qa",
             description="MAPLE-QA: multiple choice, each question shown with its required streams"),
    description="MAPLE-QA (Hub MAPLE_QA_exact, or --data DIR builder output)",
)  # fmt: skip
TASKS.register(
    "maple_qa_plus",
    TaskSpec("maple_qa_plus", "qa_plus", "hub", "MAPLE_QA_all_combinations", "maple_qa_plus",
             description="MAPLE-QA+: every question under all 7 presentations, with a None option"),
    description="MAPLE-QA+ (Hub MAPLE_QA_all_combinations, or --data DIR builder output)",
)  # fmt: skip
TASKS.register(
    "maple_caption",
    TaskSpec("maple_caption", "caption", "hub", "MAPLE_caption", "maple_caption",
             description="MAPLE-Caption: describe the given streams, one item per (video, tag)"),
    description="MAPLE-Caption (Hub MAPLE_caption, or --data DIR builder output)",
)  # fmt: skip
TASKS.register(
    "synth_qa",
    TaskSpec("synth_qa", "qa", "synth", None, "maple_qa", repo_id=None, revision=None,
             description="synthetic MAPLE-QA generated locally (exact presentations)"),
    description="synthetic QA (generated into the cache, or --data SYNTH_OR_BUILT_DIR)",
)  # fmt: skip
TASKS.register(
    "synth_qa_plus",
    TaskSpec("synth_qa_plus", "qa_plus", "synth", None, "maple_qa_plus", repo_id=None,
             revision=None, description="synthetic MAPLE-QA+ (7 presentations + None option)"),
    description="synthetic QA+ (generated into the cache, or --data SYNTH_OR_BUILT_DIR)",
)  # fmt: skip


TASKS.register(
    "maple_ablation",
    TaskSpec("maple_ablation", "ablation", "hub", "MAPLE_QA_exact", "maple_qa",
             description="RMT evidence: each question under the 7 presentations + blind, None "
             "option added, original answer as target (maple-bench annotate propose)"),
    description="RMT ablation of MAPLE-QA questions (Hub, or --data DIR builder output)",
)  # fmt: skip
TASKS.register(
    "synth_ablation",
    TaskSpec("synth_ablation", "ablation", "synth", None, "maple_qa", repo_id=None,
             revision=None, description="RMT ablation of synthetic questions"),
    description="RMT ablation of synthetic questions (cache, or --data SYNTH_OR_BUILT_DIR)",
)  # fmt: skip


def get_task(name: str) -> TaskSpec:
    """The spec registered as ``name`` (unknown names suggest close ones)."""
    return TASKS.get(name)


from evaluators.tasks.load import LoadedTask, load_task  # noqa: E402

__all__ = ["HUB_REPO", "TASKS", "LoadedTask", "TaskSpec", "get_task", "load_task"]
