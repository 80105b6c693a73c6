"""Text helpers for the answer parser: cleaning a reply, matching option text, None phrases.

Everything here is a pure function on strings; :mod:`maple_bench.scoring.parse` holds the rules
and their priority.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from maple_bench.schema import NONE_OPTION

# -- cleaning -------------------------------------------------------------------------------------

_THINK_CLOSED = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.S | re.I)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>", re.I)
_THINK_OPEN = re.compile(r"<(?:think|thinking|reasoning)>", re.I)
_BOXED = re.compile(r"\\boxed\s*\{\s*(?:\\text(?:bf)?\s*\{\s*)?([^{}]*?)\s*\}?\s*\}")
_MARKUP = re.compile(r"\*\*|__|[*`#]+|\\\(|\\\)|\$")
_QUOTES = str.maketrans(
    {"“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "。": ".", "、": ","}
)


def strip_reasoning(text: str) -> str:
    """The reply without its reasoning block.

    Closed ``<think>`` / ``<thinking>`` blocks are removed; a reply holding only a closing tag (the
    opening one came from the chat template) keeps what follows the last closing tag; an opening
    tag never closed (generation cut off mid-thought) keeps only what precedes it.
    """
    text = _THINK_CLOSED.sub(" ", text)
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    m = _THINK_OPEN.search(text)
    if m:
        text = text[: m.start()]
    return text


def clean_reply(text: str) -> str:
    """Reasoning stripped, full-width forms folded (NFKC), markdown and LaTeX wrappers removed."""
    text = strip_reasoning(text)
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _BOXED.sub(r"\1", text)
    text = re.sub(r"\\text(?:bf)?\s*\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"(?m)^[ \t]*(?:>+|[-*•])[ \t]+", "", text)  # quote and bullet markers
    text = _MARKUP.sub("", text)
    text = text.replace("【", "[").replace("】", "]")
    text = re.sub(r"</?(?:answer|final_answer|output)>", " ", text, flags=re.I)
    return text.strip()


# -- option text ---------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
}  # fmt: skip
_PRONOUNS = frozenset({"he", "she", "they", "i", "we"})
PLACES = frozenset({"in", "on", "at", "inside"})
"""Place prepositions, ignored when matching option words ("At the beach" ~ "On a beach")."""
_LOOSE_ASIDE = _PRONOUNS | PLACES
_FILLER = frozenset({"a", "an", "the", "is", "are", "was", "were", "it", "s"})


def normalize(text: str) -> str:
    """Lower-case, accents folded, punctuation to spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def _stem(word: str) -> str:
    """A light suffix strip so tense and number do not split options ("passes" / "passing")."""
    for suffix in ("ing", "es", "ed", "s", "y"):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            # "sunny" -> "sun", "foggy" -> "fog"; "rainy" -> "rain", like "raining"
            return stem[:-1] if stem[-1] == stem[-2] and stem[-1] not in "aeiouls" else stem
    return word


@functools.lru_cache(maxsize=8192)
def content_words(text: str) -> tuple[str, ...]:
    """Words that carry the option's meaning: articles and copulas dropped, number words as
    digits, a light stem.

    ``"A man is playing a guitar."`` and ``"a man plays a guitar"`` give the same words; a
    negation or any other content word still tells options apart.
    """
    raw = normalize(text).split()
    words = [_NUMBER_WORDS.get(w, w) for w in raw]
    # A last "a" is a letter ("Dog barking, A."), not an article.
    return tuple(
        _stem(w)
        for i, w in enumerate(words)
        if w not in _FILLER or (w == "a" and i == len(words) - 1)
    )


def contains_run(hay: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    """``needle`` occurs in ``hay`` as a run of whole words."""
    n = len(needle)
    return n > 0 and any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


def equal_option(text: str, options: Sequence[str]) -> int | None:
    """The option whose content words equal the text's, when exactly one does."""
    words = content_words(text)
    if not words:
        return None
    hits = [i for i, o in enumerate(options) if content_words(o) == words]
    return hits[0] if len(hits) == 1 else None


def options_in(text: str, options: Sequence[str], *, loose: bool = False) -> list[int]:
    """Options whose content words occur in ``text`` as a run (``loose``: all of them, in any
    order); an option contained in a longer hit ("red" inside "red circle") does not count."""
    words = content_words(text)
    opts = [content_words(o) for o in options]
    if loose:  # pronouns and places' prepositions aside: "the man asks", "at the beach"
        have = set(words)
        hits = [
            i for i, o in enumerate(opts) if set(o) - _LOOSE_ASIDE and set(o) - _LOOSE_ASIDE <= have
        ]
    else:
        hits = [i for i, o in enumerate(opts) if contains_run(words, o)]
    return [i for i in hits if not any(j != i and contains_run(opts[j], opts[i]) for j in hits)]


def echo_agrees(echo: str, index: int, options: Sequence[str]) -> bool:
    """Whether the text printed after a letter agrees with that letter's option.

    The echo agrees unless it names other options and not this one: it equals or contains
    another option's text, or is a shortened form of other options only, or is a None phrase
    while this option is not the None option. Free text that names no option (an explanation)
    agrees.
    """
    words = content_words(echo)
    if not words:
        return True
    none = none_index(options)
    if is_none_phrase(echo, strong_only=True) and none is not None:
        if index == none:
            return True
        # "D. None of the above" with None at E, unless D's own text is that phrase.
        return contains_run(words, content_words(options[index])) and bool(options[index])
    opts = [content_words(o) for o in options]
    named = [i for i, o in enumerate(opts) if o and contains_run(words, o)]
    named = [i for i in named if not any(j != i and contains_run(opts[j], opts[i]) for j in named)]
    if len(named) > 1:
        return False  # "A) guitar, B) piano": several options printed
    hits = {
        i for i, o in enumerate(opts) if o and (contains_run(words, o) or contains_run(o, words))
    }
    # A longer option that contains a hit explains it ("red" is part of "red circle").
    return not hits or index in hits


def none_index(options: Sequence[str]) -> int | None:
    """Index of the None option ("none of the above / cannot be determined"), if present."""
    for i, o in enumerate(options):
        if o == NONE_OPTION or _NONE_OPTION_TEXT.match(normalize(o)):
            return i
    return None


_NONE_OPTION_TEXT = re.compile(
    r"^(?:none of the (?:above|options|choices)|cannot be determined|not determinable)"
)

# -- None phrases --------------------------------------------------------------------------------

_STREAM = (
    r"(?:audio|sound|soundtrack|speech|voice|video|visual|visuals|image|images|frames?|footage|"
    r"subtitles?|transcript|captions?|text|input|inputs|clip|media|information|info|context)"
)
_STRONG_NONE = re.compile(
    r"none\s+of\s+(?:the\s+|these\s+|those\s+)?(?:given\s+|provided\s+|listed\s+|above\s+)?"
    r"(?:above|options?|choices?|answers?|them|these|those|alternatives)(?!\s+(?:except|but))"
    r"|\bnone\s+(?:of\s+them\s+)?(?:is|are|seems?|applies|apply|fits?)\s+(?:correct|right|"
    r"applicable|accurate|supported|suitable|true)"
    r"|\bneither\b[^.\n]{0,80}?\b(?:among|of|in)\s+(?:the\s+)?(?:given\s+|provided\s+)?"
    r"(?:options|choices|answers)"
    r"|\b(?:is|are)\s+not\s+(?:among|in|one\s+of|listed\s+(?:in|among))\s+the\s+"
    r"(?:given\s+|provided\s+|listed\s+)?(?:options|choices|answers)"
    r"|\b(?:can\s*not|can't|could\s*not|couldn't|unable\s+to|not\s+(?:possible|able)\s+to|"
    r"impossible\s+to|no\s+way\s+to|not\s+be\s+able\s+to)\s+(?:be\s+)?(?:reliably\s+|accurately\s+|"
    r"confidently\s+|definitively\s+|clearly\s+)?(?:determined?|tell|told|known?|identif(?:y|ied)|"
    r"infer(?:red)?|confirm(?:ed)?|judged?|ascertain(?:ed)?|deduced?|verif(?:y|ied)|answered|counted|"
    r"made\s+from)\b"
    r"|\b(?:undeterminable|indeterminable|not\s+determinable|undetermined|unanswerable)\b"
    r"|\b(?:information|info|evidence|context|data|inputs?)\s+(?:\w+\s+){0,2}(?:is|are|was|were)\s+"
    r"(?:insufficient|inadequate|lacking|not\s+enough|not\s+sufficient)"
    r"|(?:\bnot|n't)\s+(?:enough|sufficient)\s+(?:\w+\s+)?(?:information|info|evidence|context|"
    r"details|data|clues|cues)"
    r"|\binsufficient\s+(?:\w+\s+)?(?:information|evidence|context|details|data)"
    r"|\bnone\s+(?:of\s+them\s+)?(?:apply|applies|match(?:es)?|fits?)\b"
    r"|\bnothing\s+(?:matches|fits|applies)\b"
    r"|\bno\s+(?:correct\s+|right\s+|matching\s+)?(?:option|choice|answer)s?\s+(?:is|are|seems?|fits?|"
    r"matches|applies|apply|among)\b"
    r"|\bno\s+correct\s+(?:answer|option|choice)"
    r"|\b(?:answer|option|choice)\s+is\s+not\s+(?:listed|given|provided|included|present|available|"
    r"among)\b"
    r"|\bno\s+way\s+of\s+(?:knowing|telling|determining)"
    r"|\b(?:it\s+is|it's|it\s+was)\s+(?:impossible|not\s+possible)\s+to\s+(?:say|answer)"
    r"|\b(?:impossible|not\s+possible)\s+to\s+(?:see|hear|tell|know)\b"
    r"|\b(?:can\s*not|can't|could\s*not|unable\s+to)\s+(?:be\s+)?answer(?:ed)?\s+[^.\n]{0,40}?\b"
    r"(?:based\s+on|from|with|given|without)\b"
    r"|\bnot\s+applicable\b|(?<![\w/])n/a(?![\w/])"
    r"|无法确定|无法判断|无法得知|无法回答|不能确定|无法从|以上都不是|以上皆非|都不是|信息不足|没有足够"
    r"|^\s*(?:none|unknown)\s*[.!]?\s*$",
    re.I | re.M,
)
"""Phrases that answer "None of the above" on their own."""
_WEAK_NONE = re.compile(
    rf"\bno\s+(?:\w+\s+)?{_STREAM}\s+(?:is\s+|are\s+|was\s+|were\s+)?(?:provided|available|given|"
    rf"included|present|shown|supplied|input)"
    rf"|\b{_STREAM}\s+(?:is|are|was|were)\s+(?:not|n't)\s+(?:provided|available|given|included|"
    rf"present|shown|supplied|audible|visible|mentioned)"
    rf"|\b{_STREAM}\s+(?:isn't|aren't|wasn't|weren't)\s+(?:provided|available|given|included|"
    rf"present|shown|supplied)"
    rf"|\b(?:without|lacking|missing|absence\s+of)\s+(?:the\s+|any\s+|an\s+)?{_STREAM}\b"
    rf"|\b(?:do\s+not|don't|cannot|can't|did\s+not|didn't)\s+(?:have\s+(?:access\s+to\s+)?|hear\s+|see\s+)"
    rf"(?:the\s+|any\s+|an\s+)?{_STREAM}\b"
    rf"|\b(?:does\s+not|doesn't|do\s+not|don't)\s+(?:show|mention|specify|indicate|reveal|contain|"
    rf"provide|say)\b"
    rf"|\b(?:is|are|was|were)\s+not\s+(?:shown|provided|given|available|audible|visible|"
    rf"mentioned|specified|included)"
    rf"|\b(?:has|have|with|contains?)\s+no\s+{_STREAM}"
    rf"|\b{_STREAM}(?:\s+track)?\s+(?:is|are|was|were|seems?|appears?)\s+(?:to\s+be\s+)?(?:empty|silent|blank|"
    rf"missing|muted|absent|black|dark|completely\s+dark)"
    rf"|\bno\s+{_STREAM}\s+(?:is\s+|was\s+)?(?:detected|heard|audible|present|visible)"
    rf"|\b(?:doesn't|does\s+not|don't|do\s+not|didn't|did\s+not)\s+(?:speak|talk|say\s+anything)"
    rf"|\bhear\s+nothing|\bnothing\s+(?:is\s+)?(?:heard|audible|said)"
    rf"|\bsays?\s+nothing\s+about|\bnothing\s+(?:is\s+)?(?:said|shown|mentioned)\s+about"
    rf"|^\W*no\s+{_STREAM}\W*$"
    rf"|\bonly\s+(?:see|hear|have|got)\s+(?:the\s+)?{_STREAM}\b"
    rf"|\b{_STREAM},?\s+(?:which|that)\s+(?:is\s+not|are\s+not|was\s+not|were\s+not|isn't|aren't|"
    rf"wasn't|weren't)\s+(?:provided|given|available|included|shown|present)"
    rf"|\bonly\s+(?:the\s+)?{_STREAM}\s+(?:is|are|was|were)\s+(?:given|provided|available|shown)"
    rf"|\b(?:need|require)s?\s+(?:the\s+|an?\s+)?{_STREAM}\s+to\s+(?:answer|tell|know|determine)"
    rf"|\bno\s+(?:\w+\s+)?(?:information|info|evidence|indication|clues?|cues?)\b",
    re.I,
)
"""Phrases that say a stream or fact is missing: a None answer only when nothing else is picked."""
_REFUSAL = re.compile(
    r"\b(?:as\s+an\s+ai|language\s+model|"
    r"(?:can't|cannot|can\s+not|won't|unable\s+to)\s+(?:help|assist|comply|provide\s+(?:an?\s+)?"
    r"(?:answer|response))|(?:can't|cannot|can\s+not|won't|unable\s+to|not\s+able\s+to)\s+"
    r"(?:watch|view|process|play|open|see|access)\s+(?:the\s+)?(?:videos?|audio|media|files?)|"
    r"(?:don't|do\s+not)\s+have\s+the\s+(?:ability|capability)\s+to)",
    re.I,
)
"""Policy or capability refusals: never read as the None option."""


def strong_none_spans(text: str) -> list[tuple[int, int]]:
    """Positions of None phrases that commit to "None of the above" by themselves."""
    return [m.span() for m in _STRONG_NONE.finditer(text)]


def is_none_phrase(text: str, *, strong_only: bool = False) -> bool:
    """Whether ``text`` holds a None phrase (strong ones only, or weak ones too)."""
    if _STRONG_NONE.search(text):
        return True
    return not strong_only and bool(_WEAK_NONE.search(text))


def is_refusal(text: str) -> bool:
    """A policy or capability refusal ("As an AI, I cannot watch videos.")."""
    return bool(_REFUSAL.search(text))


def is_weak_none(text: str) -> bool:
    """A missing-stream statement that is not a refusal ("The audio is not provided.")."""
    return bool(_WEAK_NONE.search(text)) and not _REFUSAL.search(text)
