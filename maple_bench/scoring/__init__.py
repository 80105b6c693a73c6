"""Answer parsing and scoring, shared by evaluation and the RL reward."""

from maple_bench.scoring.parse import normalize, parse_answer
from maple_bench.scoring.score import Score, reward, score

__all__ = ["Score", "normalize", "parse_answer", "reward", "score"]
