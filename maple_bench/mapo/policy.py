"""The policy protocol MAPO trains, and its two families of implementations.

A policy turns a presented sample (a :class:`maple_bench.present.ModelInput`, built by the same
presentation/masking code as the evaluators) into a *prompt* (``encode``), samples G completions
per prompt with their per-token log-probs (``sample``), and recomputes log-probs and entropies
with gradients for given completions (``logprobs``). Completion *texts* go to the shared scorer.

- :class:`GenerativePolicy`: any transformers causal LM (text prompt) or Qwen2.5-Omni's thinker
  (frames + audio features + text); completions are generated token sequences.
- :class:`CompactPolicy`: :mod:`maple_bench.models.compact`'s option scorer; a completion is one
  option choice (a single "token": the option index), its text is the option letter.

Every forward pass that touches the weights runs through :class:`PolicyRunner`, one
``torch.nn.Module`` around the model that accelerate prepares (DDP, FSDP2, DeepSpeed). Its
``forward(op, ...)`` dispatches to ``sample`` or ``logprobs``, so FSDP's root hooks gather the
parameters and DDP sees every forward, however many model calls one op makes inside.

Encoders once per prompt: for Qwen2.5-Omni's thinker the vision and audio encoders run once per
prompt per pass, and their features are merged into the prompt's input embeddings, which are
then shared by the prompt's G completions (generation and the loss forward); the features keep
their autograd graph, so encoders still receive the summed gradient of all G completions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import torch

from maple_bench.schema import option_letter

if TYPE_CHECKING:
    from transformers import GenerationMixin, PreTrainedModel


@dataclass
class Rollouts:
    """G completions for each of P prompts, prompt-major (row j belongs to prompt j // G)."""

    tokens: torch.Tensor
    """[N, L] long: completion token ids (right-padded)."""
    mask: torch.Tensor
    """[N, L] float: 1 for completion tokens (up to and including EOS), 0 for padding."""
    logprobs: torch.Tensor | None
    """[N, L] float: log-probs of the tokens under the sampling policy (no grad), if computed."""
    texts: list[str]
    """Decoded completions, what the scorer reads."""
    truncated: torch.Tensor | None = None
    """[N] bool: the completion hit the generation budget without an end-of-turn token."""


class Policy(Protocol):
    """What the trainer needs from a policy."""

    model: torch.nn.Module
    max_len: int
    """Generation budget L_max in tokens (the ``constant`` aggregation divides by it)."""

    def encode(self, model_input: Any) -> Any:
        """Prompt features for one presented sample (cacheable, kept on CPU)."""

    def sample(
        self,
        prompts: Sequence[Any],
        group_size: int,
        temperature: float,
        with_logprobs: bool = True,
        seeds: Sequence[int] | None = None,
    ) -> Rollouts:
        """G completions per prompt. ``seeds`` (one per prompt) make each prompt's draws
        independent of batching and of the number of processes; without them torch's global RNG
        is used.

        ``with_logprobs=False`` may skip the sampling-time log-probs (``Rollouts.logprobs`` is then
        None): with one update per batch the trainer uses the detached recomputed ones (ratio 1).
        """

    def logprobs(
        self, prompts: Sequence[Any], tokens: torch.Tensor, mask: torch.Tensor, temperature: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token (log-prob, entropy) [n, L] for rows whose prompts are ``prompts`` (one per row)."""

    def save(self, path: Path) -> None:
        """Write a ``save_pretrained`` directory loadable by the evaluators."""

    def load_weights(self, path: Path) -> None:
        """Load the weights of a directory written by ``save`` into the current model."""


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


class PolicyRunner(torch.nn.Module):
    """The module accelerate prepares: ``runner("sample", ...)`` / ``runner("logprobs", ...)``.

    Holds the policy's model as its only child (``runner.model``), so its state dict is the
    model's with a ``model.`` prefix. The policy object itself is kept outside the module tree.
    """

    _policy: Any
    _no_split_modules: list[str]

    def __init__(self, policy: Any) -> None:
        super().__init__()
        self.model = policy.model
        object.__setattr__(self, "_policy", policy)  # not a submodule
        # accelerate's FSDP auto-wrap shards these classes as units by default: only decoder
        # layers. Encoders run a data-dependent number of times per process (a V-only batch
        # never calls the audio tower), so they stay in the root unit, gathered once per forward.
        names = getattr(policy.model, "_no_split_modules", None) or []
        self._no_split_modules = [n for n in names if n.endswith("DecoderLayer")]

    def forward(self, op: str, *args: Any, **kwargs: Any) -> Any:
        if op == "sample":
            return self._policy._sample(*args, **kwargs)
        if op == "logprobs":
            logp, ent = self._policy._logprobs(*args, **kwargs)
            if torch.is_grad_enabled():
                logp = logp + 0.0 * self._touch_root_params()
            return logp, ent
        raise ValueError(f"PolicyRunner: unknown op {op!r} (sample, logprobs)")

    def _touch_root_params(self) -> torch.Tensor:
        """0-weighted use of every parameter outside the FSDP sub-units (encoders, embeddings,
        head), so each backward gives all of them a gradient on every process: a V-only
        micro-batch would otherwise leave the audio tower's gradients None on one process and
        not on another, and FSDP's reduce-scatter of the root unit would disagree in size. The
        gradients it adds are exact zeros (AdamW then sees 0, as DDP gives unused parameters)."""
        from torch.distributed.fsdp import FSDPModule

        def walk(m: torch.nn.Module) -> Any:
            for p in m.parameters(recurse=False):
                if p.requires_grad:
                    yield p
            for c in m.children():
                if not isinstance(c, FSDPModule):
                    yield from walk(c)

        dev = next(self.model.parameters()).device
        total = torch.zeros((), device=dev)
        for p in walk(self.model):
            total = total + p.reshape(-1)[:1].float().sum()
        return total


class _RunnerMixin:
    """``sample`` / ``logprobs`` go through ``self.runner`` (set to the prepared runner)."""

    model: Any
    runner: Any

    def _init_runner(self) -> None:
        self.runner = PolicyRunner(self)

    def sample(
        self,
        prompts: Sequence[Any],
        group_size: int,
        temperature: float,
        with_logprobs: bool = True,
        seeds: Sequence[int] | None = None,
    ) -> Rollouts:
        """G completions per prompt (see :class:`Policy`); runs through the runner."""
        with torch.no_grad():
            return cast(
                "Rollouts",
                self.runner(
                    "sample",
                    prompts,
                    group_size,
                    temperature,
                    with_logprobs=with_logprobs,
                    seeds=seeds,
                ),
            )

    def logprobs(
        self, prompts: Sequence[Any], tokens: torch.Tensor, mask: torch.Tensor, temperature: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token (log-prob, entropy) for rows (see :class:`Policy`); runs through the runner."""
        return cast(
            "tuple[torch.Tensor, torch.Tensor]",
            self.runner("logprobs", prompts, tokens, mask, temperature),
        )


# --------------------------------------------------------------------------------- compact
class CompactPolicy(_RunnerMixin):
    """Wraps ``CompactOmniPolicy``: logits over the sample's options, one choice per completion."""

    max_len = 1

    def __init__(
        self,
        model: PreTrainedModel,
        featurize: Callable[..., dict[str, torch.Tensor]],
        collate: Callable[[Sequence[dict[str, torch.Tensor]]], dict[str, torch.Tensor]]
        | None = None,
    ) -> None:
        self.model = model
        self._featurize = featurize
        self._collate = collate or _cat_features
        self._init_runner()

    def encode(self, model_input: Any) -> dict[str, Any]:
        feats = self._featurize(model_input)
        return {"features": feats, "num_options": len(model_input.sample.options)}

    def _option_logits(self, prompts: Sequence[dict[str, Any]]) -> torch.Tensor:
        dev = _device_of(self.model)
        batch = {k: v.to(dev) for k, v in self._collate([p["features"] for p in prompts]).items()}
        logits = self.model(**batch).logits.float()
        n_opt = torch.tensor([p["num_options"] for p in prompts], device=dev)
        valid = torch.arange(logits.shape[-1], device=dev)[None, :] < n_opt[:, None]
        return logits.masked_fill(~valid, float("-inf"))

    @torch.no_grad()
    def _sample(
        self,
        prompts: Sequence[dict[str, Any]],
        group_size: int,
        temperature: float,
        with_logprobs: bool = True,
        seeds: Sequence[int] | None = None,
    ) -> Rollouts:
        logits = self._option_logits(prompts) / max(temperature, 1e-6)
        logp = torch.log_softmax(logits, -1)
        probs = logp.exp().cpu().double()
        if seeds is None:
            choice = torch.multinomial(probs, group_size, replacement=True)
        else:
            choice = torch.stack(
                [
                    torch.multinomial(
                        pr,
                        group_size,
                        replacement=True,
                        generator=torch.Generator().manual_seed(int(sd)),
                    )
                    for pr, sd in zip(probs, seeds)
                ]
            )
        choice = choice.to(logp.device)
        lp = logp.gather(1, choice)  # [P, G]
        tokens = choice.reshape(-1, 1)
        return Rollouts(
            tokens=tokens.cpu(),
            mask=torch.ones(tokens.shape[0], 1),
            logprobs=lp.reshape(-1, 1).cpu(),
            texts=[option_letter(int(i)) for i in tokens.flatten()],
            truncated=torch.zeros(tokens.shape[0], dtype=torch.bool),
        )

    def _logprobs(self, prompts, tokens, mask, temperature):
        logits = self._option_logits(prompts) / max(temperature, 1e-6)
        logp = torch.log_softmax(logits, -1)
        tok = tokens.to(logp.device)
        probs = logp.exp()
        ent = -(probs * logp.masked_fill(probs == 0, 0.0)).sum(-1, keepdim=True)
        return logp.gather(1, tok), ent

    def save(self, path: Path) -> None:
        self.model.save_pretrained(path)

    def load_weights(self, path: Path) -> None:
        _load_weights(self.model, path)


def _load_weights(model: PreTrainedModel, path: Path) -> None:
    fresh = type(model).from_pretrained(path)
    model.load_state_dict(fresh.state_dict())


def _cat_features(items: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Concatenate per-sample feature dicts whose tensors carry a leading batch dim of 1."""
    out = {}
    for k in items[0]:
        vals = [it[k] if it[k].dim() > 0 else it[k][None] for it in items]
        vals = [v if v.shape[0] == 1 else v[None] for v in vals]
        out[k] = torch.cat(vals, 0)
    return out


# --------------------------------------------------------------------------------- generative
_SHARED_BATCH_KEYS = (
    "pixel_values_videos",
    "video_grid_thw",
    "pixel_values",
    "image_grid_thw",
    "video_second_per_grid",
)


def expand_inputs(inputs: dict[str, Any], n: int) -> dict[str, Any]:
    """Repeat one prompt's model inputs ``n`` times along the batch (flattened patch tensors of
    Qwen-style vision inputs are concatenated, everything else repeated on dim 0)."""
    out = {}
    for k, v in inputs.items():
        if not torch.is_tensor(v):
            out[k] = v
        elif k in _SHARED_BATCH_KEYS:
            out[k] = torch.cat([v] * n, 0)
        else:
            out[k] = v.repeat(n, *([1] * (v.dim() - 1)))
    return out


_PLACEHOLDER_NAMES = (
    "image_token",
    "video_token",
    "audio_token",
    "vision_bos_token",
    "vision_eos_token",
    "audio_bos_token",
    "audio_eos_token",
)


_ENCODER_INPUTS = ("pixel_values_videos", "pixel_values", "input_features")


def _omni_core(model: torch.nn.Module) -> Any:
    """The inner Qwen2.5-Omni thinker model when ``model`` is one (it merges encoder features
    into the input embeddings with ``get_placeholder_mask``); None for other models."""
    core = getattr(model, "model", None)
    needed = ("get_placeholder_mask", "get_video_features", "get_audio_features", "get_rope_index")
    return core if core is not None and all(hasattr(core, n) for n in needed) else None


def omni_prompt_embeds(model: torch.nn.Module, inputs: dict[str, Any]) -> torch.Tensor:
    """[1, L, d] input embeddings of ONE prompt with its audio, video and image features merged,
    exactly as the thinker's forward merges them, so the encoders run once for G completions.

    ``model`` is a Qwen2.5-Omni thinker (see :func:`_omni_core`); ``inputs`` one prompt's model
    inputs (batch dim 1) on the model's device. Gradients flow into the encoders.
    """
    core = _omni_core(model)
    if core is None:
        raise TypeError(f"{type(model).__name__} is not a Qwen2.5-Omni thinker")
    ids = inputs["input_ids"]
    emb = core.get_input_embeddings()(ids)
    if inputs.get("input_features") is not None:
        feats = core.get_audio_features(
            inputs["input_features"], inputs.get("feature_attention_mask"), return_dict=True
        ).last_hidden_state
        _, _, audio_mask = core.get_placeholder_mask(ids, inputs_embeds=emb)
        emb = emb.masked_scatter(audio_mask, feats.to(emb.dtype))
    for kind, values, grid in (
        ("image", "pixel_values", "image_grid_thw"),
        ("video", "pixel_values_videos", "video_grid_thw"),
    ):
        if inputs.get(values) is None:
            continue
        encode = core.get_image_features if kind == "image" else core.get_video_features
        feats = torch.cat(
            encode(inputs[values], inputs.get(grid), return_dict=True).pooler_output, 0
        )
        masks = core.get_placeholder_mask(ids, inputs_embeds=emb, **{f"{kind}_features": feats})
        emb = emb.masked_scatter(masks[0 if kind == "image" else 1], feats.to(emb.dtype))
    return emb


def _omni_positions(model: torch.nn.Module, inputs: dict[str, Any]) -> torch.Tensor:
    """[3, n, L] multimodal RoPE positions of n rows that share one prompt (no padding)."""
    core = _omni_core(model)
    fam = inputs.get("feature_attention_mask")
    pos, _ = core.get_rope_index(
        inputs["input_ids"],
        inputs.get("image_grid_thw"),
        inputs.get("video_grid_thw"),
        inputs["attention_mask"],
        bool(inputs.get("use_audio_in_video") or False),
        fam.sum(-1) if fam is not None else None,
        inputs.get("video_second_per_grid"),
    )
    return cast("torch.Tensor", pos)


class SeededGumbel:
    """A logits processor that turns greedy search into sampling with one generator per prompt.

    argmax(scores / T + g), g ~ Gumbel(0, 1) i.i.d., is a draw from softmax(scores / T) (the
    Gumbel-max trick); the noise of prompt i's G rows is drawn from prompt i's own generator
    (CPU, seeded), so a prompt's completions do not depend on which other prompts share the
    batch, and a whole batch of prompts still generates in ONE call. Tokens masked to -inf
    (suppressed placeholders) stay impossible. Rows are prompt-major: G rows per seed.
    """

    def __init__(self, seeds: Sequence[int], group_size: int, temperature: float) -> None:
        self.gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.group_size = group_size
        self.temperature = max(float(temperature), 1e-6)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        vocab = scores.shape[-1]
        noise = torch.cat(
            [
                -torch.empty(self.group_size, vocab).exponential_(generator=g).log()
                for g in self.gens
            ]
        )
        return scores.float() / self.temperature + noise.to(scores.device)


class GenerativePolicy(_RunnerMixin):
    """A transformers generative model: causal LM or Qwen2.5-Omni thinker.

    ``build_inputs(model_input) -> dict`` makes the model's inputs for one prompt (batch dim 1).
    Text-only prompts (``input_ids`` + ``attention_mask`` only) are batched with left padding.
    Multimodal prompts generate one prompt (G completions) at a time; for the Qwen2.5-Omni
    thinker the encoders run once per prompt (:func:`omni_prompt_embeds`) and the loss forward
    of a micro-batch is ONE left-padded language-model call over all its rows (so every process
    makes the same number of sharded calls under FSDP); other multimodal models repeat the
    prompt's inputs per completion.
    """

    accepted_streams: frozenset[str]
    """Streams the input builder accepts; set by :func:`maple_bench.mapo.loading.build_policy`
    (annotation only: an instance without it reads as unrestricted, see the trainer)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        build_inputs: Callable[[Any], dict[str, torch.Tensor]],
        *,
        max_new_tokens: int = 16,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self._build = build_inputs
        self.max_len = max_new_tokens
        self.synced_gpus = False
        """Set by the trainer under FSDP / ZeRO-3: ``generate`` keeps every process stepping."""
        self.encode_once = _omni_core(model) is not None
        """Merge encoder features once per prompt (Qwen2.5-Omni thinker); False repeats inputs."""
        eos = getattr(model, "generation_config", None)
        eos_ids = getattr(eos, "eos_token_id", None) if eos is not None else None
        if eos_ids is None:
            eos_ids = tokenizer.eos_token_id
        self.eos_ids = set(eos_ids if isinstance(eos_ids, list) else [eos_ids])
        self.pad_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self.eos_ids)
        )
        # multimodal placeholders are never sampled: an emitted <|AUDIO|> would be read as a
        # slot for audio features when the completion is fed back for its log-probs
        self.suppress_ids = sorted(
            {
                tokenizer.convert_tokens_to_ids(tok)
                for tok in (getattr(tokenizer, name, None) for name in _PLACEHOLDER_NAMES)
                if isinstance(tok, str) and tokenizer.convert_tokens_to_ids(tok) is not None
            }
            - self.eos_ids
        )
        self._init_runner()

    def encode(self, model_input: Any) -> dict[str, torch.Tensor]:
        return {
            k: (v.cpu() if torch.is_tensor(v) else v) for k, v in self._build(model_input).items()
        }

    @staticmethod
    def _text_only(prompts: Sequence[dict[str, Any]]) -> bool:
        return all(set(p) <= {"input_ids", "attention_mask"} for p in prompts)

    def _left_pad(self, prompts: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(p["input_ids"].shape[-1] for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        att = torch.zeros(len(prompts), width, dtype=torch.long)
        for i, p in enumerate(prompts):
            n = p["input_ids"].shape[-1]
            ids[i, width - n :] = p["input_ids"].reshape(-1)
            att[i, width - n :] = p.get("attention_mask", torch.ones(1, n)).reshape(-1).long()
        return {"input_ids": ids, "attention_mask": att}

    def _completion_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        is_eos = torch.zeros_like(tokens, dtype=torch.bool)
        for e in self.eos_ids:
            is_eos |= tokens == e
        # keep tokens up to and including the first EOS
        after = (is_eos.cumsum(-1) - is_eos.long()) > 0
        return (~after).float()

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Move tensors to the model's device. Floating inputs keep float32: the weights are
        fp32 masters and bf16 / fp16 compute comes from autocast (accelerate's mixed precision)."""
        dev = _device_of(self.model)
        return {k: (v.to(dev) if torch.is_tensor(v) else v) for k, v in batch.items()}

    def _generate_kwargs(self, temperature: float) -> dict[str, Any]:
        kw: dict[str, Any] = dict(
            do_sample=True,
            temperature=temperature,
            top_p=1.0,
            top_k=0,
            max_new_tokens=self.max_len,
            pad_token_id=self.pad_id,
            eos_token_id=sorted(self.eos_ids),
        )
        if self.suppress_ids:
            kw["suppress_tokens"] = self.suppress_ids
        if self.synced_gpus:
            kw["synced_gpus"] = True
        return kw

    @staticmethod
    def _seeded_kwargs(
        gen_kw: dict[str, Any], seeds: Sequence[int], group_size: int, temperature: float
    ) -> dict[str, Any]:
        from transformers import LogitsProcessorList

        kw = {k: v for k, v in gen_kw.items() if k not in ("temperature", "top_k", "top_p")}
        kw["do_sample"] = False
        kw["logits_processor"] = LogitsProcessorList([SeededGumbel(seeds, group_size, temperature)])
        return kw

    def _generate_one(self, p: dict[str, Any], group_size: int, gen_kw: dict[str, Any]) -> Any:
        """G completions of one prompt: [G, prompt + new] token ids."""
        gen = cast("GenerationMixin", self.model)
        batch = self._to_device(expand_inputs(p, group_size))
        if self.encode_once and any(p.get(k) is not None for k in _ENCODER_INPUTS):
            emb = omni_prompt_embeds(self.model, self._to_device(p))
            rest = {k: v for k, v in batch.items() if k not in _ENCODER_INPUTS}
            return gen.generate(**rest, inputs_embeds=emb.expand(group_size, -1, -1), **gen_kw)
        return gen.generate(**batch, **gen_kw)

    def _sample(
        self,
        prompts: Sequence[dict[str, Any]],
        group_size: int,
        temperature: float,
        with_logprobs: bool = True,
        seeds: Sequence[int] | None = None,
    ) -> Rollouts:
        gen_kw = self._generate_kwargs(temperature)
        was_training = self.model.training
        self.model.eval()  # KV cache on (gradient checkpointing turns it off in train mode)
        seqs: list[torch.Tensor] = []
        try:
            if self._text_only(prompts):
                # one left-padded generate call for the whole batch; with seeds, each prompt's
                # draws come from its own generator (Gumbel-max inside a greedy search)
                batch = self._left_pad(prompts)
                batch = {k: v.repeat_interleave(group_size, 0) for k, v in batch.items()}
                if seeds is not None:
                    gen_kw = self._seeded_kwargs(gen_kw, seeds, group_size, temperature)
                out = cast("GenerationMixin", self.model).generate(
                    **self._to_device(batch), **gen_kw
                )
                seqs = list(out[:, batch["input_ids"].shape[1] :].cpu())
            else:
                devices = [_device_of(self.model)] if _device_of(self.model).type == "cuda" else []
                for i, p in enumerate(prompts):
                    with torch.random.fork_rng(devices=devices, enabled=seeds is not None):
                        if seeds is not None:
                            torch.manual_seed(int(seeds[i]))
                        out = self._generate_one(p, group_size, gen_kw)
                    seqs.extend(out[:, p["input_ids"].shape[1] :].cpu())
        finally:
            self.model.train(was_training)
        tokens = torch.full((len(seqs), self.max_len), self.pad_id, dtype=torch.long)
        for i, s in enumerate(seqs):
            tokens[i, : s.shape[0]] = s[: self.max_len]
        mask = self._completion_mask(tokens)
        lengths = torch.tensor([s.shape[0] for s in seqs])
        mask = mask * (torch.arange(self.max_len)[None, :] < lengths[:, None]).float()
        is_eos = torch.zeros_like(tokens, dtype=torch.bool)
        for e in self.eos_ids:
            is_eos |= tokens == e
        truncated = ~(is_eos & mask.bool()).any(-1)
        texts = [
            self.tokenizer.decode(t[m.bool()], skip_special_tokens=True)
            for t, m in zip(tokens, mask)
        ]
        old = None
        if with_logprobs:
            rows = [p for p in prompts for _ in range(group_size)]
            old = self._logprobs(rows, tokens, mask, temperature)[0].detach().cpu()
        return Rollouts(tokens=tokens, mask=mask, logprobs=old, texts=texts, truncated=truncated)

    @staticmethod
    def _runs(prompts: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
        """[start, end) of consecutive rows sharing one prompt object (the trainer keeps a
        prompt's rows adjacent)."""
        out = []
        start = 0
        while start < len(prompts):
            end = start
            while end < len(prompts) and prompts[end] is prompts[start]:
                end += 1
            out.append((start, end))
            start = end
        return out

    def _omni_logits(self, prompts: Sequence[dict[str, Any]], tokens: torch.Tensor) -> torch.Tensor:
        """Logits of the completion tokens for the thinker: encoders once per prompt, then ONE
        left-padded language-model forward over every row (positions computed per prompt)."""
        length = tokens.shape[1]
        dev = _device_of(self.model)
        embed = self.model.get_input_embeddings()
        tok = tokens.to(dev)
        seq_embs, seq_pos, widths = [], [], []
        for start, end in self._runs(prompts):
            p = self._to_device(prompts[start])
            n = end - start
            emb = omni_prompt_embeds(self.model, p)  # [1, Lp, d]
            full = torch.cat([emb.expand(n, -1, -1), embed(tok[start:end])], 1)
            ids = torch.cat([p["input_ids"].expand(n, -1), tok[start:end]], 1)
            rows = expand_inputs(p, n)
            rows["input_ids"] = ids
            rows["attention_mask"] = torch.ones_like(ids)
            seq_embs.append(full)
            seq_pos.append(_omni_positions(self.model, rows))
            widths.append(p["input_ids"].shape[1])
        total = max(e.shape[1] for e in seq_embs)
        d = seq_embs[0].shape[-1]
        n_rows = sum(e.shape[0] for e in seq_embs)
        emb_pad = seq_embs[0].new_zeros(n_rows, total, d)
        pos_pad = torch.ones(3, n_rows, total, dtype=torch.long, device=dev)
        att = torch.zeros(n_rows, total, dtype=torch.long, device=dev)
        offsets = []
        r = 0
        for e, pos in zip(seq_embs, seq_pos):
            n, w = e.shape[0], e.shape[1]
            emb_pad[r : r + n, total - w :] = e
            pos_pad[:, r : r + n, total - w :] = pos
            att[r : r + n, total - w :] = 1
            offsets.append(total - w)
            r += n
        logits = self.model(inputs_embeds=emb_pad, attention_mask=att, position_ids=pos_pad).logits
        out = []
        r = 0
        for (start, end), off, w in zip(self._runs(prompts), offsets, widths):
            first = off + w - 1
            out.append(logits[r : r + end - start, first : first + length])
            r += end - start
        return torch.cat(out, 0)

    def _forward_logits(
        self, prompts: Sequence[dict[str, Any]], tokens: torch.Tensor
    ) -> torch.Tensor:
        """Logits predicting each completion token: [n, L, vocab]."""
        length = tokens.shape[1]
        if self._text_only(prompts):
            batch = self._left_pad(prompts)
            width = batch["input_ids"].shape[1]
            ids = torch.cat([batch["input_ids"], tokens.cpu()], 1)
            att = torch.cat([batch["attention_mask"], torch.ones_like(tokens.cpu())], 1)
            logits = self.model(**self._to_device({"input_ids": ids, "attention_mask": att})).logits
            return logits[:, width - 1 : width - 1 + length]
        if self.encode_once:
            return self._omni_logits(prompts, tokens)
        outs = []
        # rows sharing a prompt object run as one forward (the trainer passes them adjacent)
        for start, end in self._runs(prompts):
            p = prompts[start]
            batch = expand_inputs(p, end - start)
            batch["input_ids"] = torch.cat([batch["input_ids"], tokens[start:end].cpu()], 1)
            if "attention_mask" in batch:
                batch["attention_mask"] = torch.cat(
                    [batch["attention_mask"], torch.ones_like(tokens[start:end].cpu())], 1
                )
            width = p["input_ids"].shape[1]
            logits = self.model(**self._to_device(batch)).logits
            outs.append(logits[:, width - 1 : width - 1 + length])
        return torch.cat(outs, 0)

    def _logprobs(self, prompts, tokens, mask, temperature):
        logits = self._forward_logits(prompts, tokens).float() / max(temperature, 1e-6)
        if self.suppress_ids:  # the distribution generation sampled from
            logits[..., self.suppress_ids] = float("-inf")
        logp_all = torch.log_softmax(logits, -1)
        tok = tokens.to(logits.device)
        logp = logp_all.gather(-1, tok.unsqueeze(-1)).squeeze(-1)
        ent = -(logp_all.exp() * logp_all.masked_fill(torch.isinf(logp_all), 0.0)).sum(-1)
        return logp, ent.detach()

    def save(self, path: Path) -> None:
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)

    def load_weights(self, path: Path) -> None:
        _load_weights(self.model, path)
