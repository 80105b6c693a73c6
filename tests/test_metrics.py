"""Metrics on hand-built sample logs; every expected number is worked out in the comments."""

from __future__ import annotations

import math

import pytest

from evaluators.metrics import (
    SampleLogError,
    bootstrap,
    cluster_sums,
    item_table,
)
from evaluators.metrics.stats import COL
from maple_bench.modality import condition, parse_tag
from maple_bench.schema import NONE_OPTION

OPTS = ["red", "blue", "green"]
OPTS_PLUS = ["red", "blue", "green", NONE_OPTION]  # None option at index 3


def row(doc, video, rmt, correct, *, pres=None, draw=0, invalid=False, error=None, **kw):
    """One sample-log line in the CONTRACTS format (only the fields the metrics read vary)."""
    pres = pres or rmt
    r = {
        "doc_id": doc,
        "question_id": doc.split("@")[0],
        "video_id": video,
        "task": "qa",
        "rmt": rmt,
        "presentation": pres,
        "condition": condition(parse_tag(rmt), parse_tag(pres)).value,
        "none_reason": None,
        "draw": draw,
        "options": OPTS,
        "target": "red",
        "target_index": 0,
        "raw_output": "A",
        "parsed_index": None if invalid or error else (0 if correct else 1),
        "parsed_text": None,
        "correct": bool(correct) and error is None,
        "invalid": invalid,
        "error": error,
        "error_type": None if error is None else "MediaNotFoundError",
        "delivered": {"frames": 8, "audio_seconds": 4.0, "subtitle_chars": 10},
        "item_hash": "h",
        "prompt_hash": "p",
        "references": [],
        "judge": None,
    }
    r.update(kw)
    return r


def qa_log():
    """16 items; per tag (correct / items):
    V 1/2, A 2/2, S 1/4, VA 1/2, VS 0/1, AS 1/1, VAS 3/4.
    Two wrong items are unparseable (one S, one VAS) and the VS item could not be run (error).
    """
    spec = {
        "V": [1, 0],
        "A": [1, 1],
        "S": [1, 0, 0, "invalid"],
        "VA": [1, 0],
        "VS": ["error"],
        "AS": [1],
        "VAS": [1, 1, 1, "invalid"],
    }
    rows = []
    for tag, outcomes in spec.items():
        for i, o in enumerate(outcomes):
            rows.append(
                row(
                    f"{tag}-{i}",
                    f"vid-{tag}-{i % 2}",
                    tag,
                    o == 1,
                    invalid=o == "invalid",
                    error="missing media" if o == "error" else None,
                )
            )
    return rows


def headline(rows, **kw):
    return bootstrap(cluster_sums(item_table(rows)), n_bootstrap=kw.get("n_bootstrap", 200)).point


def test_acc_by_tag_and_headline_hand_worked():
    items = item_table(qa_log())
    br = bootstrap(cluster_sums(items), n_bootstrap=100)
    r = br.point_ratios
    # acc(t) = correct / items per tag, from the table in qa_log's docstring.
    expected = {"V": 0.5, "A": 1.0, "S": 0.25, "VA": 0.5, "VS": 0.0, "AS": 1.0, "VAS": 0.75}
    for t, acc in expected.items():
        assert r[COL[f"tag:{t}"]] == pytest.approx(acc)
    h = br.point
    # macro: (0.5 + 1 + 0.25 + 0.5 + 0 + 1 + 0.75) / 7 = 4 / 7
    assert h["avg_acc"] == pytest.approx(4 / 7)
    assert h["avg_acc_present"] == pytest.approx(4 / 7)
    # micro: (1+2+1+1+0+1+3) / 16 = 9 / 16
    assert h["micro_acc"] == pytest.approx(9 / 16)
    # uni: (0.5 + 1 + 0.25) / 3 = 0.583333; multi: (0.5 + 0 + 1 + 0.75) / 4 = 0.5625
    assert h["acc_uni"] == pytest.approx(1.75 / 3)
    assert h["acc_multi"] == pytest.approx(0.5625)
    # gap = |0.583333 - 0.5625| = 1/48
    assert h["uni_multi_gap"] == pytest.approx(1 / 48)
    # spread = max 1.0 (A, AS) - min 0.0 (VS)
    assert h["modality_spread"] == pytest.approx(1.0)
    # fusion = acc_multi - best uni = 0.5625 - 1.0 = -0.4375; relative = -0.4375 / 1.0
    assert h["fusion_gain"] == pytest.approx(-0.4375)
    assert h["fusion_gain_rel"] == pytest.approx(-0.4375)
    # invalid: 2 of 16 items; error: 1 of 16 (and it counts as wrong: VS acc 0)
    assert h["invalid_rate"] == pytest.approx(2 / 16)
    assert h["error_rate"] == pytest.approx(1 / 16)
    # no None option anywhere: the QA+ metrics are undefined (null), not 0
    for k in ("abstention_rate", "hallucination_rate", "none_precision", "none_f1"):
        assert math.isnan(h[k])
    assert math.isnan(h["superset_robustness"])


def test_missing_tag_is_null_not_zero():
    rows = [r for r in qa_log() if r["rmt"] != "VS"]
    h = headline(rows)
    # VS absent: every metric that needs all 7 tags (or all 4 multi tags) is undefined.
    for k in ("avg_acc", "acc_multi", "uni_multi_gap", "modality_spread", "fusion_gain"):
        assert math.isnan(h[k]), k
    # acc_uni still defined: (0.5 + 1 + 0.25) / 3
    assert h["acc_uni"] == pytest.approx(1.75 / 3)
    # present tags: (0.5 + 1 + 0.25 + 0.5 + 1 + 0.75) / 6 = 4 / 6
    assert h["avg_acc_present"] == pytest.approx(4 / 6)
    # micro over the 15 remaining items: 9 / 15; no error left
    assert h["micro_acc"] == pytest.approx(9 / 15)
    assert h["error_rate"] == 0.0


def test_pass_at_1_averages_draws_per_item_first():
    # Item x: 3 draws, 2 correct -> 2/3. Item y: 1 draw, correct -> 1.
    # acc(V) = mean over items = (2/3 + 1) / 2 = 5/6 (a row-level mean would say 3/4).
    rows = [
        row("x", "v1", "V", 1, draw=0),
        row("x", "v1", "V", 0, draw=1),
        row("x", "v1", "V", 1, draw=2),
        row("y", "v2", "V", 1, draw=0),
    ]
    items = item_table(rows)
    assert list(items.k) == [3, 1]
    assert items.n_rows == 4
    h = headline(rows)
    assert h["micro_acc"] == pytest.approx(5 / 6)
    # invalid on one of x's three draws -> x invalid share 1/3; y 0 -> (1/3 + 0) / 2 = 1/6
    rows[1]["invalid"] = True
    assert headline(rows)["invalid_rate"] == pytest.approx(1 / 6)


def qa_plus_log():
    """Two questions x 7 presentations; options red/blue/green/None (None index 3).

    Q1 rmt V (video v1):        target  pred   outcome
      V   exact                   0      0     correct
      VA  superset                0      0     correct
      VS  superset (replaced)     3      0     wrong (content pick; a None target)
      VAS superset                0      0     correct
      A   deficit                 3      3     correct (abstains)
      S   deficit                 3      1     wrong (hallucinates)
      AS  deficit                 3      -     wrong (unparseable)
    Q2 rmt VA (video v2):
      VA  exact                   1      3     wrong (None chosen: a false positive)
      VAS superset                1      1     correct
      V   deficit                 3      3     correct
      A   deficit                 3      3     correct
      S   deficit                 3      0     wrong (hallucinates)
      VS  deficit                 3      -     error (could not run)
      AS  deficit                 3      3     correct
    """
    plan = [
        ("q1", "v1", "V", "V", 0, 0),
        ("q1", "v1", "V", "VA", 0, 0),
        ("q1", "v1", "V", "VS", 3, 0),
        ("q1", "v1", "V", "VAS", 0, 0),
        ("q1", "v1", "V", "A", 3, 3),
        ("q1", "v1", "V", "S", 3, 1),
        ("q1", "v1", "V", "AS", 3, "invalid"),
        ("q2", "v2", "VA", "VA", 1, 3),
        ("q2", "v2", "VA", "VAS", 1, 1),
        ("q2", "v2", "VA", "V", 3, 3),
        ("q2", "v2", "VA", "A", 3, 3),
        ("q2", "v2", "VA", "S", 3, 0),
        ("q2", "v2", "VA", "VS", 3, "error"),
        ("q2", "v2", "VA", "AS", 3, 3),
    ]
    rows = []
    for q, v, rmt, pres, tgt, pred in plan:
        parsed = pred if isinstance(pred, int) else None
        rows.append(
            row(
                f"{q}@{pres}",
                v,
                rmt,
                parsed == tgt,
                pres=pres,
                options=OPTS_PLUS,
                target=OPTS_PLUS[tgt],
                target_index=tgt,
                parsed_index=parsed,
                invalid=pred == "invalid",
                error="decode failed" if pred == "error" else None,
                none_reason="deficit"
                if tgt == 3 and pres != "VS" or (q, pres) == ("q2", "VS")
                else None,
            )
        )
    return rows


def test_qa_plus_metrics_hand_worked():
    items = item_table(qa_plus_log())
    assert items.qa_plus.all()
    br = bootstrap(cluster_sums(items), n_bootstrap=100)
    r, h = br.point_ratios, br.point
    # exact: Q1 V ok, Q2 VA wrong -> 1/2
    assert r[COL["cond:exact"]] == pytest.approx(0.5)
    # superset: Q1 VA ok, VS wrong, VAS ok; Q2 VAS ok -> 3/4
    assert r[COL["cond:superset"]] == pytest.approx(0.75)
    # deficit: Q1 A ok, S no, AS no; Q2 V ok, A ok, S no, VS error, AS ok -> 4/8
    assert r[COL["cond:deficit"]] == pytest.approx(0.5)
    # superset_robustness = 0.75 / 0.5 = 1.5
    assert h["superset_robustness"] == pytest.approx(1.5)
    # deficit rows (8): None chosen on Q1 A, Q2 V, A, AS = 4 -> 0.5;
    # content chosen on Q1 S, Q2 S = 2 -> 0.25; the rest (invalid + error) = 2/8.
    assert h["abstention_rate"] == pytest.approx(0.5)
    assert h["hallucination_rate"] == pytest.approx(0.25)
    # None chosen 5 times (4 deficit + Q2 VA exact), 4 of them right: precision 4/5.
    # None is the target on 9 rows (8 deficit + Q1 VS replaced): recall 4/9.
    # F1 = 2TP / (2TP + FP + FN) = 8 / (8 + 1 + 5) = 4/7.
    assert h["none_precision"] == pytest.approx(0.8)
    assert h["none_recall"] == pytest.approx(4 / 9)
    assert h["none_f1"] == pytest.approx(4 / 7)
    # by RMT (all presentations): V 4/7 (V, VA, VAS, A), VA 4/7 (VAS, V, A, AS)
    assert r[COL["tag:V"]] == pytest.approx(4 / 7)
    assert r[COL["tag:VA"]] == pytest.approx(4 / 7)
    assert math.isnan(r[COL["tag:S"]])
    # by presentation: V shown twice (Q1 exact ok, Q2 deficit abstains ok) -> 1.0;
    # S shown twice, both wrong -> 0.0
    assert r[COL["pres:V"]] == pytest.approx(1.0)
    assert r[COL["pres:S"]] == pytest.approx(0.0)
    # over all 14 items: 1 invalid, 1 error; micro 8/14
    assert h["invalid_rate"] == pytest.approx(1 / 14)
    assert h["error_rate"] == pytest.approx(1 / 14)
    assert h["micro_acc"] == pytest.approx(8 / 14)
    assert math.isnan(h["avg_acc"])  # only 2 of the 7 tags


def test_condition_is_derived_when_missing():
    rows = qa_plus_log()
    for r in rows:
        r["condition"] = None
    h = headline(rows)
    assert h["superset_robustness"] == pytest.approx(1.5)


def test_division_by_zero_is_null():
    # Exact accuracy 0 -> superset_robustness undefined; None never chosen -> precision undefined.
    rows = [r for r in qa_plus_log() if r["presentation"] in ("VS", "VAS") and r["doc_id"] < "q2"]
    # Q1 VS (superset, wrong, content pick) and Q1 VAS (superset, ok): no exact row at all.
    h = headline(rows)
    assert math.isnan(h["superset_robustness"])
    assert math.isnan(h["none_precision"])  # never chose None
    assert h["none_recall"] == 0.0  # Q1 VS had a None target, missed: 0/1
    assert math.isnan(h["none_f1"])  # P undefined
    assert math.isnan(h["abstention_rate"])  # no deficit rows


def test_bad_logs_name_row_and_column():
    rows = qa_log()
    rows[3]["rmt"] = "XYZ"
    with pytest.raises(SampleLogError, match=r"row 4 .*'A-1'.*column 'rmt'"):
        item_table(rows)
    rows = qa_log()
    rows.append(dict(rows[0]))
    with pytest.raises(SampleLogError, match="appears twice"):
        item_table(rows)
    rows = qa_log()
    for r in rows:
        del r["video_id"]
    with pytest.raises(SampleLogError, match="'video_id' is missing"):
        item_table(rows)
    rows = [row("x", "v1", "V", 1, draw=0), row("x", "v2", "V", 1, draw=1)]
    with pytest.raises(SampleLogError, match="disagree"):
        item_table(rows)


def test_ci_contains_point_and_degenerate_case():
    br = bootstrap(cluster_sums(item_table(qa_log())), n_bootstrap=300, seed=1)
    lo, hi = br.ci("micro_acc")
    assert lo <= br.point["micro_acc"] <= hi
    # every item correct: every resample has accuracy 1, so the CI is [1, 1]
    rows = [row(f"d{i}", f"v{i % 3}", "V", 1) for i in range(9)]
    b2 = bootstrap(cluster_sums(item_table(rows)), n_bootstrap=50)
    assert b2.ratio_ci("tag:V") == (1.0, 1.0)
    assert math.isnan(b2.ratio_ci("tag:A")[0])  # no A items: no CI


def test_bootstrap_is_seeded():
    s = cluster_sums(item_table(qa_log()))
    a, b = bootstrap(s, n_bootstrap=200, seed=3), bootstrap(s, n_bootstrap=200, seed=3)
    c = bootstrap(s, n_bootstrap=200, seed=4)
    assert a.ci("avg_acc") == b.ci("avg_acc")
    assert a.ci("micro_acc") != c.ci("micro_acc")


def test_clustering_widens_the_interval():
    # 20 videos x 10 questions; every question of videos 0-9 is right, of videos 10-19 wrong.
    # Accuracy 0.5 either way. iid bootstrap over 200 items: se = sqrt(0.25 / 200) = 0.035,
    # 95% width ~ 4 * 0.035 = 0.14. Clustered: only 20 independent videos, se =
    # sqrt(0.25 / 20) = 0.112, width ~ 0.44: about sqrt(10) = 3.2x wider.
    rows = [row(f"v{v}-q{q}", f"v{v}", "V", v < 10) for v in range(20) for q in range(10)]
    items = item_table(rows)
    clustered = bootstrap(cluster_sums(items, cluster="video_id"), n_bootstrap=1000, seed=0)
    iid = bootstrap(cluster_sums(items, cluster="doc_id"), n_bootstrap=1000, seed=0)
    w_c = clustered.ci("micro_acc")[1] - clustered.ci("micro_acc")[0]
    w_i = iid.ci("micro_acc")[1] - iid.ci("micro_acc")[0]
    assert w_c == pytest.approx(0.44, abs=0.08)
    assert w_i == pytest.approx(0.14, abs=0.04)
    assert w_c > 2.5 * w_i
    assert clustered.stderr("micro_acc") == pytest.approx(0.112, abs=0.015)
