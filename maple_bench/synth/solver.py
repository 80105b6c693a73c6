"""The reference solver: answers synth questions by perceiving the presented streams.

It is the end-to-end check of the construction and of the media path: frames, audio and
subtitles come through :func:`maple_bench.present.present` and the project's decoders, the solver
measures colours / blobs / tones / words (:mod:`maple_bench.synth.perceive`), parses the options
with the synth grammar (:func:`maple_bench.synth.attributes.parse_option`) and keeps the options
that agree with what it perceived. Attributes of streams that were not presented are unknown, so
any option value is consistent with them. The question is always presented, so a value it states
outright (a name, a number, ... in its text) is evidence too: that is how a question that gives
its own answer away shows up as blind-solvable. It never reads the stored answer or ``synth.json``.

``ignore`` handicaps the solver: the listed streams are treated as absent even when presented
(used to check that RMT proposals notice a model that does not use a stream).

Decision rule: exactly one consistent option -> its letter; otherwise the None option's letter
when the options contain :data:`maple_bench.schema.NONE_OPTION`, else the first consistent
option's letter (or "A" if none is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from maple_bench.modality import BLIND, Modality, Tag, parse_tag
from maple_bench.schema import NONE_OPTION, option_letter
from maple_bench.synth.attributes import KINDS, parse_option
from maple_bench.synth.captions import describe
from maple_bench.synth.perceive import perceive_audio, perceive_subtitles, perceive_video

if TYPE_CHECKING:
    from maple_bench.present import MediaConfig, ModelInput


class ReferenceSolver:
    """Perceive, then reason only over what was presented."""

    def __init__(
        self, media_config: MediaConfig | None = None, *, ignore: Tag | str | None = None
    ) -> None:
        self.media_config = media_config
        """The config the caller used with ``present`` (kept for provenance; not needed)."""
        self.ignore = parse_tag(ignore, allow_blind=True) if ignore is not None else BLIND
        """Streams the solver pretends not to have (a handicap for diagnostics)."""

    def presented(self, model_input: ModelInput) -> Tag:
        """The streams actually given (the presentation, minus streams that came back empty)."""
        shown = set(model_input.presentation) - set(self.ignore)
        if model_input.frames is None:
            shown.discard(Modality.V)
        if model_input.audio is None:
            shown.discard(Modality.A)
        if model_input.subtitles is None:
            shown.discard(Modality.S)
        return Tag(frozenset(shown))

    def perceive(self, model_input: ModelInput) -> dict[str, Any]:
        """Attribute readings for the presented streams only: ``{kind: value or None}``."""
        shown = self.presented(model_input)
        out: dict[str, Any] = {}
        frames, audio = model_input.frames, model_input.audio
        if shown.has_video and frames is not None:
            out.update(perceive_video(frames.data))
        if shown.has_audio and audio is not None:
            out.update(perceive_audio(audio.data, audio.sample_rate))
        if shown.has_subtitles:
            out.update(perceive_subtitles(model_input.subtitles or ""))
        return out

    def consistent_options(self, model_input: ModelInput) -> list[int]:
        """Indices of content options consistent with the perceived presented streams."""
        seen = self.perceive(model_input)
        shown = self.presented(model_input)
        stated = {
            k: v
            for k, v in perceive_subtitles(model_input.sample.question).items()
            if v is not None
        }
        hits = []
        for i, text in enumerate(model_input.sample.options):
            if text == NONE_OPTION:
                continue
            values = parse_option(text)
            if all(
                (KINDS[kind].stream not in shown or seen.get(kind) is None or seen[kind] == value)
                and stated.get(kind, value) == value
                for kind, value in values.items()
            ):
                hits.append(i)
        return hits

    def answer(self, model_input: ModelInput) -> str:
        """The letter of the answer (see the module docstring for the rule)."""
        hits = self.consistent_options(model_input)
        options = model_input.sample.options
        if len(hits) == 1:
            return option_letter(hits[0])
        if NONE_OPTION in options:
            return option_letter(options.index(NONE_OPTION))
        return option_letter(hits[0] if hits else 0)

    def caption(self, model_input: ModelInput) -> str:
        """A caption of the presented streams from perceived attributes (the reference template)."""
        return describe(self.perceive(model_input), self.presented(model_input))
