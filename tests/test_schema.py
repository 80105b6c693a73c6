"""Sample records: validation that names the row and field, and lossless Parquet round trips."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from maple_bench.modality import VA, VAS, A, Condition, S, V
from maple_bench.schema import (
    ARROW_SCHEMA,
    NONE_OPTION,
    MediaRef,
    Sample,
    SchemaError,
    features,
    sample_from_row,
    sample_to_row,
    samples_from_table,
    samples_to_table,
    validate_samples,
)

OPTS = ("red circle", "blue square", "green triangle")


def qa(**kw: object) -> Sample:
    base: dict[str, object] = dict(
        id="q1",
        video_id="vid1",
        question="What is shown?",
        rmt="V",
        options=OPTS,
        answer="blue square",
    )
    base.update(kw)
    return Sample(**base)  # type: ignore[arg-type]


def rich_samples() -> list[Sample]:
    return [
        qa(),
        qa(
            id="q2__A",
            question_id="q2",
            rmt="VA",
            presentation="A",
            options=(*OPTS, NONE_OPTION),
            answer=NONE_OPTION,
            none_reason="deficit",
            media=MediaRef(
                video="vid1.mp4", audio="vid1.wav", subtitle="vid1.srt", start=1.5, end=3.0
            ),
            subtitle_text="hello there",
            split="train",
            metadata={"source": "synth", "seed": 3, "nested": {"k": [1, 2]}},
        ),
        Sample(
            id="c1__VS",
            video_id="vid2",
            question="Describe the clip.",
            rmt="VS",
            task="caption",
            captions=("a red circle moves", "a circle"),
        ),
    ]


def test_defaults_and_derived_fields() -> None:
    s = qa()
    assert s.presentation == V and s.condition is Condition.EXACT
    assert s.question_id == "q1" and s.answer_index == 1 and s.answer_letter == "B"
    d = s.present_as("VAS")
    assert d.presentation == VAS and d.condition is Condition.SUPERSET
    assert qa(rmt="VA", presentation="A").condition is Condition.DEFICIT


def test_parquet_round_trip_is_lossless(tmp_path: Path) -> None:
    samples = rich_samples()
    table = samples_to_table(samples)
    assert table.schema.equals(ARROW_SCHEMA, check_metadata=False)
    path = tmp_path / "s.parquet"
    pq.write_table(table, path)
    back = samples_from_table(pq.read_table(path))
    assert back == samples
    again = samples_to_table(back)
    assert again.equals(table)


def test_datasets_features_match_the_arrow_schema() -> None:
    feats = features()
    assert list(feats) == ARROW_SCHEMA.names
    assert feats.arrow_schema.field("options").type == ARROW_SCHEMA.field("options").type


def test_datasets_round_trip(tmp_path: Path) -> None:
    from datasets import Dataset

    samples = rich_samples()
    ds = Dataset.from_list([sample_to_row(s) for s in samples], features=features())
    assert [sample_from_row(r) for r in ds] == samples


@pytest.mark.parametrize(
    ("changes", "field", "needle"),
    [
        ({"rmt": "VX"}, "rmt", "not a known stream"),
        ({"rmt": ""}, "rmt", "names no modality"),
        ({"answer": "purple"}, "answer", "not among the options"),
        ({"question": "  "}, "question", "empty question"),
        ({"options": ("only one",), "answer": "only one"}, "options", "at least two"),
        ({"options": ("x", "X"), "answer": "x"}, "options", "same text"),
        ({"condition": "exact", "presentation": "A", "rmt": "V"}, "condition", "contradicts"),
        ({"none_reason": "maybe"}, "none_reason", "unknown none_reason"),
        ({"none_reason": "deficit"}, "none_reason", "not the None option"),
        ({"task": "vqa"}, "task", "unknown task"),
        ({"metadata": {"x": object()}}, "metadata", "JSON"),
    ],
)
def test_validation_names_row_and_field(
    changes: dict[str, object], field: str, needle: str
) -> None:
    with pytest.raises(SchemaError) as err:
        qa(id="row-7", **changes)
    assert err.value.row_id == "row-7" and err.value.field == field
    assert "row-7" in str(err.value) and field in str(err.value) and needle in str(err.value)


def test_deficit_rows_may_keep_a_content_answer() -> None:
    # QA+ builds answer None on deficit rows, but the record itself allows a content target:
    # annotation ablations ask "does this presentation suffice?" with the original answer.
    s = qa(rmt="VA", presentation=S, options=(*OPTS, NONE_OPTION), answer="red circle")
    assert s.condition is Condition.DEFICIT and s.answer_index == 0


def test_duplicate_ids_are_refused_with_file_and_rows() -> None:
    with pytest.raises(SchemaError) as err:
        validate_samples([qa(), qa(question="Again?")], file="qa.parquet")
    msg = str(err.value)
    assert "qa.parquet" in msg and "'q1'" in msg and "duplicate" in msg and "rows 0 and 1" in msg


def test_bad_row_from_storage_names_the_file() -> None:
    row = sample_to_row(qa(id="r9"))
    row["rmt"] = "smell"
    with pytest.raises(SchemaError) as err:
        sample_from_row(row, file="data/test.parquet")
    msg = str(err.value)
    assert msg.startswith("file data/test.parquet, row id 'r9', column 'rmt'")
    row = sample_to_row(qa(id="r10"))
    row["metadata"] = "{not json"
    with pytest.raises(SchemaError, match="metadata is not valid JSON"):
        sample_from_row(row)


def test_blind_presentation_is_stored_as_none() -> None:
    s = qa(
        presentation="none",
        rmt=A,
        options=(*OPTS, NONE_OPTION),
        answer=NONE_OPTION,
        none_reason="deficit",
    )
    row = sample_to_row(s)
    assert row["presentation"] == "none" and sample_from_row(row) == s
    assert sample_from_row(sample_to_row(qa(rmt=VA, presentation=VA))).rmt == VA
