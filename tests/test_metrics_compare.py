"""Paired comparison of two runs: difference, CI, permutation p-value, gap_reduction."""

from __future__ import annotations

import pytest

from evaluators.metrics import ComparisonError, compare_logs
from tests.test_metrics import row


def two_runs():
    """10 videos x 2 items, all tag V. Run A is right on both items of videos 0-4 (10/20).
    Run B equals A plus both items of videos 5 and 6 (14/20): B - A = +0.2 on micro_acc.
    """
    a, b = [], []
    for v in range(10):
        for q in range(2):
            a.append(row(f"v{v}q{q}", f"v{v}", "V", v < 5))
            b.append(row(f"v{v}q{q}", f"v{v}", "V", v < 7))
    return a, b


def test_paired_difference_and_permutation_p_value():
    a, b = two_runs()
    r = compare_logs(a, b, metric="micro_acc", n_bootstrap=1000, n_permutations=2000, seed=0)
    assert r.a == pytest.approx(0.5)
    assert r.b == pytest.approx(0.7)
    assert r.difference == pytest.approx(0.2)
    # Only videos 5 and 6 differ, each by +2 items (= +0.1). A sign flip swaps the runs within a
    # video, so the permuted difference is (+-0.1) + (+-0.1): |d*| >= 0.2 iff both signs agree,
    # probability 2/4. p = (1 + #extreme) / (1 + 2000) ~ 0.5.
    assert r.p_value == pytest.approx(0.5, abs=0.05)
    # Every resample has 20 items; its difference is m * 2 / 20 = m / 10, m = number of draws of
    # video 5 or 6 among the 10 drawn: m ~ Binomial(10, 0.2). P(m = 0) = 0.107 > 2.5%, so the
    # lower end is 0; P(m <= 4) = 0.967 < 97.5% <= P(m <= 5) = 0.994, so the upper end is 0.5.
    assert r.ci_low == pytest.approx(0.0, abs=1e-12)
    assert r.ci_high == pytest.approx(0.5)
    assert r.n_items == 20 and r.n_clusters == 10


def test_p_value_small_for_a_consistent_improvement():
    # 12 videos, B right on one more item than A in every video: observed +12/24 = +0.5.
    # Every permutation flips some signs; |d*| >= 0.5 only when all 12 agree: 2 / 2^12 ~ 0.0005,
    # so p ~ (1 + ~1) / 1001 < 0.01.
    a, b = [], []
    for v in range(12):
        a += [row(f"v{v}a", f"v{v}", "V", 0), row(f"v{v}b", f"v{v}", "V", 0)]
        b += [row(f"v{v}a", f"v{v}", "V", 1), row(f"v{v}b", f"v{v}", "V", 0)]
    r = compare_logs(a, b, metric="micro_acc", n_permutations=1000)
    assert r.difference == pytest.approx(0.5)
    assert r.p_value < 0.01
    assert r.ci_low == pytest.approx(0.5) and r.ci_high == pytest.approx(0.5)


def tagged_run(multi_correct: int):
    """7 tags x 10 items (one video per item pair). Uni tags: 8/10 right; multi: multi_correct/10."""
    rows = []
    for t in ("V", "A", "S", "VA", "VS", "AS", "VAS"):
        k = 8 if len(t) == 1 else multi_correct
        rows += [row(f"{t}{i}", f"{t}-v{i // 2}", t, i < k) for i in range(10)]
    return rows


def test_gap_reduction():
    # A: uni 0.8, multi 0.6 -> gap 0.2; B: multi 0.7 -> gap 0.1. gap_reduction = (0.2-0.1)/0.2 = 0.5
    # avg_acc A = (3*0.8 + 4*0.6)/7 = 4.8/7; B = (2.4 + 2.8)/7 = 5.2/7; difference 0.4/7.
    r = compare_logs(tagged_run(6), tagged_run(7), n_bootstrap=300, n_permutations=300)
    assert r.metric == "avg_acc"
    assert r.gap_a == pytest.approx(0.2) and r.gap_b == pytest.approx(0.1)
    assert r.gap_reduction == pytest.approx(0.5)
    assert r.difference == pytest.approx(0.4 / 7)
    lo, hi = r.gap_reduction_ci
    assert lo <= 0.5 <= hi


def test_refuses_different_item_sets():
    a, b = two_runs()
    with pytest.raises(ComparisonError, match=r"1 \(doc_id, draw\) pairs only in A"):
        compare_logs(a, b[:-1])
    b2 = [dict(r) for r in b]
    b2[0]["draw"] = 1
    with pytest.raises(ComparisonError, match="not evaluated on the same items"):
        compare_logs(a, b2)
    b3 = [dict(r) for r in b]
    b3[0]["video_id"] = "other"
    with pytest.raises(ComparisonError, match="video_id"):
        compare_logs(a, b3)
    with pytest.raises(ValueError, match="unknown metric"):
        compare_logs(a, b, metric="nope")
