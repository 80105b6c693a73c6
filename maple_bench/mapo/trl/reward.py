"""The MAPLE reward as a TRL reward function, and MAPLE samples as a TRL prompt dataset.

One scorer, two users: :func:`maple_reward` rebuilds each row's :class:`~maple_bench.schema.Sample`
from the dataset columns and calls :func:`maple_bench.scoring.reward`, the function that scores
``maple-eval`` answers and rewards ``maple-bench train`` rollouts. :func:`text_dataset` renders
samples as the text prompt a text-only causal LM sees in ``maple-bench train`` (the same
presentation, masking and prompt code: subtitles only, since text is the one stream such a model
takes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from maple_bench.modality import BLIND, VAS, parse_tag
from maple_bench.schema import Sample

#: Dataset columns :func:`maple_reward` reads (besides TRL's ``completions``).
REWARD_COLUMNS = ("maple_id", "video_id", "question", "rmt", "options", "answer")


def _completion_text(completion: Any) -> str:
    """TRL passes a string (standard prompts) or a message list (conversational prompts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        content = completion[-1].get("content", "")
        if isinstance(content, list):  # content blocks: join the text parts
            return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
        return str(content)
    raise TypeError(
        f"maple_reward: cannot read a completion of type {type(completion).__name__}; "
        "expected a string or a list of chat messages"
    )


def make_maple_reward(format_weight: float = 0.0) -> Callable[..., list[float]]:
    """A TRL reward function: 1 for a correct answer (+ ``format_weight`` if parseable).

    It needs the :data:`REWARD_COLUMNS` in the training dataset (:func:`text_dataset` writes them;
    any dataset with those columns works). Each row is validated as a ``Sample``, so a malformed
    row fails with its id and column.
    """

    def maple_reward(completions: list[Any], **columns: Any) -> list[float]:
        from maple_bench.scoring import reward

        missing = [c for c in REWARD_COLUMNS if c not in columns]
        if missing:
            raise KeyError(
                f"maple_reward: the training dataset lacks column(s) {', '.join(missing)}; "
                "build it with maple_bench.mapo.trl.text_dataset or add them "
                f"(needed: {', '.join(REWARD_COLUMNS)})"
            )
        cache: dict[str, Sample] = {}
        out = []
        for i, completion in enumerate(completions):
            rid = str(columns["maple_id"][i])
            sample = cache.get(rid)
            if sample is None:
                sample = Sample(
                    id=rid,
                    video_id=str(columns["video_id"][i]),
                    question=str(columns["question"][i]),
                    rmt=columns["rmt"][i],
                    options=tuple(str(o) for o in columns["options"][i]),
                    answer=str(columns["answer"][i]),
                )
                cache[rid] = sample
            out.append(reward(sample, _completion_text(completion), format_weight=format_weight))
        return out

    return maple_reward


maple_reward = make_maple_reward()
"""The default MAPLE reward (correctness only): ``GRPOTrainer(reward_funcs=[maple_reward])``."""


def text_dataset(
    samples: Sequence[Sample],
    tokenizer: Any,
    *,
    media_root: str | Path | None = None,
    inputs: str = "required",
    strata_column: str = "rmt",
    skip_unpresentable: bool = False,
) -> Any:
    """A ``datasets.Dataset`` of text prompts for TRL, one row per multiple-choice sample.

    The prompt is exactly what ``maple-bench train`` shows a text-only causal LM
    (``TextInputBuilder`` over ``present``): ``inputs="required"`` presents the sample's RMT
    streams, ``"full"`` all three, and either way only subtitles reach a text model. A sample
    whose presented streams contain no subtitles has nothing to show: an error naming it, or
    dropped with ``skip_unpresentable=True``. Columns: ``prompt``, ``strata_column`` (the
    *required* tag), ``presentation`` and the :data:`REWARD_COLUMNS`.
    """
    from datasets import Dataset

    from maple_bench.models.inputs.text import TextInputBuilder
    from maple_bench.present import MediaConfig, present

    if inputs not in ("required", "full"):
        raise ValueError(f"text_dataset: inputs={inputs!r} is not one of required, full")
    builder = TextInputBuilder(tokenizer)
    accepted = parse_tag(sorted(builder.accepted_streams))
    config = MediaConfig(media_root=Path(media_root) if media_root is not None else None)
    rows: dict[str, list[Any]] = {k: [] for k in ("prompt", "presentation", *REWARD_COLUMNS)}
    rows.setdefault(strata_column, [])  # a second copy of the RMT under another name, if asked
    for s in samples:
        if s.task != "qa":
            continue
        shown = (s.rmt if inputs == "required" else VAS) & accepted
        if shown == BLIND:
            if skip_unpresentable:
                continue
            raise ValueError(
                f"sample {s.id!r} (RMT {s.rmt.name}) has no subtitle stream to show a text "
                "model; pass skip_unpresentable=True or filter the samples by tag"
            )
        rows["prompt"].append(builder.text(present(s, config, presentation=shown)))
        rows["presentation"].append(shown.name)
        rows["maple_id"].append(s.id)
        rows["video_id"].append(s.video_id)
        rows["question"].append(s.question)
        rows["rmt"].append(s.rmt.name)
        if strata_column != "rmt":
            rows[strata_column].append(s.rmt.name)
        rows["options"].append(list(s.options))
        rows["answer"].append(s.answer)
    if not rows["prompt"]:
        raise ValueError("text_dataset: no multiple-choice sample could be presented as text")
    return Dataset.from_dict(rows)
