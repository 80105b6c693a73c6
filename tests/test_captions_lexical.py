"""BLEU-4, ROUGE-L and CIDEr-D against hand-worked examples (arithmetic in the comments)."""

from __future__ import annotations

import math

import pytest

from evaluators.captions import cider_d, corpus_bleu, corpus_rouge_l, rouge_l, tokenize


def test_tokenizer():
    assert tokenize("A man, riding a horse!") == ["a", "man", "riding", "a", "horse"]
    assert tokenize("Don't stop.") == ["don't", "stop"]
    assert tokenize(None) == []


def test_bleu_single_sentence():
    # c = the cat sat on the mat (6), r = the cat is on the mat (6)
    # 1-grams: the x2, cat, on, mat match -> 5/6; 2-grams: the cat, on the, the mat -> 3/5;
    # 3-grams: on the mat -> 1/4; 4-grams: 0/3 -> corpus BLEU-4 without smoothing = 0.
    c, r = ["the cat sat on the mat"], [["the cat is on the mat"]]
    assert corpus_bleu(c, r) == 0.0
    # add1 (n >= 2): p2 = 4/6, p3 = 2/5, p4 = 1/4; BP = 1 (c = r = 6)
    # BLEU = (5/6 * 4/6 * 2/5 * 1/4) ** (1/4) = 0.055556 ** 0.25 = 0.485492
    assert corpus_bleu(c, r, smoothing="add1") == pytest.approx(0.4854918, abs=1e-6)


def test_bleu_is_corpus_level():
    # Add a perfect 5-token caption: matches/totals sum over the corpus
    # p1 = (5+5)/(6+5) = 10/11, p2 = (3+4)/(5+4) = 7/9, p3 = (1+3)/(4+3) = 4/7, p4 = (0+2)/(3+2) = 2/5
    # product = 16/99; BLEU = (16/99) ** 0.25 = 0.634047 (an average of sentence BLEUs would be 0.5)
    c = ["the cat sat on the mat", "a dog runs fast today"]
    r = [["the cat is on the mat"], ["a dog runs fast today"]]
    assert corpus_bleu(c, r) == pytest.approx(0.6340466, abs=1e-6)


def test_bleu_brevity_penalty_and_closest_reference():
    # BLEU-2 of "the cat" vs "the cat is on the mat": p1 = p2 = 1, c = 2 < r = 6:
    # BP = exp(1 - 6/2) = exp(-2) = 0.135335
    assert corpus_bleu(["the cat"], [["the cat is on the mat"]], max_n=2) == pytest.approx(
        math.exp(-2)
    )
    # |c| = 3, refs of length 2 and 4 are equally close: the shorter (2) is used, c > r, BP = 1.
    # (Choosing 4 would give exp(1 - 4/3) = 0.7165.)
    assert corpus_bleu(["a b c"], [["a b", "a b c d"]], max_n=1) == pytest.approx(1.0)


def test_rouge_l():
    # c = the cat sat, r = the cat is on the mat: LCS = "the cat" = 2; P = 2/3, R = 2/6
    # F(beta=1.2) = (1 + 1.44) * (2/3)(1/3) / (1/3 + 1.44 * 2/3) = 0.542222 / 1.293333 = 0.419244
    assert rouge_l("the cat sat", ["the cat is on the mat"]) == pytest.approx(0.4192440, abs=1e-6)
    # max P and max R over references (coco-caption): P = 1 from ref 2, R = 1 from ref 2
    assert rouge_l("a b", ["x y z", "a b"]) == pytest.approx(1.0)
    assert rouge_l("", ["a"]) == 0.0
    assert corpus_rouge_l(["a b", "zz"], [["a b"], ["a"]]) == pytest.approx(0.5)


def test_cider_d_hand_worked():
    # Corpus of 2 videos: refs "a cat" and "a dog" -> N = 2, idf = log 2 - log df.
    # df: a = 2 (idf 0), cat = dog = "a cat" = "a dog" = 1 (idf log 2); unseen n-grams idf log 2.
    refs = [["a cat"], ["a dog"]]
    # Perfect 2-token caption: n=1 vectors (a: 0, cat: log2) are equal -> cosine 1; n=2 also 1;
    # no 3- or 4-grams -> 0. Length penalty 1. Score = 10 * (1 + 1 + 0 + 0) / 4 = 5.0.
    assert cider_d(["a cat", "a dog"], refs) == pytest.approx([5.0, 5.0])
    # "a dog" for the cat video shares only "a", whose weight is 0 -> 0.
    assert cider_d(["a dog", "a dog"], refs)[0] == pytest.approx(0.0)
    # "a cat sat": n=1 cand (a 0, cat l, sat l), |.| = l*sqrt2; ref (cat l) -> dot l^2 -> 1/sqrt2.
    # n=2 cand (a cat l, cat sat l) vs ref (a cat l) -> 1/sqrt2; n=3 ref empty -> 0.
    # penalty exp(-(3-2)^2 / 72) = 0.986207. Score = 10 * (2/sqrt2) / 4 * 0.986207 = 3.486769
    assert cider_d(["a cat sat", "a dog"], refs)[0] == pytest.approx(3.4867687, abs=1e-6)
    # Clipping: "a cat cat": cat tf 2 -> weight 2l, clipped to the ref's l: dot = l * l,
    # norms 2l and l -> 1/2 (unclipped would be 1). n=2: (a cat, cat cat) vs (a cat) -> 1/sqrt2.
    # Score = 10 * (0.5 + 0.707107) / 4 * 0.986207 = 2.976143
    assert cider_d(["a cat cat", "a dog"], refs)[0] == pytest.approx(2.9761432, abs=1e-6)


def test_cider_d_counts_a_video_once_across_tags():
    # The same video captioned under 3 tags must not change document frequencies.
    refs = [["a cat"], ["a dog"]]
    base = cider_d(["a cat", "a dog"], refs, groups=["v1", "v2"])
    tripled = cider_d(
        ["a cat", "a cat", "a cat", "a dog"], [refs[0]] * 3 + [refs[1]], groups=["v1"] * 3 + ["v2"]
    )
    assert tripled == pytest.approx([base[0]] * 3 + [base[1]])
