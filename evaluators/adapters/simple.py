"""Reference adapters without a neural model: the chance baseline and the synth solver."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, ClassVar

from evaluators.adapters.base import ModelAdapter, Request, pop_args
from maple_bench.modality import VAS
from maple_bench.schema import option_letter

_CAPTION_WORDS = ("a", "the", "video", "sound", "person", "talks", "music", "scene", "shows", "of")


class RandomAdapter(ModelAdapter):
    """Picks an option uniformly at random, seeded per (item, draw): accuracy ~ 1/#options.

    The seed comes from the request, so the answers do not depend on batching or on how many
    processes share the run. Captions are a few random words (a floor for the caption metrics).
    """

    name: ClassVar[str] = "random"
    accepts = VAS

    def __init__(self, seed_offset: int = 0) -> None:
        self.seed_offset = int(seed_offset)

    @classmethod
    def create(cls, kwargs: dict[str, Any], **runtime: Any) -> RandomAdapter:
        return cls(**pop_args(kwargs, {"seed_offset": 0}, cls.name))

    def generate(self, requests: Sequence[Request]) -> list[str]:
        out = []
        for r in requests:
            rng = random.Random(r.seed + self.seed_offset)
            options = r.sample.options
            if options:
                out.append(option_letter(rng.randrange(len(options))))
            else:
                out.append(" ".join(rng.choice(_CAPTION_WORDS) for _ in range(8)))
        return out

    def provenance(self) -> dict[str, Any]:
        return {"adapter": self.name, "id": "random", "revision": None, "dtype": None,
                "chat_template_hash": None, "seed_offset": self.seed_offset}  # fmt: skip


class _SolverAnswer:
    """Picklable preparer: the solver's perception and decision for one presented item."""

    def __init__(self, solver: Any) -> None:
        self.solver = solver

    def __call__(self, model_input: Any, prompt: str) -> str:
        return self.solver.answer(model_input)


class SolverAdapter(ModelAdapter):
    """The synthetic benchmark's reference solver: answers from the decoded streams it is given.

    It is exact on exact/superset presentations and answers None when a required stream is
    missing, so it checks the whole pipeline end to end (loading, masking, decoding, scoring).
    The solver is pure CPU perception with nothing to put on an accelerator, so all of it runs in
    the DataLoader workers through the preparer hook, beside the decoding; ``generate`` only
    hands the answers back (and answers directly when called outside the runner).
    """

    name: ClassVar[str] = "solver"
    accepts = VAS
    task_kinds = frozenset({"qa"})
    keep_inputs = False

    def __init__(self, media_config: Any, *, ignore: str | None = None) -> None:
        from maple_bench.synth.solver import ReferenceSolver

        self.solver = ReferenceSolver(media_config, ignore=ignore)
        self.ignore = self.solver.ignore.name or None

    @classmethod
    def create(cls, kwargs: dict[str, Any], **runtime: Any) -> SolverAdapter:
        """``--model-args ignore=A`` handicaps the solver: it treats A as absent (diagnostics)."""
        args = pop_args(kwargs, {"ignore": None}, cls.name)
        return cls(runtime.get("media_config"), ignore=args["ignore"])

    def preparer(self) -> _SolverAnswer:
        return _SolverAnswer(self.solver)

    def generate(self, requests: Sequence[Request]) -> list[str]:
        return [
            r.prepared if r.prepared is not None else self.solver.answer(r.input) for r in requests
        ]

    def provenance(self) -> dict[str, Any]:
        return {"adapter": self.name, "id": "maple_bench.synth.solver.ReferenceSolver",
                "revision": None, "dtype": None, "chat_template_hash": None,
                "ignore": self.ignore}  # fmt: skip
