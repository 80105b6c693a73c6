"""Agreement statistics against textbook examples worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from annotation.agree import (
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    krippendorff_alpha_nominal,
)
from annotation.labels import Label, read_labels, write_labels
from annotation.report import agreement, disagreements, write_agree_report


def test_cohen_kappa_textbook() -> None:
    # 50 proposals, two readers (the classic Yes/No example):
    #   both yes 20, A yes / B no 5, A no / B yes 10, both no 15.
    # p_o = (20 + 15) / 50 = 0.70
    # A says yes 25/50 = 0.5, B says yes 30/50 = 0.6
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.30 + 0.20 = 0.50
    # kappa = (0.70 - 0.50) / (1 - 0.50) = 0.40
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.40)
    cats, m = confusion_matrix(a, b)
    assert cats == ["no", "yes"] and m.tolist() == [[15, 10], [5, 20]]


def test_cohen_kappa_edges() -> None:
    assert cohen_kappa(["V", "A"], ["V", "A"]) == pytest.approx(1.0)
    # Complete disagreement on two balanced labels: p_o = 0, p_e = 0.5 -> kappa = -1.
    assert cohen_kappa(["V", "A"], ["A", "V"]) == pytest.approx(-1.0)
    # one shared label: p_e = 1, kappa = 0/0 is undefined (sklearn and statsmodels agree)
    assert math.isnan(cohen_kappa(["V", "V"], ["V", "V"]))
    assert math.isnan(cohen_kappa([], []))


def test_fleiss_kappa_textbook() -> None:
    # Fleiss (1971) style example: 10 subjects, 14 raters, 5 categories.
    # p_j = column sums / 140 = [0.143, 0.200, 0.279, 0.171, 0.229]
    # P_e = sum p_j^2 = 0.213; P-bar = mean_i (sum_j n_ij^2 - 14) / (14 * 13) = 0.378
    # kappa = (0.378 - 0.213) / (1 - 0.213) = 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[1, 1], [3, 0]])


def test_krippendorff_alpha_nominal_textbook() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders, 12 units,
    # missing values; unit 12 has a single value and is not pairable. Nominal alpha = 0.743.
    c1 = [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None]
    c2 = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3]
    c3 = [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None]
    c4 = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]
    units = [list(u) for u in zip(c1, c2, c3, c4)]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_matches_fleiss_scale_on_perfect_agreement() -> None:
    assert krippendorff_alpha_nominal([["V", "V"], ["A", "A"], ["S", "S"]]) == pytest.approx(1.0)


def _labels() -> list[Label]:
    rows = [("q1", "VA", "VA"), ("q2", "V", "V"), ("q3", "S", "AS"), ("q4", "A", "A")]
    out = []
    for item, x, y in rows:
        out.append(Label(item, "ann1", x, "2026-01-01T00:00:00+00:00"))
        out.append(Label(item, "ann2", y, "2026-01-02T00:00:00+00:00"))
    return out


def test_agreement_report_files(tmp_path: Path) -> None:
    labels = _labels()
    stats = agreement(labels)
    # Two annotators over 4 items, agreeing on 3: p_o = 0.75.
    # ann1 marginals: VA, V, S, A (1/4 each); ann2: VA, V, AS, A (1/4 each).
    # p_e = VA 1/16 + V 1/16 + A 1/16 = 3/16; kappa = (0.75 - 0.1875) / (1 - 0.1875) = 0.6923
    assert stats["cohen_kappa"] == pytest.approx(0.6923, abs=1e-4)
    dis = disagreements(labels)
    assert [d["item_id"] for d in dis] == ["q3"] and dis[0]["labels"] == {"ann1": "S", "ann2": "AS"}
    paths = write_agree_report(labels, tmp_path / "agree")
    assert paths["confusion_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "q3" in paths["disagreements"].read_text()
    assert "ann1:VA" in paths["confusion_csv"].read_text()


def test_label_table_round_trip(tmp_path: Path) -> None:
    labels = _labels()
    path = write_labels(labels, tmp_path / "labels.csv")
    assert read_labels(path) == labels


def _grid_labels(rows: list[tuple[str, ...]], raters: tuple[str, ...]) -> list[Label]:
    return [
        Label(item, rater, tag, "2026-01-01T00:00:00+00:00")
        for item, *tags in rows
        for rater, tag in zip(raters, tags)
        if tag
    ]


def test_single_tag_batch_is_undefined_not_perfect() -> None:
    # Everyone stamped "V": p_e = 1, so every chance-corrected statistic is 0/0.
    labels = _grid_labels([(f"q{i}", "V", "V") for i in range(5)], ("ann1", "ann2"))
    stats = agreement(labels)
    assert stats["cohen_kappa"] is None
    assert stats["fleiss_kappa"] is None and stats["krippendorff_alpha"] is None
    assert stats["observed_agreement"] == 1.0
    for key in ("cohen_kappa", "fleiss_kappa", "krippendorff_alpha"):
        assert "single tag V" in stats["undefined"][key]
    assert stats["cohen_kappa_pairs"]["ann1|ann2"]["observed_agreement"] == 1.0


def test_pairwise_mean_cohen_for_three_annotators() -> None:
    rows = [
        ("q1", "V", "V", "A"),
        ("q2", "A", "A", "A"),
        ("q3", "S", "V", "S"),
        ("q4", "V", "V", "V"),
    ]
    labels = _grid_labels(rows, ("a", "b", "c"))
    stats = agreement(labels)
    pairs = stats["cohen_kappa_pairs"]
    assert set(pairs) == {"a|b", "a|c", "b|c"}
    # a|b: p_o = 3/4; a = V,A,S,V b = V,A,V,V: p_e = V (2/4)(3/4) + A (1/4)(1/4) = 7/16
    # kappa = (12/16 - 7/16) / (9/16) = 5/9
    assert pairs["a|b"]["kappa"] == pytest.approx(5 / 9)
    mean = sum(p["kappa"] for p in pairs.values()) / 3
    assert stats["cohen_kappa"] == pytest.approx(mean)
    assert "mean of Cohen's kappa over 3 of 3" in stats["cohen_kappa_method"]


def test_a_tie_goes_to_adjudication_never_to_a_default() -> None:
    from annotation.agree import majority
    from annotation.labels import final_labels

    assert majority(["VA", "V"]) == (None, 0.5)
    assert majority(["V", "VA", "VA"]) == ("VA", pytest.approx(2 / 3))
    labels = _grid_labels([("q1", "VA", "V"), ("q2", "S", "S")], ("ann1", "ann2"))
    verified, ties = final_labels(labels)
    assert verified == {"q2": "S"} and ties == {"q1": {"ann1": "VA", "ann2": "V"}}
    dis = disagreements(labels)
    assert dis[0]["tie"] is True and dis[0]["majority"] is None
    # An adjudicator's label breaks the tie.
    verified, ties = final_labels([*labels, Label("q1", "adjudicator", "V", "2026-01-03")])
    assert verified["q1"] == "V" and ties == {}
