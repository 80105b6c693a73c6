"""SRT and WebVTT parsing edge cases, window clipping and joining."""

from __future__ import annotations

from pathlib import Path

import pytest

from maple_bench.media import (
    Cue,
    EmptyMediaError,
    MediaNotFoundError,
    SubtitleError,
    cues_text,
    parse_subtitles,
    read_subtitles,
)
from tests.fixtures.media import SUB_CUES


@pytest.mark.parametrize("kind", ["srt_file", "vtt_file"])
def test_fixture_files_round_trip(kind: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(kind)
    cues = parse_subtitles(path)
    assert [(c.start, c.end, c.text) for c in cues] == list(SUB_CUES)


def test_read_subtitles_clips_and_joins(srt_file: Path) -> None:
    assert read_subtitles(srt_file) == "Hello there.\nThe red light turns green.\nGoodbye."
    # a cue overlapping the window is kept whole; touching the edge is not overlapping
    assert read_subtitles(srt_file, start=0.5, end=1.2) == "Hello there."
    assert read_subtitles(srt_file, start=1.0, end=2.6) == "The red light turns green.\nGoodbye."
    assert read_subtitles(srt_file, start=3.0) == ""


def test_srt_with_bom_crlf_tags_and_no_trailing_newline() -> None:
    text = (
        "\ufeff1\r\n00:00:01,500 --> 00:00:03,000\r\n<i>Hello</i> &amp; {\\an8}welcome\r\n"
        "second line\r\n\r\n\r\n2\r\n00:01:00,000 --> 00:01:02,5\r\nLast"
    )
    cues = parse_subtitles(text)
    assert cues == [
        Cue(1.5, 3.0, "Hello & welcome\nsecond line"),
        Cue(60.0, 62.5, "Last"),
    ]


def test_vtt_header_notes_styles_settings_and_ids() -> None:
    text = (
        "WEBVTT - a title\nKind: captions\nLanguage: en\n\n"
        "NOTE this is a comment\nspanning lines --> with an arrow\n\n"
        "STYLE\n::cue { color: red }\n\n"
        "intro\n00:05.250 --> 00:07.000 align:start line:0 position:10%\n"
        "<v Anna>Good <b>morning</b>.</v>\n\n"
        "01:00:00.000 --> 01:00:01.000\n<c.loud>Later</c>&nbsp;on\n"
    )
    cues = parse_subtitles(text)
    assert cues == [Cue(5.25, 7.0, "Good morning."), Cue(3600.0, 3601.0, "Later on")]


def test_cr_only_line_ends_and_empty_cues_dropped() -> None:
    text = "1\r00:00:00,000 --> 00:00:01,000\rA\r\r2\r00:00:01,000 --> 00:00:02,000\r<i></i>\r"
    assert parse_subtitles(text) == [Cue(0.0, 1.0, "A")]


def test_rolling_duplicates_collapsed_and_order_kept() -> None:
    cues = [Cue(0, 1, "same"), Cue(1, 2, "same"), Cue(2, 3, "other\n  text"), Cue(3, 4, "same")]
    assert cues_text(cues) == "same\nother text\nsame"


def test_bad_timing_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.srt"
    path.write_text("1\n00:00:01,000 --> later\nhi\n")
    with pytest.raises(SubtitleError) as info:
        parse_subtitles(path)
    assert "bad.srt" in str(info.value) and "line 2" in str(info.value)
    path.write_text("1\nno timing here\n")
    with pytest.raises(SubtitleError, match="line 1: expected a timing line"):
        parse_subtitles(path)
    path.write_text("1\n00:00:05,000 --> 00:00:01,000\nbackwards\n")
    with pytest.raises(SubtitleError, match="ends .* before it starts"):
        parse_subtitles(path)


def test_missing_and_empty_subtitle_files(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError) as info:
        read_subtitles(tmp_path / "none.vtt")
    assert "none.vtt" in str(info.value)
    (tmp_path / "blank.srt").write_text("\n\n")
    with pytest.raises(EmptyMediaError) as info2:
        read_subtitles(tmp_path / "blank.srt")
    assert "blank.srt" in str(info2.value)


def test_legacy_cp1252_and_utf16(tmp_path: Path) -> None:
    body = "1\n00:00:00,000 --> 00:00:01,000\ncafé\n"
    (tmp_path / "a.srt").write_bytes(body.encode("cp1252"))
    (tmp_path / "b.srt").write_bytes(body.encode("utf-16"))
    assert read_subtitles(tmp_path / "a.srt") == "café"
    assert read_subtitles(tmp_path / "b.srt") == "café"
