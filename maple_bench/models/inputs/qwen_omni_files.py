"""What a Qwen2.5-Omni checkpoint's own files say: audio feature extractor and chat template.

Both come from the model itself, a local folder or a Hub id resolved through the Hugging Face
cache (``HF_HUB_OFFLINE`` honoured), and the provenance records which file was used and its hash:

- the feature extractor from ``preprocessor_config.json`` (Qwen2.5-Omni ships 300 s chunks; a
  default ``WhisperFeatureExtractor()`` would pad/truncate at 30 s and tokenise longer audio
  differently). A checkpoint without that file gets the published Qwen2.5-Omni settings
  (``QWEN_OMNI_AUDIO_DEFAULTS``), with a warning and ``source: "defaults"`` in provenance;
- the chat template from the tokenizer, else ``chat_template.jinja`` / ``chat_template.json``; a
  checkpoint with none is refused (a template borrowed from elsewhere would change the prompt).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

__all__ = [
    "QWEN_OMNI_AUDIO_DEFAULTS",
    "model_file",
    "load_feature_extractor",
    "feature_extractor_provenance",
    "resolve_chat_template",
]

log = logging.getLogger(__name__)

#: Audio front-end of the published Qwen2.5-Omni ``preprocessor_config.json`` (3B and 7B).
QWEN_OMNI_AUDIO_DEFAULTS: dict[str, Any] = {
    "feature_size": 128,
    "sampling_rate": 16000,
    "hop_length": 160,
    "chunk_length": 300,
    "n_fft": 400,
    "padding_value": 0.0,
    "dither": 0.0,
    "return_attention_mask": True,
    "padding_side": "right",
}

_FE_KEYS = ("feature_size", "sampling_rate", "hop_length", "chunk_length", "n_fft", "n_samples",
            "nb_max_frames", "padding_value", "dither")  # fmt: skip


def model_file(
    source: str | os.PathLike[str], name: str, revision: str | None = None
) -> Path | None:
    """``name`` in a model folder, or in the Hub cache for a Hub id; None when the model has none.

    Hub ids go through ``transformers.utils.cached_file``, which reads the local cache under
    ``HF_HUB_OFFLINE=1`` and downloads otherwise.
    """
    path = Path(source)
    if path.is_dir():
        found = path / name
        return found if found.is_file() else None
    from transformers.utils import cached_file

    resolved = cached_file(
        str(source),
        name,
        revision=revision,
        _raise_exceptions_for_missing_entries=False,
        _raise_exceptions_for_connection_errors=False,
    )
    return Path(resolved) if resolved else None


def load_feature_extractor(
    source: str | os.PathLike[str] | None, sampling_rate: int, revision: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """(``WhisperFeatureExtractor``, where its settings came from) for a checkpoint.

    ``source`` None (a bare tokenizer was given) or a checkpoint without
    ``preprocessor_config.json`` gets ``QWEN_OMNI_AUDIO_DEFAULTS``; a config that names another
    feature extractor or another sampling rate is an error.
    """
    from transformers import WhisperFeatureExtractor

    config = None if source is None else model_file(source, "preprocessor_config.json", revision)
    if config is None:
        where = "a tokenizer object" if source is None else str(source)
        log.warning(
            "%s has no preprocessor_config.json: using the published Qwen2.5-Omni audio settings "
            "(128 mel bins, 300 s chunks); recorded in provenance as source 'defaults'.",
            where,
        )
        fe = WhisperFeatureExtractor(**{**QWEN_OMNI_AUDIO_DEFAULTS, "sampling_rate": sampling_rate})
        return fe, {"source": "defaults", "file": None, "sha256": None}
    raw = config.read_bytes()  # read once: the settings used are the bytes hashed
    data = json.loads(raw)
    kind = data.get("feature_extractor_type", "WhisperFeatureExtractor")
    if kind != "WhisperFeatureExtractor":
        raise ValueError(
            f"{config}: feature_extractor_type is {kind!r}; the Qwen2.5-Omni input builder "
            "needs WhisperFeatureExtractor. Use the model's original preprocessor_config.json."
        )
    # Built from these bytes (what from_dict does), not from_pretrained: the latter prefers a
    # processor_config.json's nested settings when present, not the file recorded in provenance.
    fe = WhisperFeatureExtractor(**data)
    if int(fe.sampling_rate) != int(sampling_rate):
        raise ValueError(
            f"{config}: sampling_rate is {fe.sampling_rate} but QwenOmniInputConfig.sampling_rate "
            f"is {sampling_rate}; make them agree."
        )
    return fe, {
        "source": str(source),
        "file": str(config),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }


def feature_extractor_provenance(fe: Any, origin: dict[str, Any]) -> dict[str, Any]:
    """The settings that shape ``input_features`` plus where they came from."""
    return {
        "feature_extractor": type(fe).__name__,
        "config": {k: getattr(fe, k, None) for k in _FE_KEYS},
        **{f"config_{k}": v for k, v in origin.items()},
    }


def resolve_chat_template(
    tokenizer: Any, source: str | os.PathLike[str] | None, revision: str | None = None
) -> tuple[str, str]:
    """(template, where it came from): the tokenizer's, else the checkpoint's template file.

    Raises ValueError naming the checkpoint when it has none: another model's template would
    silently change every prompt.
    """
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, str) and template:
        return template, "tokenizer"
    if source is not None:
        for name in ("chat_template.jinja", "chat_template.json"):
            found = model_file(source, name, revision)
            if found is None:
                continue
            text = found.read_text(encoding="utf-8")
            if name.endswith(".json"):
                text = json.loads(text).get("chat_template") or ""
            if text:
                return text, str(found)
    where = "the given tokenizer" if source is None else str(source)
    raise ValueError(
        f"{where} has no chat template (tokenizer_config.json, chat_template.jinja or "
        "chat_template.json); copy the base model's chat_template.jinja into the checkpoint."
    )
