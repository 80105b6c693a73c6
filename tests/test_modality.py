"""The modality algebra: tag parsing, subset relations, and presentation conditions."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maple_bench.modality import (
    ALL_TAGS,
    AS,
    BLIND,
    MULTI_TAGS,
    TAG_NAMES,
    UNI_TAGS,
    VA,
    VAS,
    VS,
    A,
    Condition,
    ModalityParseError,
    S,
    V,
    condition,
    parse_condition,
    parse_tag,
    presentations_by_condition,
)


def test_seven_tags_in_canonical_order() -> None:
    assert TAG_NAMES == ("V", "A", "S", "VA", "VS", "AS", "VAS")
    assert len(set(ALL_TAGS)) == 7
    assert UNI_TAGS + MULTI_TAGS == ALL_TAGS
    assert [t.sort_key for t in ALL_TAGS] == list(range(7))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VA", VA),
        ("AV", VA),
        ("av", VA),
        ("video+audio", VA),
        ("audio, video", VA),
        ("Video & Subtitles", VS),
        ("audio-subtitle", AS),
        (["S", "V"], VS),
        (("A",), A),
        ("SAV", VAS),
        ("video+audio+subtitles", VAS),
        ("visual", V),
        ("transcript", S),
        ("V,A,S", VAS),
        ("['V', 'S']", VS),
        (VA, VA),
    ],
)
def test_tolerant_parsing(text: object, expected: object) -> None:
    assert parse_tag(text) == expected


@pytest.mark.parametrize("bad", ["X", "VX", "smell", "video+smell", 3, "VV", None])
def test_parse_errors_are_clear(bad: object) -> None:
    with pytest.raises(ModalityParseError) as err:
        parse_tag(bad)
    msg = str(err.value)
    assert repr(bad) in msg or str(bad) in msg
    assert "V" in msg and "VAS" in msg  # tells the user what is accepted


def test_empty_needs_explicit_blind() -> None:
    with pytest.raises(ModalityParseError, match="no modality"):
        parse_tag("")
    assert parse_tag("none", allow_blind=True) == BLIND
    assert BLIND.is_blind and str(BLIND) == "none"


def test_subset_relations() -> None:
    assert V <= VA <= VAS and not VA <= VS
    assert VA < VAS and not VA < VA
    assert (VA | S) == VAS and (VA & VS) == V and (VAS - A) == VS
    assert "V" in VA and "S" not in VA


def test_condition_examples() -> None:
    assert condition(VA, VA) is Condition.EXACT
    assert condition(VA, VAS) is Condition.SUPERSET
    assert condition(VA, V) is Condition.DEFICIT
    assert condition(VA, AS) is Condition.DEFICIT
    assert parse_condition("Deficit") is Condition.DEFICIT
    with pytest.raises(ModalityParseError, match="exact, superset, deficit"):
        parse_condition("partial")


@given(st.sampled_from(ALL_TAGS))
def test_condition_counts_follow_the_brief(rmt) -> None:  # type: ignore[no-untyped-def]
    # For |R| = k: 1 exact, 2^(3-k) - 1 superset, 7 - 2^(3-k) deficit presentations.
    k = len(rmt)
    groups = presentations_by_condition(rmt)
    assert len(groups[Condition.EXACT]) == 1
    assert len(groups[Condition.SUPERSET]) == 2 ** (3 - k) - 1
    assert len(groups[Condition.DEFICIT]) == 7 - 2 ** (3 - k)


@given(st.sampled_from(ALL_TAGS), st.sampled_from(ALL_TAGS))
def test_condition_agrees_with_set_algebra(rmt, pres) -> None:  # type: ignore[no-untyped-def]
    c = condition(rmt, pres)
    assert (c is Condition.EXACT) == (rmt == pres)
    assert (c is Condition.DEFICIT) == (not rmt <= pres)


@given(st.permutations(["V", "A", "S"]), st.integers(min_value=1, max_value=3), st.booleans())
def test_parse_is_order_and_case_insensitive(letters, k, lower) -> None:  # type: ignore[no-untyped-def]
    text = "".join(letters[:k])
    text = text.lower() if lower else text
    tag = parse_tag(text)
    assert len(tag) == k and parse_tag(tag.name) == tag
    assert parse_tag(list(text)) == tag


def test_every_pair_has_exactly_one_condition() -> None:
    for rmt, pres in itertools.product(ALL_TAGS, ALL_TAGS):
        assert condition(rmt, pres) in set(Condition)
