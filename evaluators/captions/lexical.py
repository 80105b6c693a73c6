"""Reference-based caption metrics in pure Python: BLEU-4, ROUGE-L and CIDEr-D (no Java).

Tokenizer (:func:`tokenize`): lower-case, then the maximal runs of letters/digits, keeping inner
apostrophes ("don't"), so punctuation is dropped as coco-caption's PTB tokenizer does. It is not
bit-identical to the Stanford PTB tokenizer (which splits "don't" into "do n't"), so numbers are
close to, not equal to, coco-caption's on text with contractions.

- BLEU-4 (Papineni et al. 2002), corpus level: clipped n-gram counts summed over the corpus,
  uniform weights 1/4, brevity penalty exp(1 - r/c) when c < r with r the sum of each candidate's
  closest reference length (ties: the shorter). Smoothing ``"none"`` (default, standard corpus
  BLEU: 0 when some order has no match) or ``"add1"`` (Lin & Och 2004: +1 to numerator and
  denominator for n >= 2).
- ROUGE-L (Lin 2004), as coco-caption: per caption, P = max_r LCS/|c|, R = max_r LCS/|r|,
  F = (1 + b^2) P R / (R + b^2 P) with b = 1.2; the corpus score is the mean.
- CIDEr-D (Vedantam et al. 2015), as coco-caption's CiderD: tf-idf vectors for n = 1..4 with
  df counted once per video over the union of its references and idf log(N_videos / max(1, df)),
  candidate weights clipped at the reference weights, cosine-style normalisation, gaussian length
  penalty exp(-(|c| - |r|)^2 / (2 * 6^2)), mean over n and references, x10. Lengths are token
  counts (coco-caption counts bigrams, i.e. tokens - 1: the same difference for captions of 2+
  tokens).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def tokenize(text: str | None) -> list[str]:
    """Lower-cased word tokens; punctuation dropped. ``None`` (a failed sample) is empty."""
    return _TOKEN.findall((text or "").lower())


def ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    """Counts of the n-grams of ``tokens``."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    max_n: int = 4,
    smoothing: str = "none",
) -> float:
    """Corpus BLEU-``max_n`` in [0, 1] of ``candidates`` against their lists of references."""
    if len(candidates) != len(references):
        raise ValueError("candidates and references must have the same length")
    if smoothing not in ("none", "add1"):
        raise ValueError(f"smoothing must be 'none' or 'add1', not {smoothing!r}")
    match = [0] * max_n
    total = [0] * max_n
    c_len = r_len = 0
    for cand, refs in zip(candidates, references):
        c = tokenize(cand)
        rs = [tokenize(r) for r in refs]
        if not rs:
            raise ValueError("every candidate needs at least one reference")
        c_len += len(c)
        r_len += min((abs(len(r) - len(c)), len(r)) for r in rs)[1]
        for n in range(1, max_n + 1):
            cn = ngrams(c, n)
            best: Counter[tuple[str, ...]] = Counter()
            for r in rs:
                best |= ngrams(r, n)
            match[n - 1] += sum(min(k, best[g]) for g, k in cn.items())
            total[n - 1] += max(len(c) - n + 1, 0)
    if c_len == 0:
        return 0.0
    log_p = 0.0
    for n in range(max_n):
        m, t = match[n], total[n]
        if smoothing == "add1" and n > 0:
            m, t = m + 1, t + 1
        if m == 0 or t == 0:
            return 0.0
        log_p += math.log(m / t) / max_n
    bp = 1.0 if c_len >= r_len else math.exp(1 - r_len / c_len)
    return bp * math.exp(log_p)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, O(|a||b|))."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(candidate: str, references: Sequence[str], *, beta: float = 1.2) -> float:
    """ROUGE-L F of one caption (coco-caption: max precision and max recall over references)."""
    c = tokenize(candidate)
    if not c or not references:
        return 0.0
    precs, recs = [], []
    for ref in references:
        r = tokenize(ref)
        lcs = lcs_length(c, r)
        precs.append(lcs / len(c))
        recs.append(lcs / len(r) if r else 0.0)
    p, r_ = max(precs), max(recs)
    if p == 0 or r_ == 0:
        return 0.0
    return (1 + beta**2) * p * r_ / (r_ + beta**2 * p)


def corpus_rouge_l(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Mean ROUGE-L F over captions."""
    if not candidates:
        return float("nan")
    return sum(rouge_l(c, r) for c, r in zip(candidates, references)) / len(candidates)


def _vec(counts: Counter[tuple[str, ...]], df: Counter, log_n: float):
    vec: list[dict[tuple[str, ...], float]] = [{} for _ in range(4)]
    norm = [0.0] * 4
    for g, tf in counts.items():
        w = tf * (log_n - math.log(max(1.0, df[g])))
        vec[len(g) - 1][g] = w
        norm[len(g) - 1] += w * w
    return vec, [math.sqrt(x) for x in norm]


def _all_ngrams(tokens: Sequence[str]) -> Counter[tuple[str, ...]]:
    out: Counter[tuple[str, ...]] = Counter()
    for n in range(1, 5):
        out.update(ngrams(tokens, n))
    return out


def cider_d(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    groups: Sequence[str] | None = None,
    sigma: float = 6.0,
) -> list[float]:
    """Per-caption CIDEr-D scores (mean = the corpus CIDEr-D).

    ``groups`` names the video of each caption: document frequencies count each video once
    (the union of its references), so a video captioned under 7 tags does not count 7 times.
    Default: every caption is its own video.
    """
    if len(candidates) != len(references):
        raise ValueError("candidates and references must have the same length")
    groups = list(groups) if groups is not None else [str(i) for i in range(len(candidates))]
    ref_tokens = [[tokenize(r) for r in refs] for refs in references]
    per_group: dict[str, set] = {}
    for g, refs in zip(groups, ref_tokens):
        s = per_group.setdefault(g, set())
        for r in refs:
            s.update(_all_ngrams(r))
    df: Counter = Counter()
    for s in per_group.values():
        df.update(s)
    log_n = math.log(float(len(per_group))) if per_group else 0.0
    scores = []
    for cand, refs in zip(candidates, ref_tokens):
        c = tokenize(cand)
        vc, nc = _vec(_all_ngrams(c), df, log_n)
        total = [0.0] * 4
        for r in refs:
            vr, nr = _vec(_all_ngrams(r), df, log_n)
            delta = len(c) - len(r)
            pen = math.exp(-(delta**2) / (2 * sigma**2))
            for n in range(4):
                val = sum(min(w, vr[n].get(g, 0.0)) * vr[n].get(g, 0.0) for g, w in vc[n].items())
                if nc[n] != 0 and nr[n] != 0:
                    val /= nc[n] * nr[n]
                total[n] += val * pen
        scores.append(10.0 * (sum(total) / 4) / max(len(refs), 1))
    return scores


def lexical_scores(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    groups: Sequence[str] | None = None,
) -> dict[str, float]:
    """``{"bleu4", "rouge_l", "cider_d", "n"}`` for one set of captions."""
    cd = cider_d(candidates, references, groups=groups)
    return {
        "bleu4": corpus_bleu(candidates, references),
        "rouge_l": corpus_rouge_l(candidates, references),
        "cider_d": sum(cd) / len(cd) if cd else float("nan"),
        "n": len(candidates),
    }
