"""Where the demo writes what: one place, shared by the demo, its checker and its tests.

::

    DIR/.maple-demo                      marker: this folder belongs to the demo (--overwrite)
    DIR/synth/                           MAPLE-Synth raw set (qa.jsonl, media/, synth.json)
    DIR/datasets/maple_qa/               MAPLE-QA dataset folder (README.md data card, parquet)
    DIR/datasets/maple_qa_plus/          MAPLE-QA+ dataset folder
    DIR/train/<preset>/                  MAPO trainer run (metrics.jsonl, curves.png, checkpoints/)
    DIR/evals/<task>/<model>/            maple-eval run (results.json, samples_<task>.jsonl)
    DIR/leaderboards/<task>.json         published leaderboard boards
    DIR/site/                            rendered leaderboard (index.html, charts/, LEADERBOARD.md)
    DIR/plots/                           per-tag / conditions / training-curve PNGs
    DIR/summary.json, DIR/summary.txt    the final table (numbers read from the results files)
    DIR/demo.json                        manifest, written last: config, step timings, files
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MARKER = ".maple-demo"
MANIFEST = "demo.json"
DATASET_OF_TASK = {"maple_qa": "maple_qa", "maple_qa_plus": "maple_qa_plus"}
"""Evaluation task -> dataset folder (and config) it reads."""


@dataclass(frozen=True)
class Layout:
    """Paths of one demo output folder."""

    root: Path
    """The ``--out`` folder."""

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def synth(self) -> Path:
        return self.root / "synth"

    def dataset(self, config: str) -> Path:
        return self.root / "datasets" / config

    def train(self, preset: str) -> Path:
        return self.root / "train" / preset

    def eval_dir(self, task: str, model: str) -> Path:
        return self.root / "evals" / task / model

    def results(self, task: str, model: str) -> Path:
        return self.eval_dir(task, model) / "results.json"

    def sample_log(self, task: str, model: str) -> Path:
        return self.eval_dir(task, model) / f"samples_{task}.jsonl"

    def board(self, task: str) -> Path:
        return self.root / "leaderboards" / f"{task}.json"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    @property
    def summary_json(self) -> Path:
        return self.root / "summary.json"

    @property
    def summary_txt(self) -> Path:
        return self.root / "summary.txt"
