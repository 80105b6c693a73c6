"""Answer parsing and scoring, shared by evaluation and the RL reward."""

from maple_bench.scoring.parse import SCORER_VERSION, Parse, parse_answer, parse_reply
from maple_bench.scoring.score import Score, reward, score
from maple_bench.scoring.text import normalize

__all__ = [
    "SCORER_VERSION",
    "Parse",
    "Score",
    "normalize",
    "parse_answer",
    "parse_reply",
    "reward",
    "score",
]
