"""Answer slots: what follows "Answer:", "I choose", an opening letter, and so on.

A slot holds a letter (checked against the option text printed after it), an ordinal, a None
phrase or an option's text. :mod:`maple_bench.scoring.parse` decides which slots are answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from maple_bench.scoring.text import (
    echo_agrees,
    equal_option,
    is_none_phrase,
    normalize,
    options_in,
)

NONE = -1
"""Slot value: the reply answers the None option."""
HEDGE = -2
"""Slot value: the reply offers several answers or contradicts its own option text."""
OUT = -3
"""Slot value: a letter or ordinal outside the options."""

CONNECTOR = (
    r"(?:or|and|nor|is|was|seems|looks|would|should|because|since|as|then|vs|which|being|"
    r"seems|appears|matches|fits|describes|for|with|in|from|due|given|based|option|choice|"
    r"answer|correct|right|here|only|rather|not|but|the)"
)
_LETTER = re.compile(
    r"""(?P<pre>(?i:option|choice|letter|answer)\s+)?([("\[{']?)\s*([A-Za-z])\s*([)"\]}']?)"""
    rf"""(?=\s*$|\s*[.,;:!)\]}}\n]|\s+[-–—(]|\s+(?i:{CONNECTOR})\b|\s+[A-Z(])(?!\s*\?)""",
)
_ALTERNATIVE = re.compile(
    r"""\s*(?:,\s*(?:and\b|or\b|(?:er|um|uh)\b,?)?|/|\bor\b|\band\b|\bnor\b|\bvs\.?|\bversus\b|"""
    r"""\bto\b|&|->|→|=>)\s*(?:maybe\s+|perhaps\s+|possibly\s+|also\s+|even\s+)?"""
    r"""(?:option\s+|choice\s+)?[("\[']?([A-Za-z])[)"\]']?(?![\w'])""",
    re.I,
)
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6, "7th": 7, "8th": 8,
}  # fmt: skip
_CARDINALS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
}  # fmt: skip
ORDINAL = re.compile(
    r"(?:(?:option|choice|answer|number|no\.?|#)\s*(?P<num>\d|one|two|three|four|five|six|seven|"
    r"eight)\b|the\s+(?P<ord>(?:first|second|third|fourth|fifth|sixth|seventh|eighth|1st|2nd|3rd|"
    r"[4-8]th))\s+(?:one|option|choice|answer)|the\s+last\s+(?:one|option|choice))",
    re.I,
)
NOT_BEFORE = re.compile(
    r"""(?:\bnot|n't|\bnever|\bexcept|\bexclude|\brule\s+out|\bwithout|\bunlike|\bif|\bwhether|"""
    r"""\bassuming|\bsuppose|\bnot\s+option|(?:n't|\bnot)\s+(?:think|believe|say)(?:\s+that)?"""
    r"""|\bdoubt(?:\s+that)?)\s*(?:option\s+|choice\s+)?[("\[']?\s*$""",
    re.I,
)
_SLOT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])|[.!?]\s*$|\n|;|\s+(?:because|since)\b", re.I)


_NEGATIVE = (
    r"\s*[:\-–—,]?\s*(?:is\s+|seems\s+|appears\s+|was\s+)?(?:also\s+)?"
    r"(?:(?:not\b|n't\b)(?!\s+(?:option\s+)?[(\[]?[A-Z][)\]]?(?![\w']))|incorrect|wrong|false|"
    r"no\b(?!\s+doubt)|"
    r"✗|✘|❌|unlikely|ruled\s+out|eliminated|excluded|impossible|close\b|tempting|plausible|"
    r"possible|partially|can\s+be\s+(?:ruled|eliminated|excluded))"
)


def letter_index(letter: str, n: int) -> int:
    idx = ord(letter.upper()) - ord("A")
    return idx if 0 <= idx < n else OUT


def read_letter(body: str, pos: int, n: int, *, strict: bool) -> tuple[int, int] | None:
    """(value, end) of a letter starting at ``pos``, or None. ``strict``: letters only when
    written as letters (an article "A man" or a pronoun "I think" is not one)."""
    m = _LETTER.match(body, pos)
    if m is None:
        return None
    letter, opened, closed = m.group(3), m.group(2), m.group(4)
    rest = body[m.end() :]
    marked = bool(opened or closed or m.group("pre"))
    if letter == "I" and not marked and not re.match(r"\s*(?:[.,;:!?)\]]|$)", rest):
        return None  # the pronoun ("I think", "I would")
    article_use = not re.match(r"\s+(?:or|and|nor|is|because|since|seems|appears|fits|vs)\b", rest)
    if letter in "aA" and not marked and re.match(r"\s+[a-z]", rest) and article_use:
        return None  # the article ("a dog", "A woman singing")
    bare_lower = strict and letter.islower() and not marked
    delimited = re.match(r"\s*(?:[.,;:!?)\]]|$)", rest)
    verdict_next = letter not in "ai" and re.match(r"\s+(?:is|was|seems)\b", rest)
    if bare_lower and not delimited and not verdict_next:
        return None  # "c is right" reads as a letter; "a dog" does not
    if letter in "aAI" and not marked and re.match(r"\s+[A-Z]", rest):
        return None  # "A Man ..." in title case, "I Think": not a letter
    return letter_index(letter, n), m.end()


def read_slot(body: str, pos: int, options: Sequence[str], *, text_ok: bool) -> int | None:
    """What an answer slot starting at ``pos`` holds: an option index, NONE, HEDGE, OUT, or None
    when the slot commits to nothing."""
    n = len(options)
    pos += len(body[pos:]) - len(body[pos:].lstrip(" \t\n:：-=\"',"))
    head = body[pos : pos + 200]
    if re.match(r"(?:not|n't|neither|unclear|uncertain|hard|difficult|maybe|perhaps|possibly|"
                r"either|between)\b", head, re.I):  # fmt: skip
        if re.match(r"(?:either|between)\b", head, re.I):
            return HEDGE
        return None
    m = re.match(r"(?:option|choice)\s+(?:number\s+)?", head, re.I)
    od = ORDINAL.match(head)
    if od:
        value = ordinal_value(od, n)
        echo = _SLOT_END.split(re.sub(r"^[ \t]*[).:,\-–—(]+[ \t]*", "", head[od.end() :]))[0]
        if value >= 0 and not echo_agrees(echo.strip(" )"), value, options):
            return HEDGE  # "The third option, piano." with piano second
        return value
    got = read_letter(body, pos, n, strict=not text_ok)
    if got is not None:
        value, end = got
        if _ALTERNATIVE.match(body, end) and _alternative_is_letter(body, end, n):
            after = end
            while (alt := _ALTERNATIVE.match(body, after)) is not None:
                after = alt.end()
            if re.match(r"\s*(?:are|were)\s+(?:both\s+|all\s+)?(?:not\b|incorrect|wrong|false|"
                        r"ruled\s+out|eliminated|excluded|unlikely)", body[after:], re.I):  # fmt: skip
                return None  # "A, B and C are incorrect": ruled-out options
            return HEDGE
        if re.match(_NEGATIVE, body[end:], re.I):
            return None  # "A is incorrect", "B: wrong": a ruled-out option
        echo = re.sub(r"^[ \t]*[).:,\-–—]+[ \t]*", "", body[end:])
        echo = "" if echo[:1] == "\n" else echo.strip()
        other = re.match(r"[(\[]?([A-Z])(?:[).:\]]|\s|$)", echo)
        if (
            other
            and letter_index(other.group(1), n) != value
            and not re.match(r"[AI]\s+[a-z]", echo)
        ):
            return HEDGE  # "A. B. C. D.", "(A) (B)": a list of letters, not an answer
        echo = _SLOT_END.split(echo, maxsplit=1)[0]
        same_sentence = not re.match(r"\s*[.!?]\s+[A-Z]", body[end:])
        for m in re.finditer(r"(?<![\w'/])([A-Z])(?![\w'/])", echo if same_sentence else ""):
            rest, before = echo[m.end() :], echo[: m.start()]
            if m.group(1) in "AI" and re.match(r"\s+[a-z]", rest):
                continue  # the article or the pronoun
            if re.search(r"(?:\bnot|\bunlike|\bthan|\bof)\s*(?:option\s+)?[(\[]?$", before, re.I):
                continue  # "B, not D"; "rather than D"
            if 0 <= letter_index(m.group(1), n) != value:
                return HEDGE  # "A (90%), B (10%)": another letter offered in the same breath
        if value >= 0 and not echo_agrees(echo, value, options):
            return HEDGE
        return value
    if m:  # "option" followed by something that is not a letter: not a slot
        return None
    sentence = _SLOT_END.split(head, maxsplit=1)[0]
    if is_none_phrase(sentence, strong_only=True) and re.match(
        r"(?:none|n/a|not\s+applicable|unknown|undetermin|indetermin|unanswerable|cannot|can't|"
        r"impossible|neither|insufficient|not\s+(?:enough|determinable|possible)|无法|以上|都不是)",
        sentence,
        re.I,
    ):
        return NONE
    if re.fullmatch(r"\s*(?:none|unknown)\s*[.!]?\s*", sentence, re.I):
        return NONE
    if not text_ok:
        return None
    num = re.match(r"(\d)\b(?!\s*[:.]\d)", sentence)
    eq = equal_option(sentence, options)
    if eq is not None:
        return eq
    if num and not any(normalize(o).split()[:1] == [num.group(1)] for o in options):
        v = int(num.group(1))
        return v - 1 if 1 <= v <= n else OUT
    hits = options_in(sentence, options)
    if len(hits) == 1 and not re.search(r"\b(?:or|maybe|perhaps|possibly|not)\b", sentence, re.I):
        beside = {letter_index(b, n) for b in re.findall(r"\(([A-Z])\)", sentence)}
        return hits[0] if beside <= {hits[0]} else HEDGE  # "4 (D)" with 4 at C: contradiction
    return HEDGE if len(hits) > 1 else None


def _alternative_is_letter(body: str, end: int, n: int) -> bool:
    m = _ALTERNATIVE.match(body, end)
    if m is None:
        return False
    letter, rest = m.group(1), body[m.end() :]
    if letter in "aAI" and re.match(r"\s+[a-z]", rest) and not re.match(r"\s+or\b", rest):
        return False
    return letter.isupper() or not re.match(r"\s*\w", rest)


def ordinal_value(m: re.Match[str], n: int) -> int:
    if m.group("num"):
        raw = m.group("num").lower()
        v = int(raw) if raw.isdigit() else _CARDINALS[raw]
    elif m.group("ord"):
        v = _ORDINALS[m.group("ord").lower()]
    else:
        v = n
    return v - 1 if 1 <= v <= n else OUT
