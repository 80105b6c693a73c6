"""MAPO compact omni policy checkpoints (``maple_bench.models.compact``).

The compact policy scores the options directly from stream features (it has no text decoder), so
its "reply" is the chosen option's letter, which the shared scorer parses like any other reply.
Greedy (argmax) by default; ``do_sample=true`` draws from the policy with the per-request seed,
which is what pass@1 over k draws estimates for a trained policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from evaluators.adapters.base import ModelAdapter, Request, check_pretrained, pop_args
from evaluators.adapters.hf import torch_dtype
from maple_bench.modality import VAS


class _Featurize:
    """Picklable preparer: the policy's stream features for one item (CPU, in the workers)."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def __call__(self, model_input: Any, prompt: str) -> Any:
        from maple_bench.models.compact import featurize

        return featurize(model_input, config=self.config)


class CompactAdapter(ModelAdapter):
    """``--model compact:CHECKPOINT_DIR [--model-args do_sample=true,temperature=1.0]``."""

    name: ClassVar[str] = "compact"
    accepts = VAS
    task_kinds = frozenset({"qa"})
    keep_inputs = False  # features are extracted in the workers (preparer)

    def __init__(self, pretrained: str, *, device: str = "cpu", dtype: str = "float32",
                 do_sample: bool = False, temperature: float = 1.0) -> None:  # fmt: skip
        import torch

        from maple_bench.models.compact import CompactOmniPolicy

        self.pretrained, self.device, self.dtype = str(pretrained), device, dtype
        self.do_sample, self.temperature = bool(do_sample), float(temperature)
        # Plain float32 weights: this policy is tiny and trained on CPU; bf16 buys nothing.
        self.model = CompactOmniPolicy.from_pretrained(
            self.pretrained, dtype=torch_dtype("float32")
        )
        self.model.to(device).eval()  # type: ignore[arg-type]
        self._torch = torch

    @classmethod
    def create(cls, kwargs: dict[str, Any], **runtime: Any) -> CompactAdapter:
        args = pop_args(
            kwargs, {"pretrained": None, "do_sample": False, "temperature": 1.0, "dtype": None},
            cls.name,
        )  # fmt: skip
        if not args["pretrained"]:
            from evaluators.adapters.base import AdapterArgumentError

            raise AdapterArgumentError("adapter 'compact' needs --model compact:CHECKPOINT_DIR")
        check_pretrained(str(args["pretrained"]), cls.name)
        return cls(args["pretrained"], device=runtime.get("device") or "cpu", dtype="float32",
                   do_sample=args["do_sample"], temperature=args["temperature"])  # fmt: skip

    def preparer(self) -> _Featurize:
        return _Featurize(self.model.config)

    def generate(self, requests: Sequence[Request]) -> list[str]:
        from maple_bench.models.compact import choice_text, collate_features, featurize

        torch = self._torch
        items = [
            r.prepared if r.prepared is not None else featurize(r.input, config=self.model.config)
            for r in requests
        ]
        feats = collate_features(items)
        feats = {k: v.to(self.device) for k, v in feats.items()}
        with torch.inference_mode():
            logp = self.model.option_log_probs(feats)
        out = []
        for i, r in enumerate(requests):
            if self.do_sample:
                g = torch.Generator().manual_seed(int(r.seed))
                probs = torch.softmax(logp[i].float().cpu() / max(self.temperature, 1e-6), dim=-1)
                idx = int(torch.multinomial(probs, 1, generator=g))
            else:
                idx = int(logp[i].argmax())
            out.append(choice_text(idx))
        return out

    def provenance(self) -> dict[str, Any]:
        cfg = self.model.config
        return {
            "adapter": self.name, "id": self.pretrained, "revision": getattr(cfg, "_commit_hash", None),
            "dtype": "float32", "device": self.device, "architecture": type(self.model).__name__,
            "num_parameters": sum(p.numel() for p in self.model.parameters()),
            "chat_template_hash": None,
            "decoding": {"do_sample": self.do_sample, "temperature": self.temperature},
        }  # fmt: skip
