"""Build a model's input from a sample and a presentation: only the presented streams.

Under ``drop`` a stream that is not presented is never decoded, so it cannot leak: with V but
not A, the video file's soundtrack is not even read and ``use_audio_in_video`` is False. Under
``blank`` the stream is replaced by black frames / silence / ``""`` of the real shape, computed
from the container header alone (no decoding of the hidden stream either).
"""

from __future__ import annotations

from pathlib import Path

from maple_bench.media.cache import MediaCache
from maple_bench.media.decode import blank_audio, blank_frames, decode_audio, decode_frames
from maple_bench.media.errors import MediaError
from maple_bench.media.paths import resolve_media_path
from maple_bench.media.spec import Audio, Frames
from maple_bench.media.subtitles import cues_text, parse_subtitles, read_subtitles
from maple_bench.modality import Tag, parse_tag
from maple_bench.present.config import Delivered, MediaConfig, ModelInput
from maple_bench.schema import Sample

__all__ = ["present"]


def _path(config: MediaConfig, sample: Sample, relative: str | None, stream: str) -> Path:
    if relative is None:
        raise MediaError(
            f"sample {sample.id!r} presents {stream} but has no {stream} file",
            hint=f"add a {stream} path to the row, or do not present {stream}",
        )
    return resolve_media_path(config.media_root, relative)


def _frames(sample: Sample, config: MediaConfig, cache: MediaCache | None, real: bool) -> Frames:
    path = _path(config, sample, sample.media.video, "video")
    start, end = sample.media.start, sample.media.end
    if not real:
        return blank_frames(path, config.video, start=start, end=end)
    if cache is not None:
        return cache.get_frames(path, config.video, start, end, backend=config.backend)
    return decode_frames(path, config.video, start=start, end=end, backend=config.backend)


def _audio(sample: Sample, config: MediaConfig, cache: MediaCache | None, real: bool) -> Audio:
    path = _path(config, sample, sample.media.audio_source, "audio")
    start, end = sample.media.start, sample.media.end
    if not real:
        return blank_audio(path, config.audio, start=start, end=end)
    if cache is not None:
        return cache.get_audio(path, config.audio, start, end, backend=config.backend)
    return decode_audio(path, config.audio, start=start, end=end, backend=config.backend)


def _subtitles(sample: Sample, config: MediaConfig, cache: MediaCache | None) -> str:
    """Inline ``subtitle_text`` wins over the file; cue-formatted text is clipped to the window.

    A sample with no subtitle source at all gets ``""`` (the stream is shown, and it is empty).
    """
    start, end = sample.media.start, sample.media.end
    if sample.subtitle_text is not None:
        text = sample.subtitle_text
        if "-->" in text:
            return cues_text(parse_subtitles(text), start=start, end=end)
        return text.strip()
    if sample.media.subtitle is None:
        return ""
    path = resolve_media_path(config.media_root, sample.media.subtitle)
    if cache is not None:
        return cache.get_subtitles(path, start, end)
    return read_subtitles(path, start=start, end=end)


def present(
    sample: Sample,
    config: MediaConfig,
    *,
    presentation: Tag | str | None = None,
    cache: MediaCache | None = None,
) -> ModelInput:
    """The :class:`ModelInput` for ``sample`` shown as ``presentation`` (default: its own).

    Media errors propagate as :class:`MediaError` subclasses naming the file, with the sample
    id prepended, so the runner can record them per sample.
    """
    shown: Tag = parse_tag(
        sample.presentation if presentation is None else presentation, allow_blind=True
    )
    blank = config.policy == "blank"
    frames = audio = subtitles = None
    try:
        if shown.has_video:
            frames = _frames(sample, config, cache, real=True)
        elif blank and sample.media.video is not None:
            frames = _frames(sample, config, cache, real=False)
        if shown.has_audio:
            audio = _audio(sample, config, cache, real=True)
        elif blank and sample.media.audio_source is not None:
            audio = _audio(sample, config, cache, real=False)
        if shown.has_subtitles:
            subtitles = _subtitles(sample, config, cache)
        elif blank:
            subtitles = ""
    except MediaError as e:
        if f"sample {sample.id!r}" in e.reason:
            raise
        raise type(e)(f"sample {sample.id!r}: {e.reason}", path=e.path, hint=e.hint) from e
    delivered = Delivered(
        frames=len(frames) if shown.has_video and frames is not None else 0,
        audio_seconds=audio.seconds if shown.has_audio and audio is not None else 0.0,
        subtitle_chars=len(subtitles) if shown.has_subtitles and subtitles else 0,
    )
    return ModelInput(
        sample=sample,
        presentation=shown,
        policy=config.policy,
        frames=frames,
        audio=audio,
        subtitles=subtitles,
        use_audio_in_video=bool(
            shown.has_audio and sample.media.audio is None and frames is not None
        ),
        delivered=delivered,
    )
