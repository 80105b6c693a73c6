"""Caption scoring: pure-Python lexical metrics (BLEU-4, ROUGE-L, CIDEr-D) and an LLM judge."""

from .judge import (
    DEFAULT_TEMPLATE,
    EndpointJudge,
    Judge,
    JudgeConfig,
    JudgeError,
    LocalJudge,
    Verdict,
    VerdictCache,
    judge_log,
    make_judge,
    parse_score,
)
from .lexical import cider_d, corpus_bleu, corpus_rouge_l, lexical_scores, rouge_l, tokenize

__all__ = [
    "DEFAULT_TEMPLATE",
    "EndpointJudge",
    "Judge",
    "JudgeConfig",
    "JudgeError",
    "LocalJudge",
    "Verdict",
    "VerdictCache",
    "cider_d",
    "corpus_bleu",
    "corpus_rouge_l",
    "judge_log",
    "lexical_scores",
    "make_judge",
    "parse_score",
    "rouge_l",
    "tokenize",
]
