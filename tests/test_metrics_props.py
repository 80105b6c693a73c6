"""Property tests: every metric stays in its range; row order never changes a result."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluators.metrics import bootstrap, cluster_sums, item_table
from evaluators.results import build_results, validate_results
from maple_bench.modality import TAG_NAMES, condition, parse_tag
from maple_bench.schema import NONE_OPTION

UNIT = (
    "avg_acc", "avg_acc_present", "micro_acc", "acc_uni", "acc_multi", "uni_multi_gap",
    "modality_spread", "abstention_rate", "hallucination_rate", "none_precision", "none_recall",
    "none_f1", "invalid_rate", "error_rate",
)  # fmt: skip


@st.composite
def sample_logs(draw):
    n_items = draw(st.integers(1, 30))
    n_videos = draw(st.integers(1, 8))
    plus = draw(st.booleans())
    rows = []
    for i in range(n_items):
        rmt = draw(st.sampled_from(TAG_NAMES))
        pres = draw(st.sampled_from(TAG_NAMES)) if plus else rmt
        cond = condition(parse_tag(rmt), parse_tag(pres)).value
        opts = ["a", "b", "c"] + ([NONE_OPTION] if plus else [])
        tgt = 3 if plus and cond == "deficit" else draw(st.integers(0, len(opts) - 1))
        for d in range(draw(st.integers(1, 3))):
            outcome = draw(st.sampled_from(["answer", "answer", "answer", "invalid", "error"]))
            parsed = draw(st.integers(0, len(opts) - 1)) if outcome == "answer" else None
            rows.append(
                {
                    "doc_id": f"d{i}",
                    "video_id": f"v{i % n_videos}",
                    "task": "qa",
                    "rmt": rmt,
                    "presentation": pres,
                    "condition": cond,
                    "draw": d,
                    "options": opts,
                    "target_index": tgt,
                    "parsed_index": parsed,
                    "correct": parsed == tgt,
                    "invalid": outcome == "invalid",
                    "error": "boom" if outcome == "error" else None,
                }
            )
    return rows


def _close(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample_logs())
def test_metrics_stay_in_range(rows):
    br = bootstrap(cluster_sums(item_table(rows)), n_bootstrap=50, seed=0)
    h = br.point
    for k in UNIT:
        assert math.isnan(h[k]) or -1e-12 <= h[k] <= 1 + 1e-12, (k, h[k])
    assert math.isnan(h["fusion_gain"]) or -1 <= h["fusion_gain"] <= 1
    assert math.isnan(h["superset_robustness"]) or h["superset_robustness"] >= 0
    if not math.isnan(h["abstention_rate"]):
        assert h["abstention_rate"] + h["hallucination_rate"] <= 1 + 1e-12
    assert all(0 <= v <= 1 or math.isnan(v) for v in br.point_ratios[:-1])
    for k in h:
        lo, hi = br.ci(k)
        assert (math.isnan(lo) and math.isnan(hi)) or lo <= hi + 1e-12


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample_logs(), st.integers(0, 2**31 - 1))
def test_row_order_does_not_matter(rows, seed):
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    a = bootstrap(cluster_sums(item_table(rows)), n_bootstrap=50, seed=7)
    b = bootstrap(cluster_sums(item_table(shuffled)), n_bootstrap=50, seed=7)
    for k in a.point:
        assert _close(a.point[k], b.point[k]), k
        for x, y in zip(a.ci(k), b.ci(k)):
            assert _close(x, y), k
    assert np.allclose(a.point_ratios, b.point_ratios, equal_nan=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample_logs())
def test_results_always_validate(rows):
    res = build_results(rows, task="t", n_bootstrap=20)
    assert validate_results(res) == []
