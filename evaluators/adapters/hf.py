"""What the transformers adapters share: dtype/device handling, loading kwargs, generation
settings, provenance (model id, resolved revision, dtype, chat template hash).

``trust_remote_code`` is off unless the user passes ``trust_remote_code=true``: loading a
checkpoint must never run code from it by default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from evaluators.adapters.base import AdapterArgumentError, check_pretrained, text_hash


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings shared by the generative adapters (recorded in provenance)."""

    max_new_tokens: int = 16
    """Reply length cap (an MCQ letter needs few tokens; raise it for captions)."""
    do_sample: bool = False
    """Greedy by default; sampling (k > 1 draws) uses the per-request seed."""
    temperature: float = 1.0
    """Sampling temperature (only with do_sample)."""
    top_p: float = 1.0
    """Nucleus sampling mass (only with do_sample)."""

    def kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample}
        if self.do_sample:
            kw.update(temperature=self.temperature, top_p=self.top_p)
        return kw


COMMON_ARGS: dict[str, Any] = {
    "pretrained": None,
    "revision": None,
    "dtype": None,
    "trust_remote_code": False,
    "max_new_tokens": 16,
    "do_sample": False,
    "temperature": 1.0,
    "top_p": 1.0,
    "attn_implementation": None,
}
"""``--model-args`` every transformers adapter understands."""


def torch_dtype(name: str | None) -> Any:
    import torch

    if name in (None, "auto"):
        return None
    aliases = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32",
               "float": "float32"}  # fmt: skip
    name = aliases.get(str(name), str(name))
    dt = getattr(torch, name, None)
    if not isinstance(dt, torch.dtype):
        raise AdapterArgumentError(f"unknown dtype {name!r}; use bfloat16, float16 or float32")
    return dt


def split_common(args: dict[str, Any], runtime: dict[str, Any], adapter: str) -> dict[str, Any]:
    """Common args with runtime defaults (device, dtype) filled in; checks ``pretrained``."""
    out = {k: args.pop(k, v) for k, v in COMMON_ARGS.items()}
    if not out["pretrained"]:
        raise AdapterArgumentError(
            f"adapter {adapter!r} needs a checkpoint: --model {adapter}:PATH_OR_HUB_ID or "
            f"--model-args pretrained=PATH_OR_HUB_ID"
        )
    check_pretrained(str(out["pretrained"]), adapter)
    out["dtype"] = out["dtype"] or runtime.get("dtype") or "float32"
    out["device"] = runtime.get("device") or "cpu"
    return out


def load_kwargs(common: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {"trust_remote_code": bool(common["trust_remote_code"])}
    if common.get("revision"):
        kw["revision"] = common["revision"]
    dt = torch_dtype(common.get("dtype"))
    if dt is not None:
        kw["dtype"] = dt
    if common.get("attn_implementation"):
        kw["attn_implementation"] = common["attn_implementation"]
    return kw


def generation_settings(common: dict[str, Any]) -> GenerationSettings:
    return GenerationSettings(
        max_new_tokens=int(common["max_new_tokens"]),
        do_sample=bool(common["do_sample"]),
        temperature=float(common["temperature"]),
        top_p=float(common["top_p"]),
    )


def model_provenance(adapter: str, common: dict[str, Any], model: Any, tokenizer: Any,
                     gen: GenerationSettings, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """The model block of the results provenance."""
    cfg = getattr(model, "config", None)
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        template = "\n".join(f"{k}:{v}" for k, v in sorted(template.items()))
    return {
        "adapter": adapter,
        "id": str(common["pretrained"]),
        "revision": common.get("revision") or getattr(cfg, "_commit_hash", None),
        "dtype": str(common["dtype"]),
        "device": common["device"],
        "architecture": (getattr(cfg, "architectures", None) or [type(model).__name__])[0],
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "trust_remote_code": bool(common["trust_remote_code"]),
        "chat_template_hash": text_hash(template),
        "generation": asdict(gen),
        **extra,
    }


def to_device(inputs: dict[str, Any], device: str, dtype: Any) -> dict[str, Any]:
    """Tensors to ``device``; floating tensors (pixels, audio features) also to the model dtype."""
    import torch

    out: dict[str, Any] = {}
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device)
            if v.is_floating_point() and dtype is not None and k != "video_second_per_grid":
                v = v.to(dtype)
        out[k] = v
    return out


def seed_batch(requests: Any) -> None:
    """Seed torch from the batch's first request: sampled replies then reproduce per batch."""
    import torch

    if requests:
        torch.manual_seed(int(requests[0].seed))


def decode_new_tokens(tokenizer: Any, sequences: Any, prompt_len: int) -> list[str]:
    new = sequences[:, prompt_len:]
    return [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
