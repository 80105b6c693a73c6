"""Tolerant column mapping and value parsing (maple_bench.data.columns / records)."""

from __future__ import annotations

import pytest

from maple_bench.data.columns import (
    parse_column_map,
    parse_list,
    resolve_answer,
    resolve_columns,
    strip_letter_prefixes,
)
from maple_bench.data.errors import ColumnMapError
from maple_bench.data.records import caption_rows, qa_rows
from maple_bench.modality import AS, VA, VAS
from maple_bench.schema import NONE_OPTION, SchemaError


def test_auto_mapping_recognises_alternative_names() -> None:
    cols = ["qid", "vid", "query", "choices", "gt", "modality", "transcript", "difficulty"]
    cmap = resolve_columns(cols, kind="qa")
    assert cmap.fields["question_id"] == "qid"
    assert cmap.fields["video_id"] == "vid"
    assert cmap.fields["question"] == "query"
    assert cmap.fields["options"] == "choices"
    assert cmap.fields["answer"] == "gt"
    assert cmap.fields["rmt"] == "modality"
    assert cmap.fields["subtitle_text"] == "transcript"
    assert "presentation" not in cmap.fields  # "modality" was taken by the rmt
    assert cmap.extra_columns == ("difficulty",)


def test_modality_becomes_presentation_when_rmt_exists() -> None:
    cmap = resolve_columns(["id", "video_id", "question", "options", "answer", "rmt", "Modality"])
    assert cmap.fields["rmt"] == "rmt"
    assert cmap.fields["presentation"] == "Modality"


def test_separate_option_columns_are_found_in_order() -> None:
    cols = ["id", "video", "question", "option_c", "option_a", "option_b", "label", "tag"]
    cmap = resolve_columns(cols)
    assert cmap.option_columns == ("option_a", "option_b", "option_c")
    assert cmap.fields["video_id"] == "video"
    rows = [
        {
            "id": "x",
            "video": "v1.mp4",
            "question": "q?",
            "option_a": "red",
            "option_b": "blue",
            "option_c": None,
            "label": "B",
            "tag": "audio+subtitles",
        }
    ]
    (s,) = qa_rows(rows, cmap, file="f.parquet").samples
    assert s.options == ("red", "blue")  # a null third option is skipped
    assert s.answer == "blue"
    assert s.rmt == AS
    assert s.video_id == "v1" and s.media.video == "v1.mp4"  # a file name as video id is split


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("blue", "blue"),
        ("BLUE", "blue"),
        ("B", "blue"),
        ("(b)", "blue"),
        ("B.", "blue"),
        (1, "blue"),
        ("1", "blue"),
        (2.0, "green"),
        ("C. green", "green"),
    ],
)
def test_answer_as_text_letter_or_index(value: object, expected: str) -> None:
    assert resolve_answer(value, ["red", "blue", "green"], row_id="r", column="gt") == expected


@pytest.mark.parametrize("value", ["purple", 7, "", None, "D"])
def test_answer_not_among_options_names_row_and_column(value: object) -> None:
    with pytest.raises(SchemaError) as e:
        resolve_answer(value, ["red", "blue", "green"], row_id="q9", column="gt")
    assert "q9" in str(e.value) and "gt" in str(e.value)


def test_option_lists_in_many_spellings() -> None:
    assert parse_list('["a", "b"]', row_id="r", column="c") == ["a", "b"]
    assert parse_list("['a', 'b']", row_id="r", column="c") == ["a", "b"]
    assert parse_list(["a", None, "b"], row_id="r", column="c") == ["a", "b"]
    assert parse_list("a\nb\n", row_id="r", column="c") == ["a", "b"]
    assert strip_letter_prefixes(["A. red", "B) blue", "(C) green"]) == ["red", "blue", "green"]
    assert strip_letter_prefixes(["A. red", "C. blue"]) == ["A. red", "C. blue"]  # not in order
    with pytest.raises(SchemaError, match="column 'opts'"):
        parse_list("[unclosed", row_id="r", column="opts")


def test_override_maps_fields() -> None:
    cmap = resolve_columns(
        ["q", "v", "opts", "right", "need"],
        override="question=q,video_id=v,options=opts,answer=right,rmt=need",
    )
    assert cmap.fields == {
        "question": "q",
        "video_id": "v",
        "options": "opts",
        "answer": "right",
        "rmt": "need",
    }


def test_override_with_option_columns_and_unmapping() -> None:
    cols = ["id", "video_id", "question", "x1", "x2", "x3", "answer", "rmt", "video"]
    cmap = resolve_columns(cols, override={"options": "x1|x2|x3", "video": ""})
    assert cmap.option_columns == ("x1", "x2", "x3")
    assert "video" not in cmap.fields


def test_missing_required_mapping_lists_columns_found() -> None:
    with pytest.raises(ColumnMapError) as e:
        resolve_columns(["vid", "query", "choices", "modality", "notes"], file="split.parquet")
    msg = str(e.value)
    assert "answer" in msg and "split.parquet" in msg
    assert "Columns found: vid, query, choices, modality, notes" in msg
    assert "--column-map answer=<column>" in msg


def test_conflicting_column_maps_are_errors() -> None:
    cols = ["id", "video_id", "question", "options", "answer", "rmt"]
    with pytest.raises(ColumnMapError, match=r"both 'question' and 'answer' to column 'question'"):
        resolve_columns(cols, override="question=question,answer=question")
    with pytest.raises(ColumnMapError, match=r"no column 'gold'.*Columns found: id, video_id"):
        resolve_columns(cols, override="answer=gold")
    with pytest.raises(ColumnMapError, match="unknown field 'answr'"):
        parse_column_map("answr=gt")
    with pytest.raises(ColumnMapError, match="not FIELD=COLUMN"):
        parse_column_map("question")


def test_qa_plus_style_rows_use_our_none_option() -> None:
    cmap = resolve_columns(
        ["question_id", "video_id", "question", "options", "answer", "rmt", "presentation"]
    )
    rows = [
        {
            "question_id": "q1",
            "video_id": "v",
            "question": "q?",
            "options": ["red", "blue", "None of the above"],
            "answer": "C",
            "rmt": "VA",
            "presentation": "V",
        }
    ]
    (s,) = qa_rows(rows, cmap, file="f").samples
    assert s.id == "q1__V" and s.rmt == VA
    assert s.options[-1] == NONE_OPTION and s.answer == NONE_OPTION
    assert s.none_reason == "deficit"
    assert s.metadata["source_none_option"] == "None of the above"


def test_unknown_tag_error_names_row_and_source_column() -> None:
    cmap = resolve_columns(["id", "vid", "question", "choices", "answer", "modality"])
    rows = [
        {
            "id": "good",
            "vid": "v",
            "question": "q?",
            "choices": ["a", "b"],
            "answer": "a",
            "modality": "VAS",
        },
        {
            "id": "bad7",
            "vid": "v",
            "question": "q?",
            "choices": ["a", "b"],
            "answer": "a",
            "modality": "smell",
        },
    ]
    with pytest.raises(SchemaError) as e:
        qa_rows(rows, cmap, file="ann.csv")
    msg = str(e.value)
    assert "ann.csv" in msg and "bad7" in msg and "'modality'" in msg


def test_caption_rows_accept_strings_or_lists() -> None:
    cmap = resolve_columns(["video_id", "modality", "description"], kind="caption")
    rows = [
        {"video_id": "v", "modality": "VAS", "description": "a dog barks"},
        {"video_id": "v", "modality": "A", "description": '["barking", "a dog"]'},
    ]
    a, b = caption_rows(rows, cmap, file="c").samples
    assert a.rmt == VAS and a.captions == ("a dog barks",) and a.id == "v__VAS"
    assert b.captions == ("barking", "a dog") and b.task == "caption"
