"""Media I/O: frames, audio and subtitles decoded per a spec, cached, and safely located.

- :mod:`.spec`: ``VideoSpec`` / ``AudioSpec`` and the frame-sampling rule.
- :mod:`.decode`: ``decode_frames`` / ``decode_audio`` over the backends in :mod:`.backends`
  (decord by default, PyAV always, torchcodec when it imports).
- :mod:`.subtitles`: SRT / WebVTT parsing. :mod:`.cache`: ``MediaCache``.
- :mod:`.paths`: ``resolve_media_path`` (no escaping the media root). :mod:`.errors`: typed errors.
- :mod:`.write`: real mp4 / wav / srt / vtt written from Python (tests, synthetic data).
"""

from maple_bench.media.backends import available_backends, backend_info
from maple_bench.media.cache import CacheStats, MediaCache
from maple_bench.media.decode import (
    MediaInfo,
    blank_audio,
    blank_frames,
    decode_audio,
    decode_frames,
    frame_times,
    probe,
)
from maple_bench.media.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaNotFoundError,
    NoAudioStreamError,
    NoVideoStreamError,
    SubtitleError,
    UnsafePathError,
)
from maple_bench.media.paths import resolve_media_path
from maple_bench.media.spec import (
    Audio,
    AudioSpec,
    Frames,
    VideoSpec,
    sample_indices,
    sample_indices_at,
)
from maple_bench.media.subtitles import Cue, cues_text, parse_subtitles, read_subtitles
from maple_bench.media.write import write_audio, write_srt, write_video, write_vtt

__all__ = [
    "Audio",
    "AudioSpec",
    "CacheStats",
    "CorruptMediaError",
    "Cue",
    "EmptyMediaError",
    "Frames",
    "MediaCache",
    "MediaError",
    "MediaInfo",
    "MediaNotFoundError",
    "NoAudioStreamError",
    "NoVideoStreamError",
    "SubtitleError",
    "UnsafePathError",
    "VideoSpec",
    "available_backends",
    "backend_info",
    "blank_audio",
    "blank_frames",
    "cues_text",
    "decode_audio",
    "decode_frames",
    "frame_times",
    "parse_subtitles",
    "probe",
    "read_subtitles",
    "resolve_media_path",
    "sample_indices",
    "sample_indices_at",
    "write_audio",
    "write_srt",
    "write_video",
    "write_vtt",
]
