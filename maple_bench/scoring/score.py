"""The one scorer: ``maple-eval`` scores answers with it and MAPO rewards rollouts with it."""

from __future__ import annotations

from dataclasses import dataclass

from maple_bench.schema import Sample
from maple_bench.scoring.parse import SCORER_VERSION, parse_reply


@dataclass(frozen=True)
class Score:
    """The verdict on one reply to one multiple-choice sample."""

    correct: bool
    """The parsed option is the sample's answer."""
    invalid: bool
    """The reply could not be read as exactly one option (counted wrong, reported separately)."""
    parsed_index: int | None
    """Index of the option the reply picked (None when invalid)."""
    parsed_text: str | None
    """Text of that option (None when invalid)."""
    rule: str = ""
    """The parser rule that decided (see :mod:`maple_bench.scoring.parse`)."""

    def provenance(self) -> dict[str, str]:
        """The sample log's ``scorer`` field: the scorer version and the rule that decided."""
        return {"version": SCORER_VERSION, "rule": self.rule}


def score(sample: Sample, output: str | None) -> Score:
    """Parse ``output`` against the sample's options and compare with its answer."""
    if sample.task != "qa":
        raise ValueError(
            f"sample {sample.id!r} is a {sample.task} item; captions are scored by the "
            "caption metrics (evaluators.captions), not by the multiple-choice scorer"
        )
    parsed = parse_reply(output, sample.options)
    idx = parsed.index
    if idx is None:
        return Score(
            correct=False, invalid=True, parsed_index=None, parsed_text=None, rule=parsed.rule
        )
    return Score(
        correct=idx == sample.answer_index,
        invalid=False,
        parsed_index=idx,
        parsed_text=sample.options[idx],
        rule=parsed.rule,
    )


def reward(sample: Sample, output: str | None, *, format_weight: float = 0.0) -> float:
    """RL reward: 1 for a correct answer, plus ``format_weight`` for any parseable reply.

    With the default ``format_weight=0`` the reward is exactly the evaluation's correctness, so a
    policy's mean reward on a batch equals its benchmark accuracy on those items.
    """
    s = score(sample, output)
    return float(s.correct) + (format_weight if not s.invalid else 0.0)
