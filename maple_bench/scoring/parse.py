"""Read a model's free-text reply as one of the options, the way a careful human grader does.

Rule priority (all in :func:`parse_reply`; the first step that decides wins):

0. Clean: reasoning blocks (``<think>``, ``<thinking>``; closed, unclosed, or a closing tag only)
   are dropped; full-width forms, markdown, ``<answer>`` tags and ``\\boxed{}`` unwrapped.
1. The whole reply is one answer: a letter (``"B"``, ``"(b)"``, ``"'B'"``, ``"Option B"``,
   ``"选项B"``), the text of one option (articles, copulas, case, punctuation and tense
   ignored: ``"A man is playing a guitar."`` = ``"a man playing a guitar"``), or an ordinal.
2. A restated option list (two or more ``X. <option X's text>`` in a row, on lines or inline)
   is a copy of the prompt and is dropped before reading on.
3. Committed answers, collected over the whole reply in order: answer statements (``"Answer:
   B"``, ``"the correct option is B"``, ``"I choose B"``, ``"答案是B"``), verdicts (``"B is
   correct"``, ``"C: ✓"``), short commitments (``"it's b"``, ``"so B"``), self-corrections
   (``"Wait, no, C"``), an opening letter (``"B. red"``, ``"B,"``, ``"B is"``) or ordinal, a
   letter closing the reply, a short sentence naming one option's text, and strong None phrases
   (``"none of the above"``, ``"impossible to determine"``, ``"以上都不是"``). A slot holds a
   letter, an ordinal (``"option 3"``, ``"the third one"``), an option's text or a None phrase.
   Mentions are not commitments: "Option A is incorrect", "A, B and C are wrong", "the letter D
   on it", "N/A", a negated or conditional letter ("not A", "if the answer is A").

   * A letter must agree with the option text printed after it: ``"B. red"`` where B is not
     red, or ``"D. None of the above"`` where None is E, is a contradiction (invalid).
   * Two letters offered together (``"B or C"``, ``"B/C"``, ``"either"``), or another letter
     offered after the answer (``"D. Hmm, or maybe C"``), hesitate (invalid).
   * The last commitment wins when the reply moves to it on purpose (a correction, a conclusion
     such as "so" / "therefore", or a "final answer"); two different answers without that are
     a contradiction (invalid).
4. Nothing committed: a statement that a needed stream is missing ("the audio is not provided")
   is the None option; a short reply, or a short last sentence, naming exactly one option's
   words (and agreeing with any letter beside them) picks it.

Everything else is invalid (``None``): a hesitating, self-contradicting, refusing or rambling
reply. A false content answer is worse than an invalid one, so doubt always ends as invalid.
A None phrase is read as the None option only when the options include it; a policy or
capability refusal ("I can't answer that", "As an AI, I cannot watch videos") is never None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from maple_bench.scoring.fallback import APPROX, fallback_text, incidental
from maple_bench.scoring.slots import (
    CONNECTOR,
    HEDGE,
    NONE,
    NOT_BEFORE,
    ORDINAL,
    OUT,
    letter_index,
    ordinal_value,
    read_slot,
)
from maple_bench.scoring.text import (
    clean_reply,
    content_words,
    equal_option,
    is_refusal,
    is_weak_none,
    none_index,
    options_in,
    strong_none_spans,
)

SCORER_VERSION = "mcq-parse-v2"
"""Version of the rules below; recorded in results and sample logs. Bump on any rule change."""


@dataclass(frozen=True)
class Parse:
    """The parser's verdict on one reply."""

    index: int | None
    """Index of the chosen option, or None when the reply is invalid."""
    rule: str
    """Which rule decided (for debugging and for the labelled table)."""


@dataclass(frozen=True)
class _Commit:
    """One committed answer: where it starts, what it holds, which rule found it."""

    pos: int
    value: int  # option index, NONE, HEDGE or OUT
    kind: str
    final: bool = False  # "final answer": wins over earlier answers without a marker


# -- commitments ---------------------------------------------------------------------------------

_COPULA = r"(?:is|would\s+be|should\s+be|will\s+be|must\s+be|has\s+to\s+be|seems\s+to\s+be|appears\s+to\s+be|is\s+probably|is\s+likely|is\s+clearly|is\s+definitely)"
_STATEMENT = re.compile(
    rf"(?P<final>final\s+answer|final\s+choice|最终答案)\s*(?:{_COPULA}\s*)?[:=：]?"
    rf"|(?:(?:correct|right|best|closest|most\s+(?:likely|appropriate|accurate)|my|the)\s+)?"
    rf"(?:answer|option|choice|pick|selection|guess|match|fit|conclusion|response|output|prediction|"
    rf"solution|result|reply|correct(?=\s*:))(?:\s+(?:to|for)\s+(?:the|this)\s+"
    rf"question)?[\"']?\s*(?:{_COPULA}\s*(?:option\s+|choice\s+)?|:|=|：|-(?=\s))"
    rf"|答案\s*(?:是|为|:|：)|(?:我\s*)?选(?:择)?",
    re.I,
)
_CHOOSE = re.compile(
    r"\b(?:I\s+(?:would|will|'d|'ll)\s+(?:have\s+to\s+)?|I\s+)?(?:choose|chose|select|selected|"
    r"pick|picked|go\s+with|going\s+with|opt\s+for|answer\s+with|mark|circle|stay\s+with|"
    r"stick\s+with|lean(?:ing)?\s+towards?|answer(?=\s+\(?[A-Za-z]\)?\s*[.!]?\s*$)|"
    r"answer(?=\s+\(?[A-Z]\)?(?:\s*[.!,]|\s+(?:because|since|as)\b)))\b",
    re.I,
)
_SHORT = re.compile(
    r"\b(?:it's|it\s+is|it\s+must\s+be|it\s+should\s+be|it\s+would\s+be|must\s+be|has\s+to\s+be|"
    r"that's|that\s+is|is\s+probably|probably|likely|most\s+likely|definitely|clearly|"
    r"i\s+think|i\s+believe|i'd\s+say|i\s+would\s+say|i\s+guess|i'd\s+guess|i\s+would\s+guess|"
    r"so|thus|therefore|hence|but|"
    r"i'm\s+going\s+with|i\s+am\s+going\s+with|(?:going\s+to|will|'ll)\s+say|is|are|"
    r"(?:corresponds?|points?|refers?)\s+to|match(?:es)?|indicates?|suggests?|consistent\s+with|"
    r"i'm\s+confident|i\s+am\s+confident|making|makes|leaves|leaving|by\s+elimination|"
    r"aligns?\s+with|in\s+line\s+with)\b[\s,:]*(?:it's\s+|it\s+is\s+)?",
    re.I,
)
_CORRECTION = re.compile(
    r"\b(?:wait|no|nope|actually|correction|sorry|oops|i\s+mean|i\s+meant|rather|instead|on\s+second\s+"
    r"thought|on\s+reflection|scratch\s+that|let\s+me\s+(?:correct|reconsider|re-?check))\b"
    r"[\s,:;.!-]*(?:(?:it's|it\s+is|the\s+answer\s+is|make\s+(?:it|that)|i\s+(?:choose|pick))\s+)?",
    re.I,
)
_VERDICT = re.compile(
    r"""(?<![\w'/])[("\[']?([A-Z])[)"\]']?(?![\w'/])(?:\s*[:\-–—]\s*|\s+(?:is|seems|appears)"""
    r"""\s+(?:to\s+be\s+)?(?:the\s+)?)(?:correct|right|best|closest|answer|correct\s+answer|"""
    r"""most\s+(?:likely|accurate|appropriate|suitable|plausible|fitting|consistent)|✓|✔)"""
    r"""(?![\w?])(?!\s*\?)"""
    r"""|(?<![\w'/])[("\[']?([A-Z])[)"\]']?\s+(?:best|most\s+(?:accurately|closely)|correctly)\s+"""
    r"""(?:describes|matches|fits|answers|reflects|captures|represents)\b"""
    r"""|[✅✓✔]\s*[("\[']?([A-Z])[)"\]']?(?![\w'/])|(?<![\w'/])([A-Z])\s*[✅✓✔]"""
    r"""|\b(?i:only)\s+(?:(?i:option)\s+)?([A-Z])\s+(?:remains|is\s+left|fits|works)\b"""
    r"""|(?<![\w'/])[("\[']?([A-Z])[)"\]']?\s+(?:fits|matches|describes|works|applies)\s+best\b""",
)
_MARKER = re.compile(
    r"\b(?:wait|no|nope|actually|correction|oops|i\s+mean|rather|instead|second\s+thought|"
    r"reflection|scratch|reconsider|re-?check|so|therefore|thus|hence|final|finally|conclusion|"
    r"overall|in\s+summary|to\s+summari[sz]e|after\s+(?:all|reviewing|checking)|looking\s+again|"
    r"hmm)\b|所以|因此|综上",
    re.I,
)
_LINE_LETTER = re.compile(r"^[ \t]*(?:[-•]\s*)?[(\[]?([A-Za-z])(?:[).:\]]|\s*[-–—])[ \t]*", re.M)
_OPENING = re.compile(
    rf"""^\s*(?:(?P<pre>(?i:option|choice))\s+)?[("\[']?([A-Z]|[a-z](?=[).:\]])|[b-hj-z](?=\s+is\b))"""
    rf"""[)"\]']?"""
    rf"""(?=\s*$|\s*[.,;:!)\]\-–—]|\s+\(|(?(pre)(?!)|\s+{CONNECTOR}\b)|\s*\n)""",
)


def _negated(body: str, pos: int) -> bool:
    return bool(NOT_BEFORE.search(body[max(0, pos - 30) : pos]))


def _restated_lines(body: str, options: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of lines that restate the option list (two or more ``X. <option X's text>``)."""
    spans = []
    for m in _LINE_LETTER.finditer(body):
        idx = ord(m.group(1).upper()) - ord("A")
        line_end = body.find("\n", m.end())
        line_end = len(body) if line_end < 0 else line_end
        text = body[m.end() : line_end]
        if 0 <= idx < len(options) and equal_option(text, options) == idx:
            spans.append((m.start(), line_end, idx))
    if len({s[2] for s in spans}) < 2:
        spans = []
    return [(a, b) for a, b, _ in spans] + _restated_inline(body, options)


_INLINE_LABEL = re.compile(r"(?:(?i:option)\s+)?[(\[]?([A-Z])[).:\]]\s*")


def _restated_inline(body: str, options: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of an option list copied inside a line ("A. red B. green C. blue"): two or more
    ``X. <option X's text>`` next to each other."""
    # One fixed pattern finds the labels and a string comparison checks the text after each: a
    # pattern per option would be compiled anew for every item (and evict re's cache).
    found = []
    texts = [o.strip().lower() for o in options]
    for m in _INLINE_LABEL.finditer(body):
        i = ord(m.group(1)) - ord("A")
        if i >= len(texts):
            continue
        end = m.end() + len(texts[i])
        if body[m.end() : end].lower() == texts[i]:
            found.append((m.start(), end + (body[end : end + 1] in (".", ";", ","))))
    runs: list[list[tuple[int, int]]] = []
    for span in found:
        if runs and re.fullmatch(r"[\s,;/]*(?:and|or)?\s*", body[runs[-1][-1][1] : span[0]]):
            runs[-1].append(span)
        else:
            runs.append([span])
    return [s for run in runs if len(run) >= 2 for s in run]


def _commitments(body: str, options: Sequence[str]) -> list[_Commit]:
    """Every committed answer in the reply (step 3), in the order they appear."""
    n = len(options)
    out: list[_Commit] = []
    for m in _STATEMENT.finditer(body):
        if _negated(body, m.start()):
            continue
        v = read_slot(body, m.end(), options, text_ok=True)
        if v is not None:
            out.append(_Commit(m.start(), v, "answer-statement", final=bool(m.group("final"))))
    for m in _CHOOSE.finditer(body):
        if _negated(body, m.start()):
            continue
        v = read_slot(body, m.end(), options, text_ok=True)
        if v is not None:
            out.append(_Commit(m.start(), v, "choice-statement"))
    for pattern, kind in ((_SHORT, "short-commitment"), (_CORRECTION, "self-correction")):
        for m in pattern.finditer(body):
            if _negated(body, m.start()):
                continue
            v = read_slot(body, m.end(), options, text_ok=False)
            if v is not None and v != NONE:
                out.append(_Commit(m.start(), v, kind))
    for m in _VERDICT.finditer(body):
        at = next(i for i in range(1, 7) if m.group(i))
        if _negated(body, m.start(at)) or re.match(r"\s*(?:is\s+)?not\b", body[m.end(at) :]):
            continue
        out.append(_Commit(m.start(), letter_index(m.group(at), n), "verdict"))
    lines = [m for m in _LINE_LETTER.finditer(body) if m.start() > 0]
    opening = _OPENING.match(body)
    if opening:
        v = read_slot(body, 0, options, text_ok=False)
        analysis = opening.group("pre") and len(_opening_echo(body, opening, options).split()) >= 4
        if v is not None and not _lists_options(body, lines, opening) and not analysis:
            out.append(_Commit(opening.start(2), v, "opening-letter"))
    refusal = is_refusal(body)  # "As an AI, I cannot watch videos": a refusal, not None
    for start, _end in strong_none_spans(body):
        if not refusal and not _negated(body, start):
            out.append(_Commit(start, NONE, "none-phrase"))
    # A sentence that is exactly one option's text commits to it ("He says goodbye.").
    for m in re.finditer(r"[^.!?\n]+", body):
        words = m.group(0).split()
        if len(words) >= 2 and (eq := equal_option(m.group(0), options)) is not None:
            out.append(_Commit(m.start(), eq, "sentence-text"))
    # A short statement naming exactly one option ("There are 5 people.") commits to it.
    longest = max(len(content_words(o)) for o in options)
    for m in re.finditer(r"[^.!?\n]+(?!\?)", body):
        sentence = m.group(0)
        if body[m.end() : m.end() + 1] == "?":
            continue  # "red? no, green.": a question is not a statement
        if (len(content_words(sentence)) <= longest + 3 and not _LETTER_MENTION.search(sentence)
                and not re.search(APPROX, sentence, re.I)
                and not re.search(r"\b(?:not|no|never|but|however|although|or|if|whether|might|"
                                  r"maybe|perhaps|possibly|could|unclear|unsure|also|note)\b|n't|"
                                  r"option|"
                                  r"choice", sentence, re.I)):  # fmt: skip
            hits = options_in(sentence, options, loose=True)
            if len(hits) == 1 and not incidental(sentence, options[hits[0]]):
                out.append(_Commit(m.start(), hits[0], "sentence-text"))
    # "The third option, violin.": an ordinal opening the reply.
    if (
        ORDINAL.match(body.lstrip())
        and (v := read_slot(body, 0, options, text_ok=False)) is not None
    ):
        out.append(_Commit(0, v, "opening-ordinal"))
    # Per-option analysis lines: the one marked right ("C) ... - correct").
    for m in _LINE_VERDICT.finditer(body):
        out.append(_Commit(m.start(1), letter_index(m.group(1), n), "verdict"))
    # A letter closing the reply after a sentence ("... suggests anger. B").
    tail = re.search(
        r"(?P<end>[.!?;]['\"]?)?(?:,|->|→|=>|(?P<colon>:))?(?<=\S)\s*(?P<open>[(\[])?(?P<letter>[A-Z])"
        r"[)\]]?\s*[.!]?\s*$",
        body,
    )
    if tail and not (tail.group("end") or tail.group(0)[:1] in ",-→=:" or tail.group("open")):
        tail = None  # the letter must follow a sentence end, a comma, an arrow or a colon
    if tail:
        value = letter_index(tail.group("letter"), n)
        same = "" if tail.group("end") else body[: tail.start()]
        clause = re.split(r"[.!?\n]", same)[-1]
        named = options_in(clause, options, loose=True)
        if value >= 0 and named and value not in named:
            value = HEDGE  # "Dog barking, A.": the text beside the letter is another option's
        if re.search(r"\b(?:rather\s+than|not|instead\s+of|unlike)\b[^,;]*$", clause, re.I):
            tail = None  # "angry (B) rather than calm (D)"
        elif tail.group("colon") and named != [value]:
            tail = None  # "The video has a car: E." labels a reading; "orders a coffee: B" answers
    if tail:
        out.append(_Commit(tail.start("letter"), value, "closing-letter"))
    # A letter alone on a later line ("...reasoning...\n\nB") commits like an opening letter.
    for m in re.finditer(r"(?m)^[ \t]*[(\[]?([A-Z])[)\]]?[ \t]*\.?[ \t]*$", body):
        if m.start() > 0:
            out.append(_Commit(m.start(), letter_index(m.group(1), n), "letter-line"))
    return sorted(out, key=lambda c: c.pos)


def _opening_echo(body: str, opening: re.Match[str], options: Sequence[str]) -> str:
    """The text after an opening "Option A:" up to the end of its sentence, or "" when it is
    that option's own text ("Option D: Swimming" answers; "Option A: the tone is high, which
    does not match" analyses)."""
    rest = re.sub(r"^[\s).:,\-–—]+", "", body[opening.end() :])
    echo = re.split(r"(?<=[.!?])\s|\n", rest, maxsplit=1)[0]
    return "" if equal_option(echo, options) is not None else echo


def _lists_options(body: str, lines: list[re.Match[str]], opening: re.Match[str]) -> bool:
    """Whether the opening letter is the first of several lettered lines (an analysis per
    option, "A: wrong ... B: wrong ..."), which commits to nothing by itself."""
    first = opening.group(2).upper()
    return any(m.group(1).upper() != first for m in lines)


def _resolve(
    commits: list[_Commit], body: str, none_idx: int | None, options: Sequence[str]
) -> tuple[int, str] | None:
    """The last commitment, when the reply moves to it on purpose; HEDGE when it wavers."""
    if not commits:
        return None
    if none_idx is None and any(c.value != NONE for c in commits):
        # Without a None option a None phrase is a disclaimer, not an answer.
        commits = [c for c in commits if c.value != NONE]
    if none_idx is not None:  # "E" and "none of the above" are the same answer
        commits = [c if c.value != NONE else _Commit(c.pos, none_idx, c.kind, c.final)
                   for c in commits]  # fmt: skip
    last = commits[-1]
    if last.value >= 0 and _wavers_after(body, last, options):
        return HEDGE, "hedge-after-answer"
    values = {c.value for c in commits}
    if len(values) == 1:  # named after the first rule that committed to it
        return last.value, commits[0].kind
    # The last differing commitment before the last one.
    at = max(i for i, c in enumerate(commits) if c.value != last.value)
    prev, first = commits[at], commits[at + 1]  # the answer moved away from, the one moved to
    between = body[prev.pos + 1 : last.pos + 24]
    if any(c.final for c in commits[at + 1 :]) or _MARKER.search(between):
        return last.value, first.kind
    return HEDGE, "contradiction"


_LINE_VERDICT = re.compile(
    r"(?m)^[ \t]*[(\[]?([A-Z])[).:\]][^\n]*?[-–—:,]\s*(?:correct|right|true|yes|✓|✔|✅)[ \t]*[.!]?[ \t]*$"
)
_LETTER_MENTION = re.compile(r"(?<![\w'/])\(?[A-Z]\)?(?![\w'/])(?!\s+[a-z])")
_WAVER = re.compile(
    r"""(?:\bor\b|\bmaybe\b|\bperhaps\b|\bpossibly\b|\bmight\b|\bcould\b)\s+(?:be\s+|also\s+|"""
    r"""even\s+)*(?:option\s+)?[("']?([A-Z])[)"']?(?![\w'])"""
    r"""|(?<![\w'])[("']?([A-Z])[)"']?\s+(?:also\s+(?:fits|works|matches|applies)|is\s+close|"""
    r"""(?:is|seems|could\s+be|might\s+be)\s+(?:also\s+)?"""
    r"""(?:possible|plausible|an?\s+(?:option|possibility)|(?:also\s+)?correct\s+too|also\s+correct)"""
    r""")"""
)


def _wavers_after(body: str, last: _Commit, options: Sequence[str]) -> bool:
    """Whether the reply offers another answer after its last one ("D. Hmm, or maybe C", "D,
    although they could also be sad")."""
    for m in _WAVER.finditer(body, last.pos):
        letter = m.group(1) or m.group(2)
        if ord(letter) - ord("A") != last.value and not (
            letter in "AI" and re.match(r"\s+[a-z]", body[m.end() :])
        ):
            return True
    for m in re.finditer(r"\b(?:could|might|may|maybe|perhaps|possibly)\b", body[last.pos :], re.I):
        rest = set(content_words(re.split(r"[.!?\n]", body[last.pos + m.end() :])[0]))
        for word in rest:
            owners = [i for i, o in enumerate(options) if word in content_words(o)]
            if len(owners) == 1 and owners[0] != last.value:
                return True  # a word only another option has ("could also be sad")
    return False


# -- the parser ----------------------------------------------------------------------------------


def parse_reply(text: str | None, options: Sequence[str]) -> Parse:
    """Parse one reply; ``Parse.rule`` names the rule that decided."""
    if not text or not options:
        return Parse(None, "empty")
    body = clean_reply(str(text))
    if not body:
        return Parse(None, "empty")
    none_idx = none_index(options)
    n = len(options)

    def as_index(value: int, rule: str) -> Parse:
        if value == NONE:
            return Parse(none_idx, rule) if none_idx is not None else Parse(None, rule + ":no-none")
        if value < 0:
            return Parse(None, f"{rule}:{'hedge' if value == HEDGE else 'out-of-range'}")
        return Parse(value, rule)

    # A field label copied from the question ("Emotion: happy") is not part of the answer.
    label = re.fullmatch(r"\s*(?!(?i:answer|option|choice|correct|final|the)\b)[A-Za-z]{2,}(?: [A-Za-z]{2,})?"
                         r":\s*([^\n:]+?)\s*", body)  # fmt: skip
    if label and len(label.group(1).split()) <= 4:
        body = label.group(1)
    # 1. The whole reply is one answer.
    whole = re.fullmatch(
        r"""\s*(?:(?:the\s+)?(?:answer|option|choice|letter)\s*(?:is\s*)?[:：]?\s*|选项|答案)?[("\[{'<]?\s*"""
        r"""([A-Za-z])\s*[)"\]}'>]?\s*[.:;,!]?\s*""",
        body,
        re.I,
    )
    if whole:
        return as_index(letter_index(whole.group(1), n), "whole-letter")
    repeated = re.fullmatch(r"\W*([A-Z])(?:[^\w]+\1)+\W*", body)
    if repeated:  # "B B B B": a small model repeating itself
        return as_index(letter_index(repeated.group(1), n), "whole-letter")
    eq = equal_option(body, options)
    if eq is not None and not re.match(r"\s*[(\[]?[A-Za-z][).:\]]", body):
        return Parse(eq, "whole-option-text")
    od = re.fullmatch(rf"\W*(?:{ORDINAL.pattern})\W*", body, re.I)
    if od:
        return as_index(ordinal_value(od, n), "whole-ordinal")
    num = re.fullmatch(r"\W*([1-9])\W*", body)
    if num and not any(re.search(r"\d", o) for o in options):
        v = int(num.group(1))  # "4" to a lettered list of words: the fourth option
        return as_index(v - 1 if v <= n else OUT, "whole-ordinal")
    # 2. A restated option list is a copy of the prompt, not an answer.
    keep = [True] * len(body)
    for a, b in _restated_lines(body, options):
        keep[a:b] = [False] * (b - a)
    body = "".join(c for c, k in zip(body, keep) if k)
    # 3. Committed answers: the last one that the reply moves to on purpose.
    decided = _resolve(_commitments(body, options), body, none_idx, options)
    if decided is not None:
        return as_index(*decided)
    # 4. Nothing committed.
    if none_idx is not None and is_weak_none(body):
        if [i for i in options_in(body, options, loose=True) if i != none_idx]:
            return Parse(None, "no-answer:missing-stream-and-content")  # grader hesitates
        return Parse(none_idx, "missing-stream")
    return Parse(*fallback_text(body, options))


def parse_answer(text: str | None, options: Sequence[str]) -> int | None:
    """The index of the option the reply picks, or None when it is unparseable or ambiguous."""
    return parse_reply(text, options).index
