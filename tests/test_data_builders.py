"""The builders' rules (ARCHITECTURE.md section 2) on hand-made questions, in memory."""

from __future__ import annotations

from collections import Counter

import pytest

from maple_bench.data.builders import (
    base_questions,
    build_caption,
    build_qa_plus,
    qa_plus_table,
    replaced_rows,
)
from maple_bench.data.splits import assign_splits
from maple_bench.modality import ALL_TAGS, TAG_NAMES, Condition, parse_tag
from maple_bench.schema import NONE_OPTION, Sample, SchemaError, samples_to_table

OPTIONS = ("red", "blue", "green", "yellow")


def make_questions(n: int, *, videos: int | None = None) -> list[Sample]:
    """``n`` exact questions cycling through the 7 tags and the 4 answers."""
    return [
        Sample(
            id=f"q{i:04d}",
            video_id=f"v{i % (videos or n):04d}",
            question=f"Which colour is thing {i}?",
            rmt=TAG_NAMES[i % 7],
            options=OPTIONS,
            answer=OPTIONS[i % 4],
        )
        for i in range(n)
    ]


def make_captions(videos: int) -> list[Sample]:
    return [
        Sample(
            id=f"c{v}_{t}",
            video_id=f"v{v}",
            question="Describe.",
            rmt=t,
            task="caption",
            captions=(f"video {v} seen through {t}",),
        )
        for v in range(videos)
        for t in TAG_NAMES
    ]


def test_each_question_appears_under_all_seven_presentations() -> None:
    qs = make_questions(14)
    rows = build_qa_plus(qs, seed=0)
    assert len(rows) == 7 * len(qs)
    per_q = Counter(r.question_id for r in rows)
    assert set(per_q) == {q.id for q in qs} and set(per_q.values()) == {7}
    for q in qs:
        mine = [r for r in rows if r.question_id == q.id]
        assert [r.shown.name for r in mine] == list(TAG_NAMES)
        assert [r.id for r in mine] == [f"{q.id}__{t}" for t in TAG_NAMES]


@pytest.mark.parametrize(
    ("k", "exact", "superset", "deficit"), [(1, 1, 3, 3), (2, 1, 1, 5), (3, 1, 0, 6)]
)
def test_condition_counts_per_rmt_size(k: int, exact: int, superset: int, deficit: int) -> None:
    # hand count for |R| = k: 1 exact, 2^(3-k) - 1 superset, 7 - 2^(3-k) deficit
    assert (superset, deficit) == (2 ** (3 - k) - 1, 7 - 2 ** (3 - k))
    rows = build_qa_plus(make_questions(70), seed=3)
    for tag in (t for t in ALL_TAGS if len(t) == k):
        qids = {r.question_id for r in rows if r.rmt == tag}
        assert qids
        for qid in qids:
            c = Counter(r.condition for r in rows if r.question_id == qid)
            want = {
                Condition.EXACT: exact,
                Condition.SUPERSET: superset,
                Condition.DEFICIT: deficit,
            }
            assert c == Counter({k: v for k, v in want.items() if v})


def test_none_rules() -> None:
    qs = {q.id: q for q in make_questions(210)}
    rows = build_qa_plus(list(qs.values()), seed=5, none_fraction=0.3)
    for r in rows:
        q = qs[r.question_id]
        assert r.options[-1] == NONE_OPTION and r.has_none_option
        if r.condition is Condition.DEFICIT:
            assert r.answer == NONE_OPTION and r.none_reason == "deficit"
            assert r.options == q.options + (NONE_OPTION,)
        elif r.none_reason == "replaced":
            assert r.answer == NONE_OPTION
            assert q.answer not in r.options  # the original correct option is removed
            assert r.options == tuple(o for o in q.options if o != q.answer) + (NONE_OPTION,)
        else:
            assert r.none_reason is None and r.answer == q.answer
            assert r.options == q.options + (NONE_OPTION,)
    reasons = Counter(r.none_reason for r in rows)
    assert reasons["replaced"] > 0 and reasons[None] > 0


@pytest.mark.parametrize(("fraction", "seed"), [(0.25, 0), (0.25, 17), (0.1, 1), (0.5, 2)])
def test_replaced_fraction_within_three_points_on_1000_questions(
    fraction: float, seed: int
) -> None:
    table = qa_plus_table(make_questions(1000, videos=200), seed=seed, none_fraction=fraction)
    cols = table.select(["condition", "none_reason"]).to_pydict()
    eligible = [r for c, r in zip(cols["condition"], cols["none_reason"]) if c != "deficit"]
    # exact + superset rows per question: 4 for V/A/S, 2 for VA/VS/AS, 1 for VAS;
    # 1000 questions = 142 full tag cycles (19 rows each) + V, A, S, VA, VS, AS
    assert len(eligible) == 142 * 19 + (4 + 4 + 4 + 2 + 2 + 2)
    share = eligible.count("replaced") / len(eligible)
    assert abs(share - fraction) <= 0.03
    # the selection takes exactly round(fraction * n) rows, so it is in fact exact
    assert eligible.count("replaced") == round(fraction * len(eligible))


def test_replaced_rows_is_seeded() -> None:
    ids = [f"r{i}" for i in range(100)]
    assert replaced_rows(ids, seed=1, none_fraction=0.2) == replaced_rows(
        ids[::-1], seed=1, none_fraction=0.2
    )
    assert replaced_rows(ids, seed=1, none_fraction=0.2) != replaced_rows(
        ids, seed=2, none_fraction=0.2
    )
    assert replaced_rows(ids, seed=1, none_fraction=0.0) == set()
    with pytest.raises(ValueError):
        replaced_rows(ids, seed=1, none_fraction=1.5)


def test_same_seed_identical_different_seed_different() -> None:
    qs = make_questions(100)
    a = qa_plus_table(qs, seed=11)
    assert a.equals(qa_plus_table(qs, seed=11))
    b = qa_plus_table(qs, seed=12)
    assert not a.equals(b)
    assert a.column("id").equals(b.column("id"))  # same rows, different replacements


def test_table_and_sample_paths_agree() -> None:
    qs = make_questions(35)
    assert samples_to_table(build_qa_plus(qs, seed=4)).equals(qa_plus_table(qs, seed=4))


def test_base_questions_fold_a_qa_plus_build_back() -> None:
    qs = make_questions(28)
    rows = build_qa_plus(qs, seed=9, none_fraction=0.5)
    assert base_questions(rows) == qs


def test_base_questions_needs_a_content_answer() -> None:
    q = make_questions(1)[0]
    rows = build_qa_plus([q], seed=0, none_fraction=1.0)
    # all rows answer None: the option missing from a replaced row is the answer
    assert base_questions(rows) == [q]
    rows = [r for r in rows if r.condition is not Condition.DEFICIT]
    with pytest.raises(SchemaError, match="original answer cannot be recovered"):
        base_questions(rows)


def test_qa_plus_refuses_questions_that_already_have_none() -> None:
    q = make_questions(1)[0].replace(options=("red", NONE_OPTION), answer="red")
    with pytest.raises(SchemaError, match="already has the None option"):
        build_qa_plus([q])


def test_captions_seven_per_video_and_sorted() -> None:
    caps = make_captions(5)
    rows = build_caption(caps[::-1])
    assert len(rows) == 35
    assert set(Counter(r.video_id for r in rows).values()) == {7}
    assert [r.rmt.name for r in rows[:7]] == list(TAG_NAMES)
    assert {(r.video_id, r.rmt.name) for r in rows} == {
        (f"v{v}", t) for v in range(5) for t in TAG_NAMES
    }


def test_caption_duplicate_video_tag_is_an_error() -> None:
    caps = make_captions(1)
    dup = caps[0].replace(id="other")
    with pytest.raises(SchemaError, match=r"two caption rows for tag V .*'c0_V'.*'other'"):
        build_caption([*caps, dup])


def test_splits_are_disjoint_by_video_and_seeded() -> None:
    qs = make_questions(400, videos=80)
    a = assign_splits(qs, [False] * len(qs), seed=1, test_fraction=0.5)
    split_of = {}
    for s in a:
        assert split_of.setdefault(s.video_id, s.split) == s.split
    share = sum(v == "test" for v in split_of.values()) / len(split_of)
    assert 0.3 < share < 0.7
    assert a == assign_splits(qs, [False] * len(qs), seed=1, test_fraction=0.5)
    assert a != assign_splits(qs, [False] * len(qs), seed=2, test_fraction=0.5)
    rows = build_qa_plus(a, seed=0)
    assert {r.split for r in rows if r.video_id == "v0000"} == {split_of["v0000"]}


def test_given_splits_are_kept_but_must_not_share_videos() -> None:
    qs = make_questions(4)
    given = [qs[0].replace(split="train"), qs[1].replace(split="dev"), qs[2], qs[3]]
    out = assign_splits(given, [True, True, False, False], seed=0, test_fraction=1.0)
    assert [s.split for s in out] == ["train", "dev", "test", "test"]
    qs = make_questions(4, videos=2)
    clash = [qs[0].replace(split="train"), qs[2].replace(split="test")]  # both video v0000
    with pytest.raises(SchemaError) as e:
        assign_splits(clash, [True, True], seed=0, file="qa.jsonl")
    assert "v0000" in str(e.value) and "q0002" in str(e.value) and "qa.jsonl" in str(e.value)


def test_tags_parse_in_builder_inputs() -> None:
    assert {q.rmt for q in make_questions(7)} == set(ALL_TAGS)
    assert parse_tag("audio+video") == make_questions(4)[3].rmt
