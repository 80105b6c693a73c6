"""Write a MAPLE-Synth set: media, raw annotations (``qa.jsonl``, ``captions.jsonl``), truth.

Layout of ``out`` (the raw annotation format of ``data_cards/RAW_FORMAT.md``)::

    qa.jsonl          one question per row: id, video_id, question, options, answer, rmt, ...
    captions.jsonl    one row per (video, tag): video_id, rmt, caption, ...
    media/<vid>.mp4   h264 frames + aac soundtrack (PyAV)
    media/<vid>.srt   the subtitle stream
    synth.json        generator config + per-video attribute truth + per-question kinds

Every video carries one question of each of the seven tags, so ``--per-tag N`` gives N videos and
7 N questions with perfectly balanced tags. Randomness is drawn per video from
``SeedSequence([seed, video_index])`` (and per tag for answer positions), so output does not
depend on the number of worker processes. The set is built in a temporary folder next to
``out`` and renamed into place at the end.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maple_bench.fileio import make_temp_dir
from maple_bench.modality import ALL_TAGS
from maple_bench.synth.attributes import KINDS
from maple_bench.synth.captions import describe
from maple_bench.synth.questions import answer_positions, min_options, plan_question
from maple_bench.synth.render import (
    SENTENCES,
    render_audio,
    render_frames,
    sample_attributes,
    sample_paths,
    subtitle_cues,
)

log = logging.getLogger(__name__)

SYNTH_VERSION = "1.1"
"""Bumped whenever the same config would produce different content."""


@dataclass(frozen=True)
class SynthConfig:
    """Everything that determines a generated set."""

    per_tag: int = 10
    """Questions per tag (= number of videos; each video has one question per tag)."""
    seed: int = 0
    """Master seed."""
    clip_seconds: float = 4.0
    """Clip length in seconds."""
    width: int = 64
    """Frame width in pixels (even, >= 64)."""
    height: int = 64
    """Frame height in pixels (even, >= 48)."""
    fps: float = 8.0
    """Frame rate."""
    num_options: int = 4
    """Options per question (>= 4, so VAS questions can meet the deficit rule)."""
    test_fraction: float = 1.0
    """Share of videos in the ``test`` split; the rest are ``train``."""
    sample_rate: int = 16000
    """Audio sample rate of the soundtrack."""

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0; got {self.seed}")
        if self.per_tag < 1:
            raise ValueError(f"per_tag must be >= 1; got {self.per_tag}")
        if self.width % 2 or self.height % 2 or self.width < 64 or self.height < 48:
            raise ValueError(
                f"size {self.width}x{self.height}: width and height must be even, width >= 64 "
                "(decord 0.6 cannot decode narrower h264) and height >= 48 (shapes must stay "
                "recognisable after h264); 64x64 is the tested default"
            )
        if self.clip_seconds < 1.0:
            raise ValueError(
                f"clip_seconds must be >= 1 (4 beeps must fit); got {self.clip_seconds}"
            )
        if self.fps <= 0:
            raise ValueError(f"fps must be positive; got {self.fps}")
        need = max(min_options(t) for t in ALL_TAGS)
        if not need <= self.num_options <= 16:
            raise ValueError(
                f"num_options must be between {need} (a VAS question needs the truth plus one "
                f"option per stream) and 16; got {self.num_options}"
            )
        if not 0.0 <= self.test_fraction <= 1.0:
            raise ValueError(f"test_fraction must be in [0, 1]; got {self.test_fraction}")

    def video_id(self, index: int) -> str:
        return f"syn{self.seed}-{index:05d}"


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(list(keys)))


def _test_videos(config: SynthConfig) -> set[int]:
    n_test = round(config.per_tag * config.test_fraction)
    picked = _rng(config.seed, 1_000_003).permutation(config.per_tag)[:n_test]
    return {int(i) for i in picked}


def plan_video(config: SynthConfig, index: int, positions: dict[str, list[int]]) -> dict[str, Any]:
    """Attributes, rendering choices and questions of one video (no media written)."""
    rng = _rng(config.seed, index)
    attrs = sample_attributes(rng)
    paths = sample_paths(rng, int(attrs["count"]))
    order = [int(i) for i in rng.permutation(len(SENTENCES))]
    questions = []
    for tag in ALL_TAGS:
        plan = plan_question(tag, attrs, config.num_options, positions[tag.name][index], rng)
        questions.append(plan)
    return {"index": index, "attrs": attrs, "paths": paths, "order": order, "questions": questions}


def _write_media(config: SynthConfig, video: dict[str, Any], media_dir: Path) -> None:
    from maple_bench.media.write import write_srt, write_video

    vid = config.video_id(video["index"])
    frames = render_frames(
        video["attrs"],
        video["paths"],
        width=config.width,
        height=config.height,
        fps=config.fps,
        seconds=config.clip_seconds,
    )
    audio = render_audio(
        video["attrs"],
        _rng(config.seed, video["index"], 1),
        seconds=config.clip_seconds,
        sample_rate=config.sample_rate,
    )
    write_video(
        media_dir / f"{vid}.mp4", frames, config.fps, audio=audio, sample_rate=config.sample_rate
    )
    write_srt(
        media_dir / f"{vid}.srt",
        subtitle_cues(video["attrs"], video["order"], seconds=config.clip_seconds),
    )


def _media_job(args: tuple[SynthConfig, dict[str, Any], str]) -> str:
    config, video, media_dir = args
    _write_media(config, video, Path(media_dir))
    return config.video_id(video["index"])


def _rows(config: SynthConfig, videos: list[dict[str, Any]], test: set[int]) -> tuple[list, list]:
    qa, caps = [], []
    for video in videos:
        vid = config.video_id(video["index"])
        split = "test" if video["index"] in test else "train"
        media = {"video": f"{vid}.mp4", "subtitle": f"{vid}.srt"}
        for plan in video["questions"]:
            texts = plan.option_texts
            qa.append(
                {
                    "id": f"{vid}-{plan.tag.name}",
                    "video_id": vid,
                    "question": plan.question,
                    "options": list(texts),
                    "answer": texts[plan.answer_index],
                    "rmt": plan.tag.name,
                    **media,
                    "split": split,
                    "metadata": {
                        "generator": "maple-bench synth",
                        "synth_version": SYNTH_VERSION,
                        "kinds": list(plan.kinds),
                        "option_design": plan.design,
                    },
                }
            )
        for tag in ALL_TAGS:
            caps.append(
                {
                    "id": f"{vid}-caption-{tag.name}",
                    "video_id": vid,
                    "rmt": tag.name,
                    "caption": describe(video["attrs"], tag),
                    **media,
                    "split": split,
                    "metadata": {"generator": "maple-bench synth", "synth_version": SYNTH_VERSION},
                }
            )
    return qa, caps


def _dump_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")


def _truth(config: SynthConfig, videos: list[dict[str, Any]], test: set[int]) -> dict[str, Any]:
    designs = Counter(p.design for v in videos for p in v["questions"])
    return {
        "generator": "maple-bench synth",
        "synth_version": SYNTH_VERSION,
        "config": asdict(config),
        "kinds": {
            name: {"stream": k.stream.value, "asked": k.asked, "values": list(k.values)}
            for name, k in KINDS.items()
        },
        "option_grammar": "components joined by ', ' in kind order; see maple_bench.synth.attributes",
        "stats": {
            "videos": len(videos),
            "questions_per_tag": {t.name: len(videos) for t in ALL_TAGS},
            "option_designs": dict(sorted(designs.items())),
        },
        "videos": {
            config.video_id(v["index"]): {
                "split": "test" if v["index"] in test else "train",
                "attributes": v["attrs"],
                "objects": [asdict(p) for p in v["paths"]],
                "subtitle_order": v["order"],
                "questions": {
                    p.tag.name: {"kinds": list(p.kinds), "design": p.design} for p in v["questions"]
                },
            }
            for v in videos
        },
    }


def generate(
    out: str | os.PathLike[str], config: SynthConfig, *, workers: int = 1, overwrite: bool = False
) -> Path:
    """Build the set in a temporary sibling of ``out`` and move it into place; returns ``out``.

    Refuses an existing ``out`` unless ``overwrite``. ``workers`` > 1 encodes media in a process
    pool; the output is identical either way.
    """
    out = Path(out).resolve()
    if out.exists() and not overwrite:
        raise FileExistsError(
            f"{out} already exists; pass --overwrite (overwrite=True) to replace it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    positions = {
        tag.name: answer_positions(
            config.per_tag, config.num_options, _rng(config.seed, 2_000_003, i)
        )
        for i, tag in enumerate(ALL_TAGS)
    }
    videos = [plan_video(config, i, positions) for i in range(config.per_tag)]
    test = _test_videos(config)
    tmp = make_temp_dir(out, ".tmp")
    try:
        media_dir = tmp / "media"
        media_dir.mkdir()
        jobs = [(config, v, str(media_dir)) for v in videos]
        if workers > 1 and len(jobs) > 1:
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
                for _ in pool.imap_unordered(_media_job, jobs, chunksize=4):
                    pass
        else:
            for job in jobs:
                _media_job(job)
        qa, caps = _rows(config, videos, test)
        _dump_jsonl(tmp / "qa.jsonl", qa)
        _dump_jsonl(tmp / "captions.jsonl", caps)
        (tmp / "synth.json").write_text(
            json.dumps(_truth(config, videos, test), sort_keys=True, indent=1, ensure_ascii=False)
            + "\n",
            encoding="utf-8",
        )
        if out.exists():
            trash = make_temp_dir(out, ".old")
            os.replace(out, trash / "old")
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    designs = Counter(p.design for v in videos for p in v["questions"])
    if designs.get("star"):
        log.warning(
            "%d questions use the 'star' option design (truth is the most frequent value per "
            "component, so option frequencies hint at the answer). For balanced options use "
            "num_options=8: `maple-bench synth --out DIR --num-options 8`, then evaluate with "
            "`maple-eval run --data DIR` (sets maple-eval generates itself keep %d options)",
            designs["star"],
            config.num_options,
        )
    return out


__all__ = ["SYNTH_VERSION", "SynthConfig", "generate", "plan_video"]
