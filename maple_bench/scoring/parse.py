"""Read a model's free-text answer as one of the options.

The rules, in order (the first that decides wins):
1. an explicit letter: the whole reply is a letter (``"B"``, ``"(B)"``, ``"b."``), an answer
   phrase (``"The answer is (B)."``, ``"Answer: B"``, ``"option C"``), or a leading letter with
   a delimiter (``"B. red"``, ``"(B) red"``);
2. a None phrase (``"none of the above"``, ``"cannot be determined"``, ...) when the options
   contain the None option;
3. the text of exactly one option (exact after normalisation, else contained as whole words,
   where an option contained in a longer matched option does not count);
4. exactly one standalone capital letter in range that is not the article "A" or pronoun "I".
Anything else, or a letter outside the options, is invalid (None). Two different letters from
the same rule are ambiguous and invalid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from maple_bench.schema import NONE_OPTION

_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_MARKUP = re.compile(r"[*_`#]+")
_WHOLE_LETTER = re.compile(r"^\s*[\(\[\{<]?\s*([A-Za-z])\s*[\)\]\}>]?\s*[.:;,!]?\s*$")
_ANSWER_PHRASE = re.compile(
    r"(?:answer|choice|option|choose|chose|select|selected|pick|picked)"
    r"(?:\s+(?:is|would\s+be|should\s+be|will\s+be))?\s*(?:option|choice)?\s*[:=\-]?\s*"
    r"[\(\[]?\s*((?-i:[A-Z])|[a-z](?=\s*[\)\].:,;!]|\s*$))\s*[\)\]]?(?![A-Za-z'])",
    re.I,
)
_LEADING = re.compile(r"^\s*[\(\[]?([A-Z])(?:[\)\]]\s*[.:\-]?|[.:\-])(?:\s|$)")
_STANDALONE = re.compile(r"(?<![A-Za-z'’])([A-Z])(?![A-Za-z'’])")
_NOT_BEFORE = re.compile(r"\b(?:not|isn't|is\s+not|never|except)\s*[\(\[]?\s*$", re.I)
_AFTER_LETTER = re.compile(
    r"\s+(?:or|and|nor|is|was|seems|looks|would|should|because|since|as|then|vs)\b"
)
_ALTERNATIVE = re.compile(r"[\)\]]?\s*(?:or|and|/|,)\s*(?:option\s*)?[\(\[]?([A-Z])(?![A-Za-z])")
_NONE_PHRASES = re.compile(
    r"\b(?:none\s+of\s+(?:the\s+)?(?:above|options|these|them|the\s+choices)"
    r"|(?:cannot|can\s*not|can't|unable\s+to)\s+(?:be\s+)?(?:determine|determined|tell|answer|know|say)"
    r"|not\s+(?:enough|sufficient)\s+(?:information|info|evidence)"
    r"|insufficient\s+(?:information|evidence)"
    r"|(?:is|are)\s+not\s+(?:given|provided|shown|available|determinable)"
    r"|no\s+(?:way\s+to\s+(?:tell|know|determine)|information\s+(?:is\s+)?(?:given|provided|available))"
    r"|^\s*none\s*[.!]?\s*$)",
    re.I,
)


def normalize(text: str) -> str:
    """Lower-case, accents folded, punctuation to spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def _clean(text: str) -> str:
    text = _THINK.sub(" ", text)
    text = _MARKUP.sub("", text)
    return text.strip()


def _index(letter: str, n: int) -> int | None:
    idx = ord(letter.upper()) - ord("A")
    return idx if 0 <= idx < n else None


def _letters_from(pattern: re.Pattern[str], text: str) -> list[str]:
    out = []
    for m in pattern.finditer(text):
        if _NOT_BEFORE.search(text[: m.start(1)]):
            continue
        out.append(m.group(1).upper())
        alt = _ALTERNATIVE.match(text, m.end())
        if alt:  # "B or C": a second letter offered as an alternative makes it ambiguous
            out.append(alt.group(1).upper())
    return out


def _decide_letters(letters: list[str], n: int) -> tuple[bool, int | None]:
    """(decided, index): decided once any letter was found; index None if ambiguous/out of range."""
    if not letters:
        return False, None
    distinct = set(letters)
    if len(distinct) > 1:
        # "The answer is B ... so the answer is B" repeats; two *different* letters do not.
        return True, None
    return True, _index(letters[0], n)


def _text_match(text: str, options: Sequence[str]) -> int | None:
    out = normalize(text)
    if not out:
        return None
    norm_opts = [normalize(o) for o in options]
    for i, o in enumerate(norm_opts):
        if o and out == o:
            return i
    padded = f" {out} "
    hits = [i for i, o in enumerate(norm_opts) if o and f" {o} " in padded]
    # An option that is part of a longer matched option ("red" inside "red circle") is not a hit.
    hits = [i for i in hits if not any(j != i and norm_opts[i] in norm_opts[j] for j in hits)]
    return hits[0] if len(hits) == 1 else None


def parse_answer(text: str | None, options: Sequence[str]) -> int | None:
    """The index of the option the reply picks, or None when it is unparseable or ambiguous."""
    if not text or not options:
        return None
    n = len(options)
    body = _clean(str(text))
    if not body:
        return None
    m = _WHOLE_LETTER.match(body)
    if m:
        return _index(m.group(1), n)
    for pattern in (_ANSWER_PHRASE, _LEADING):
        decided, idx = _decide_letters(_letters_from(pattern, body), n)
        if decided:
            return idx
    none_idx = options.index(NONE_OPTION) if NONE_OPTION in options else None
    if none_idx is not None and _NONE_PHRASES.search(body):
        return none_idx
    idx = _text_match(body, options)
    if idx is not None:
        return idx
    candidates = []
    for m in _STANDALONE.finditer(body):
        letter, rest = m.group(1), body[m.end() :]
        if letter == "A" and re.match(r"\s+[a-z]", rest) and not _AFTER_LETTER.match(rest):
            continue  # the article: "A red circle" (but not "A or B", "A is right")
        if letter == "I" and re.match(r"\s+\w", rest):
            continue  # the pronoun: "I think"
        if _NOT_BEFORE.search(body[: m.start()]):
            continue
        if _index(letter, n) is not None:
            candidates.append(letter)
    _, idx = _decide_letters(candidates, n)
    return idx
