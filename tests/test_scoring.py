"""The shared scorer: real-looking model replies, table-driven."""

from __future__ import annotations

import pytest

from maple_bench.modality import VA, A
from maple_bench.schema import NONE_OPTION, Sample
from maple_bench.scoring import parse_answer, reward, score

OPTS = [
    "red circle, high tone",
    "red circle, low tone",
    "blue square, high tone",
    "blue square, low tone",
]
OPTS_NONE = [*OPTS, NONE_OPTION]

# (reply, options, expected index or None for invalid)
CASES: list[tuple[str, list[str], int | None]] = [
    # bare letters and brackets
    ("B", OPTS, 1),
    ("b", OPTS, 1),
    ("(C)", OPTS, 2),
    ("[D]", OPTS, 3),
    ("A.", OPTS, 0),
    ("  C  \n", OPTS, 2),
    ("**B**", OPTS, 1),
    ("`D`", OPTS, 3),
    # answer phrases
    ("The answer is (B).", OPTS, 1),
    ("The answer is B", OPTS, 1),
    ("Answer: C", OPTS, 2),
    ("answer: d", OPTS, 3),
    ("The correct answer is A: red circle, high tone.", OPTS, 0),
    ("Final answer: (D)", OPTS, 3),
    ("I would choose option C because the tone is high.", OPTS, 2),
    ("Option B", OPTS, 1),
    ("My choice is D.", OPTS, 3),
    ("The best answer would be B.", OPTS, 1),
    ("Based on the video and audio, the answer is C.", OPTS, 2),
    ("<think>maybe A? no, the tone is low</think> The answer is B.", OPTS, 1),
    ("The answer is B. The answer is B.", OPTS, 1),
    # leading letter with text
    ("B. red circle, low tone", OPTS, 1),
    ("(C) blue square, high tone", OPTS, 2),
    ("D) blue square, low tone", OPTS, 3),
    ("A: red circle, high tone", OPTS, 0),
    ("C - blue square, high tone", OPTS, 2),
    # option text
    ("red circle, low tone", OPTS, 1),
    ("Blue square, high tone.", OPTS, 2),
    ("It shows a blue square, low tone.", OPTS, 3),
    ("RED CIRCLE HIGH TONE", OPTS, 0),
    ("I think C", OPTS, 2),
    ("It must be D", OPTS, 3),
    # None option
    ("None of the above.", OPTS_NONE, 4),
    ("E", OPTS_NONE, 4),
    ("The answer is E.", OPTS_NONE, 4),
    ("It cannot be determined from the given inputs.", OPTS_NONE, 4),
    ("There is not enough information to answer.", OPTS_NONE, 4),
    ("None", OPTS_NONE, 4),
    (NONE_OPTION, OPTS_NONE, 4),
    ("The audio is not provided, so I can't tell.", OPTS_NONE, 4),
    # invalid: empty, out of range, ambiguous, off-topic, None phrase without a None option
    ("", OPTS, None),
    ("E", OPTS, None),
    ("The answer is F.", OPTS_NONE, None),
    ("A or B", OPTS, None),
    ("The answer is B or C.", OPTS, None),
    ("I don't know what this video is about.", OPTS, None),
    ("red circle", OPTS, None),  # matches two options equally: ambiguous
    ("None of the above.", OPTS, None),
    ("The answer is not A.", OPTS, None),
    ("The answer is not A, it is C.", OPTS, 2),
    ("I think the video shows a cat.", OPTS, None),
]


@pytest.mark.parametrize(("reply", "options", "expected"), CASES)
def test_parse_answer_table(reply: str, options: list[str], expected: int | None) -> None:
    assert parse_answer(reply, options) == expected


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40


def test_article_a_is_not_a_letter() -> None:
    opts = ["green triangle", "red circle", "blue square"]
    assert parse_answer("A red circle", opts) == 1
    assert parse_answer("I choose a blue square", opts) == 2


def test_longer_option_wins_over_its_substring() -> None:
    opts = ["red", "red circle", "blue"]
    assert parse_answer("It is a red circle.", opts) == 1
    assert parse_answer("red", opts) == 0


def _qa(**kw: object) -> Sample:
    base = dict(
        id="q1",
        video_id="v1",
        question="What shape and tone?",
        rmt=VA,
        options=tuple(OPTS_NONE),
        answer=OPTS[2],
    )
    base.update(kw)
    return Sample(**base)  # type: ignore[arg-type]


def test_score_and_reward_share_one_verdict() -> None:
    s = _qa()
    assert score(s, "The answer is C.").correct
    assert reward(s, "The answer is C.") == 1.0
    wrong = score(s, "B")
    assert not wrong.correct and not wrong.invalid and wrong.parsed_text == OPTS[1]
    assert reward(s, "B") == 0.0
    bad = score(s, "no idea")
    assert bad.invalid and not bad.correct and bad.parsed_index is None
    assert reward(s, "no idea", format_weight=0.1) == 0.0
    assert reward(s, "B", format_weight=0.1) == pytest.approx(0.1)
    assert reward(s, "C", format_weight=0.1) == pytest.approx(1.1)


def test_deficit_row_rewards_none() -> None:
    s = _qa(id="q1__A", presentation=A, answer=NONE_OPTION, none_reason="deficit")
    assert s.condition is not None and s.condition.value == "deficit"
    assert score(s, "E").correct
    assert score(s, "cannot be determined").correct
    assert not score(s, "C").correct


def test_caption_samples_are_refused_with_a_pointer() -> None:
    cap = Sample(
        id="c1", video_id="v1", question="Describe.", rmt=VA, task="caption", captions=("x",)
    )
    with pytest.raises(ValueError, match="caption"):
        score(cap, "a red circle")
