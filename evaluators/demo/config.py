"""The demo's sizes: one frozen dataclass and the two presets (full and ``--quick``).

Sizes are chosen so the whole demo stays under 10 minutes on a 2-core CPU machine and ``--quick``
under 2 (measured timings are in the README). Every video of MAPLE-Synth carries one question per
tag, so ``per_tag`` videos give ``7 * per_tag`` questions; ``test_fraction`` of the videos are
held out for evaluation and the rest are the training split (split by video, never by question).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

TASKS = ("maple_qa", "maple_qa_plus")
"""The evaluation tasks run on the built folders (exact presentations; all 7 + None)."""


@dataclass(frozen=True)
class DemoConfig:
    """Everything that sets the size and the seeds of one demo run."""

    name: str = "full"
    """``full`` or ``quick`` (recorded in the manifest)."""
    seed: int = 0
    """Master seed: synth content, QA+ None replacement, training and evaluation seeds."""
    per_tag: int = 100
    """MAPLE-Synth questions per tag (= videos)."""
    test_fraction: float = 0.4
    """Share of videos held out as the ``test`` split (the rest are ``train``)."""
    num_options: int = 8
    """Options per question; 8 balances every tag's option frequencies (4 lets VAS questions be
    partly guessed from how often a value appears among the options)."""
    clip_seconds: float = 4.0
    """Clip length of the synthetic videos."""
    presets: tuple[str, ...] = ("mupo", "mapo")
    """MAPO trainer presets to train (each becomes one compact checkpoint)."""
    train_steps: int = 600
    """Optimizer steps per preset."""
    batch_size: int = 16
    """Prompts per training step."""
    group_size: int = 8
    """Completions per prompt (G)."""
    lr: float = 3e-3
    """AdamW learning rate of the compact policy."""
    eval_workers: int = 0
    """Media decoding worker processes for ``maple-eval`` (0: decode in the main process; on 2
    cores a worker mostly pays its start-up cost)."""
    n_bootstrap: int = 1000
    """Paired bootstrap resamples for the MAPO vs MUPO comparison."""
    tasks: tuple[str, ...] = field(default=TASKS)
    """Evaluation tasks."""

    def __post_init__(self) -> None:
        from maple_bench.mapo.config import PRESETS  # imports torch: only when a config is made

        unknown = [p for p in self.presets if p not in PRESETS]
        if unknown or not self.presets:
            raise ValueError(
                f"presets {list(self.presets)}: choose one or more of {', '.join(PRESETS)}"
            )
        if len(set(self.presets)) != len(self.presets):
            raise ValueError(f"presets {list(self.presets)}: each preset may appear once")
        if self.per_tag < 4:
            raise ValueError(f"per_tag must be >= 4 (train and test videos); got {self.per_tag}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1); got {self.test_fraction}")
        if self.train_steps < 1:
            raise ValueError(f"train_steps must be >= 1; got {self.train_steps}")
        unknown_tasks = [t for t in self.tasks if t not in TASKS]
        if unknown_tasks:
            raise ValueError(f"tasks {unknown_tasks}: the demo runs {', '.join(TASKS)}")

    def replace(self, **changes: Any) -> DemoConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["presets"] = list(self.presets)
        d["tasks"] = list(self.tasks)
        return d

    @property
    def baseline_preset(self) -> str | None:
        """The modality-unaware preset the others are compared against (``mupo`` if trained)."""
        return "mupo" if "mupo" in self.presets else None


FULL = DemoConfig()
"""About 3 minutes on 2 idle cores: 100 videos (60 train, 40 test), 600 steps per preset."""

QUICK = DemoConfig(name="quick", per_tag=14, test_fraction=0.5, train_steps=25)
"""Well under 2 minutes: 14 videos (7 train, 7 test), 25 steps per preset (CI runs this)."""


def demo_config(
    *, quick: bool = False, seed: int = 0, presets: tuple[str, ...] | None = None
) -> DemoConfig:
    """The full or quick preset with the user's seed (and presets, when given)."""
    base = QUICK if quick else FULL
    changes: dict[str, Any] = {"seed": seed}
    if presets:
        changes["presets"] = tuple(presets)
    return base.replace(**changes)


def model_names(config: DemoConfig) -> list[str]:
    """Display names of the evaluated models, in table order."""
    return ["random", *(f"compact-{p}" for p in config.presets), "solver"]
