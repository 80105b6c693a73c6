"""Terminal table and PNG charts of a results dict."""

from __future__ import annotations

from evaluators.report import format_comparison, format_table, plot_results
from evaluators.results import build_results
from tests.test_metrics import qa_log, qa_plus_log


def test_table_has_tag_rows_with_ci():
    text = format_table(build_results(qa_log(), task="maple_qa", n_bootstrap=100))
    lines = text.splitlines()
    header = next(ln for ln in lines if ln.startswith("RMT"))
    assert "95% CI" in header
    vas = next(ln for ln in lines if ln.startswith("VAS "))
    assert " 75.0 [" in vas  # acc(VAS) = 3/4, shown x100 with its interval
    assert "avg_acc " in text and "57.1" in text  # 4/7
    assert "condition" not in text  # no QA+ rows


def test_table_qa_plus_and_missing_tags():
    text = format_table(build_results(qa_plus_log(), task="qp", n_bootstrap=100))
    s_row = next(ln for ln in text.splitlines() if ln.startswith("S "))
    assert s_row.split()[1] == "-"  # missing tag: a dash, never 0
    assert any(ln.startswith("superset ") and "75.0" in ln for ln in text.splitlines())
    assert "superset_robustness      1.500" in text  # a ratio, not x100


def test_charts_are_pngs(tmp_path):
    paths = plot_results(build_results(qa_plus_log(), task="qp", n_bootstrap=50), tmp_path)
    assert [p.name for p in paths] == ["qp_by_tag.png", "qp_by_condition.png"]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert sorted(x.name for x in tmp_path.iterdir()) == ["qp_by_condition.png", "qp_by_tag.png"]
    only_tag = plot_results(build_results(qa_log(), task="q", n_bootstrap=10), tmp_path / "q")
    assert [p.name for p in only_tag] == ["q_by_tag.png"]


def test_format_comparison():
    text = format_comparison(
        {"metric": "avg_acc", "a": 0.5, "b": 0.6, "difference": 0.1, "ci_low": 0.02,
         "ci_high": 0.18, "p_value": 0.012, "gap_a": 0.2, "gap_b": 0.1, "gap_reduction": 0.5,
         "n_items": 100, "n_clusters": 20, "n_bootstrap": 1000, "n_permutations": 1000, "seed": 0}
    )  # fmt: skip
    assert "B-A +10.00 [+2.00, +18.00]" in text and "p = 0.0120" in text
    assert "gap_reduction 0.500" in text
