"""Step 4 of the parser: a reply with no committed answer, read by the option words it names.

Only short replies qualify, without hedges, negations, approximate counts or reported speech;
letters printed beside the words must agree with them. See :mod:`maple_bench.scoring.parse`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from maple_bench.scoring.slots import letter_index, read_letter
from maple_bench.scoring.text import PLACES, contains_run, content_words, options_in

APPROX = (
    r"\b(?:at\s+least|at\s+most|more\s+than|less\s+than|fewer\s+than|around|approximately|roughly|"
    r"nearly|almost|over|under|up\s+to|about|some)\s+(?:\d|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve)\b"
)
_HEDGY = re.compile(
    APPROX + r"|\b(?:or|maybe|perhaps|possibly|might|could|unclear|not\s+sure|unsure|hard\s+to\s+"
    r"(?:say|tell)|difficult\s+to\s+(?:say|tell)|either|between)\b|\?",
    re.I,
)
_NEGATED_CLAUSE = re.compile(
    r"(?:\b(?:not|never|rather\s+than|instead\s+of)\s+|\b\w+n't\s+)(?:an?\s+|the\s+|on\s+|in\s+)*"
    r"[^,.;!?\n]*",
    re.I,
)
_ADVERBS = re.compile(
    r"\b(?:probably|likely|definitely|clearly|surely|certainly|obviously|just|only|mostly|very|"
    r"most\s+likely|i\s+think|i\s+believe)\b",
    re.I,
)


def fallback_text(body: str, options: Sequence[str]) -> tuple[int | None, str]:
    """A reply with no committed answer: a short one naming exactly one option picks it.

    Letters printed beside the text ("Happy (A)") must agree with it.
    """
    # "red? no, green.": a question the reply answers itself is not a hedge
    body = re.sub(r"[^.!?\n]*\?\s*(?=(?:no|nope|wait|actually)\b)", "", body, flags=re.I)
    if _HEDGY.search(body):
        return (None, "no-answer:hedge")
    n = len(options)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", body) if s.strip()]
    if not sentences:
        return (None, "no-answer")
    if re.match(r"\W*(?:(?i:option|choice)\s+)?[(\[]?[A-Z][).:\]]", sentences[-1]):
        return (None, "no-answer:option-line")  # "Option D: ...": a copied option
    last = re.sub(r"^\W*(?:no|nope|wait|actually|sorry)\b[\s,]*", "", sentences[-1], flags=re.I)
    last = _NEGATED_CLAUSE.sub(" ", last)
    if re.search(r"\b(?:no|nor|neither)\b|n't", last, re.I):
        return (None, "no-answer:negation")
    mentions = [m for m in re.finditer(r"(?<![\w'/])\(?([A-Z])\)?(?![\w'/])", last)
                if read_letter(last, m.start(), n, strict=True) is not None]  # fmt: skip
    letters = {letter_index(m.group(1), n) for m in mentions}
    for m in reversed(mentions):
        last = last[: m.start()] + " " + last[m.end() :]
    words = content_words(_ADVERBS.sub(" ", last))
    hits: list[int] = []
    rule = "final-sentence-text"
    if len(sentences) == 1 and 0 < len(words) <= 3 and len(last.split()) <= 4:
        # "sad", "Happy.": a short reply whose words occur in exactly one option.
        core = _without_places(words)
        hits = [i for i, o in enumerate(options) if core and contains_run(_without_places(o), core)]
        rule = "short-option-words"
    longest = max(len(content_words(o)) for o in options)
    if len(hits) != 1 and len(words) <= longest + 8:
        hits, rule = options_in(last, options, loose=True), "final-sentence-text"
    if len(hits) != 1 and 1 < len(sentences) <= 3:
        # "There's a blue square. The tone is low.": a short reply naming one option's words
        # across its sentences.
        whole = _NEGATED_CLAUSE.sub(" ", body)
        if not re.search(r"\b(?:no|nor|neither)\b|n't", whole, re.I):
            hits, rule = options_in(whole, options, loose=True), "short-reply-words"
    if len(hits) != 1:
        return (None, "no-answer" if not hits else "no-answer:several-options")
    if rule != "short-option-words" and incidental(body, options[hits[0]]):
        return (None, "no-answer:reported")
    if letters and letters != {hits[0]}:
        return (None, "no-answer:letter-disagrees")
    return (hits[0], rule)


_REPORTED = re.compile(
    r"\b(?:talk(?:s|ed|ing)?\s+about|mention(?:s|ed|ing)?|says?|said|saying|words?|called|named|"
    r"about\s+being|used\s+to\s+be|yesterday|earlier|before)\b",
    re.I,
)


def incidental(text: str, option: str) -> bool:
    """Whether the option's words come inside reported speech or another time ("she talks about
    being happy yesterday"), not as the answer. Words of the option itself do not count."""
    own = set(content_words(option))
    return any(not set(content_words(m.group(0))) <= own for m in _REPORTED.finditer(text))


def _without_places(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """Content words without place prepositions ("At the beach" ~ "On a beach")."""
    words = content_words(text) if isinstance(text, str) else text
    return tuple(w for w in words if w not in PLACES)
