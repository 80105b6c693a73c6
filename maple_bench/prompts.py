"""Prompt text for multiple-choice and captioning items, with versioned hashes.

The evaluators and the MAPO trainer build prompts here, so a checkpoint is trained and scored on
the same wording. Subtitles are part of the prompt text only when the S stream is presented.
This module is the one place that words an instruction: the data loader leaves a caption row's
question empty when its source gives none, so the presentation-aware caption instruction below
applies (an audio-only item is asked about the audio, not "the video").

Every prompt ends with an answer-format anchor, the last line the model reads before answering;
the scorer (:mod:`maple_bench.scoring`) reads the format it asks for first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from maple_bench.modality import Tag
from maple_bench.schema import Sample, option_letter

PROMPT_VERSION = "mcq-v2"
"""Version of the wording below; recorded in results and sample logs. Bump on any change."""
MCQ_INSTRUCTION = "Answer with only the letter ({letters}) of the correct option."
"""The answer-format anchor closing every multiple-choice prompt."""
CAPTION_INSTRUCTION = "Describe what the given {streams} contain in one or two sentences."
"""Caption instruction for rows whose source gives none (``{streams}``: the presented ones)."""
CAPTION_ANCHOR = "Reply with the description only."
"""The answer-format anchor closing every caption prompt."""


def _spoken_list(words: Sequence[str]) -> str:
    """``["a"] -> "a"``, ``["a", "b"] -> "a and b"``, ``["a", "b", "c"] -> "a, b and c"``."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def mcq_instruction(n_options: int) -> str:
    """The anchor for ``n_options`` options: ``Answer with only the letter (A, B, C or D) ...``."""
    letters = [option_letter(i) for i in range(n_options)]
    return MCQ_INSTRUCTION.format(letters=_spoken_list(letters).replace(" and ", " or "))


def format_options(options: Sequence[str]) -> str:
    """``A. first\\nB. second``: the letters the scorer expects back."""
    return "\n".join(f"{option_letter(i)}. {opt}" for i, opt in enumerate(options))


def _subtitle_block(subtitles: str | None) -> str:
    return f"Subtitles: {subtitles.strip()}\n\n" if subtitles and subtitles.strip() else ""


def mcq_prompt(sample: Sample, subtitles: str | None) -> str:
    """The user turn for a multiple-choice item: subtitles (if presented), question, options."""
    return (
        f"{_subtitle_block(subtitles)}Question: {sample.question.strip()}\n"
        f"Options:\n{format_options(sample.options)}\n{mcq_instruction(len(sample.options))}"
    )


def caption_prompt(sample: Sample, subtitles: str | None) -> str:
    """The user turn for a captioning item; names only the streams that are presented.

    A row whose source gives its own instruction keeps it; the anchor closes the prompt either way.
    """
    shown: Tag = sample.shown
    streams = _spoken_list(shown.long_name.split("+")) if not shown.is_blind else "inputs"
    instruction = sample.question.strip() or CAPTION_INSTRUCTION.format(streams=streams)
    return f"{_subtitle_block(subtitles)}{instruction}\n{CAPTION_ANCHOR}"


def prompt_for(sample: Sample, subtitles: str | None) -> str:
    """The prompt for any sample, by task kind."""
    return (
        caption_prompt(sample, subtitles)
        if sample.task == "caption"
        else mcq_prompt(sample, subtitles)
    )


def prompt_hash(text: str) -> str:
    """Short, stable hash of a prompt (or template) for provenance and per-sample logs."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
