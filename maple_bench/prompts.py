"""Prompt text for multiple-choice and captioning items, with versioned hashes.

The evaluators and the MAPO trainer build prompts here, so a checkpoint is trained and scored on
the same wording. Subtitles are part of the prompt text only when the S stream is presented.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from maple_bench.modality import Tag
from maple_bench.schema import Sample, option_letter

PROMPT_VERSION = "mcq-v1"
MCQ_INSTRUCTION = "Answer with the letter of the correct option."
CAPTION_INSTRUCTION = "Describe what the given {streams} contain, in one or two sentences."


def format_options(options: Sequence[str]) -> str:
    """``A. first\\nB. second``: the letters the scorer expects back."""
    return "\n".join(f"{option_letter(i)}. {opt}" for i, opt in enumerate(options))


def _subtitle_block(subtitles: str | None) -> str:
    return f"Subtitles: {subtitles.strip()}\n\n" if subtitles and subtitles.strip() else ""


def mcq_prompt(sample: Sample, subtitles: str | None) -> str:
    """The user turn for a multiple-choice item: subtitles (if presented), question, options."""
    return (
        f"{_subtitle_block(subtitles)}Question: {sample.question.strip()}\n"
        f"Options:\n{format_options(sample.options)}\n{MCQ_INSTRUCTION}"
    )


def caption_prompt(sample: Sample, subtitles: str | None) -> str:
    """The user turn for a captioning item; names only the streams that are presented."""
    shown: Tag = sample.shown
    streams = shown.long_name.replace("+", ", ") if not shown.is_blind else "inputs"
    instruction = sample.question.strip() or CAPTION_INSTRUCTION.format(streams=streams)
    return f"{_subtitle_block(subtitles)}{instruction}"


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
