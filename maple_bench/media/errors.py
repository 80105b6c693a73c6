"""Typed media errors. Each names the file and says what to do about it.

The eval runner catches :class:`MediaError` per sample and records it as that sample's error, so
one bad file never stops a run.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CorruptMediaError",
    "EmptyMediaError",
    "MediaError",
    "MediaNotFoundError",
    "NoAudioStreamError",
    "NoVideoStreamError",
    "SubtitleError",
    "UnsafePathError",
]


class MediaError(Exception):
    """A media file could not be used. ``path`` is the file at fault (None if unknown)."""

    default_hint = ""

    def __init__(self, message: str, *, path: str | Path | None = None, hint: str | None = None):
        self.path = None if path is None else Path(path)
        self.reason = message
        self.hint = self.default_hint if hint is None else hint
        where = f"{self.path}: " if self.path is not None else ""
        text = f"{where}{message}"
        if self.hint:
            text += f" ({self.hint})"
        super().__init__(text)

    def __reduce__(self):  # keep pickling (multiprocessing, futures) working
        return _rebuild, (type(self), self.reason, self.path, self.hint)


def _rebuild(cls, reason, path, hint):
    return cls(reason, path=path, hint=hint)


class MediaNotFoundError(MediaError, FileNotFoundError):
    """The file does not exist."""

    default_hint = "check the path and the media root (--media-root), or fetch the media"


class EmptyMediaError(MediaError):
    """The file exists but has zero bytes."""

    default_hint = "the download or copy was probably interrupted; fetch the file again"


class CorruptMediaError(MediaError):
    """The file cannot be demuxed or decoded (truncated, wrong format, damaged)."""

    default_hint = "the file is truncated or damaged; re-download or re-encode it"


class NoVideoStreamError(MediaError):
    """The file has no video stream but frames were requested."""

    default_hint = "point the sample's video at a file with a video stream, or do not present V"


class NoAudioStreamError(MediaError):
    """Audio is required but the file has no audio stream."""

    default_hint = "give the sample a separate audio file, or do not present A"


class UnsafePathError(MediaError):
    """A media path from a data row leaves the media root."""

    default_hint = "media paths must be relative and stay inside the media root"


class SubtitleError(MediaError):
    """A subtitle file cannot be read or parsed."""

    default_hint = "subtitles must be SubRip (.srt) or WebVTT (.vtt) in UTF-8"
