"""The shared scorer: real-looking model replies, table-driven."""

from __future__ import annotations

import pytest

from maple_bench.modality import VA, A
from maple_bench.schema import NONE_OPTION, Sample
from maple_bench.scoring import parse_answer, parse_reply, reward, score
from tests.scoring_cases import CASES as LABELLED
from tests.scoring_cases import OPTION_SETS

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


def _label_index(label: str) -> int | None:
    return None if label == "-" else ord(label) - ord("A")


@pytest.mark.parametrize(
    ("reply", "key", "label", "note"), LABELLED, ids=[f"{i}:{c[1]}" for i, c in enumerate(LABELLED)]
)
def test_labelled_replies(reply: str, key: str, label: str, note: str) -> None:
    """Each reply is read as the grader's label (tests/scoring_cases.py says why)."""
    options = OPTION_SETS[key]
    got = parse_reply(reply, options)
    assert got.index == _label_index(label), f"{note} (rule {got.rule})"


def test_labelled_table_covers_every_failure_class() -> None:
    assert len(LABELLED) >= 200
    assert len({c[0] for c in LABELLED}) >= 190  # mostly distinct replies
    for cls in ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"):
        n = sum(1 for c in LABELLED if c[3].startswith(cls) or f"/{cls}" in c[3])
        assert n >= 8, f"class {cls} has only {n} cases"
    assert {c[1] for c in LABELLED} == set(OPTION_SETS)
    sizes = {len(o) for o in OPTION_SETS.values()}
    assert min(sizes) == 4 and max(sizes) == 8
    invalid = [c for c in LABELLED if c[2] == "-"]
    with_none = [c for c in LABELLED if NONE_OPTION in OPTION_SETS[c[1]] and c[2] != "-"
                 and OPTION_SETS[c[1]][ord(c[2]) - 65] == NONE_OPTION]  # fmt: skip
    assert len(invalid) >= 60 and len(with_none) >= 30


def test_no_invalid_or_none_reply_is_read_as_a_content_option() -> None:
    """The worst error: a grader's invalid/None read as a content option. Zero on the table."""
    worst = []
    for reply, key, label, _ in LABELLED:
        options = OPTION_SETS[key]
        idx = parse_answer(reply, options)
        grader_none = label == "-" or options[ord(label) - 65] == NONE_OPTION
        if grader_none and idx is not None and options[idx] != NONE_OPTION:
            worst.append((reply, label, idx))
    assert worst == []


def test_rule_names_say_which_rule_decided() -> None:
    opts = OPTION_SETS["shape"]
    assert parse_reply("B", opts).rule == "whole-letter"
    assert parse_reply("Option A is wrong. Answer: B", opts).rule == "answer-statement"
    assert parse_reply("B. Wait, no, C.", opts).rule == "self-correction"
    assert parse_reply("A or B", opts).rule.endswith("hedge")
    assert parse_reply("<think>unfinished", opts).rule == "empty"


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
