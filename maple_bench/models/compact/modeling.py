"""``CompactOmniPolicy``: a ~100k-parameter option scorer over V/A/S features, for CPU RL.

Architecture (d = hidden_size):

1. Stream encoders: video and audio feature vectors -> 2-layer MLPs -> d; subtitles -> mean of
   hashed word embeddings -> d. An absent stream (``*_present`` = 0) is replaced by that stream's
   learned "absent" embedding, so the policy can learn that a missing required stream means None.
2. Context: question embedding (mean of hashed unigram+bigram embeddings) and the three stream
   vectors -> fusion MLP -> h (d). The MLP (not a sum) lets "which stream does the question ask
   about" interact with "which streams are present".
3. Options: each comma-separated component c of an option is embedded (mean of its hashed
   unigram+bigram embeddings) to e_c; its score is ``e_c . W h`` plus ``gate(e_c, h) * lex_c``,
   where ``lex_c`` is the component's word overlap with the subtitles. Option logit = sum of its
   component scores. Padding options get a large negative logit.

A "completion" is one option choice: ``sample`` draws option indices and their log-probs,
``option_log_probs`` recomputes log-probs for given choices, as the MAPO policy protocol needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from maple_bench.models.compact.config import CompactOmniConfig
from maple_bench.models.compact.features import AUDIO_DIM, VIDEO_DIM

__all__ = ["CompactOmniOutput", "CompactOmniPolicy", "FEATURE_KEYS"]

NEG = -1e9
FEATURE_KEYS = (
    "video",
    "video_present",
    "audio",
    "audio_present",
    "subtitle_ids",
    "subtitles_present",
    "question_ids",
    "option_ids",
    "option_lex",
    "option_mask",
)


@dataclass
class CompactOmniOutput(ModelOutput):
    """``logits`` [B, n_options] (padding = -1e9); ``loss`` when ``labels`` were given."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None


def _bag(emb: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
    """Mean embedding over non-padding ids along the last axis (zeros when all padding)."""
    mask = (ids > 0).unsqueeze(-1).to(emb.weight.dtype)
    total = (emb(ids) * mask).sum(dim=-2)
    return total / mask.sum(dim=-2).clamp(min=1.0)


class CompactOmniPolicy(PreTrainedModel):
    """Compact reference omni policy; see the module docstring. Register via ``maple_bench.models.compact``."""

    config_class = CompactOmniConfig
    base_model_prefix = "compact"
    main_input_name = "option_ids"

    def __init__(self, config: CompactOmniConfig) -> None:
        super().__init__(config)
        d, m = config.hidden_size, config.mlp_size
        self.words = nn.Embedding(config.n_buckets, d, padding_idx=0)
        self.video_enc = nn.Sequential(nn.Linear(VIDEO_DIM, m), nn.GELU(), nn.Linear(m, d))
        self.audio_enc = nn.Sequential(nn.Linear(AUDIO_DIM, m), nn.GELU(), nn.Linear(m, d))
        self.subtitle_proj = nn.Linear(d, d)
        self.absent = nn.Parameter(torch.zeros(3, d))  # V, A, S
        self.fusion = nn.Sequential(
            nn.Linear(4 * d, m), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(m, d)
        )
        self.score = nn.Linear(d, d, bias=False)
        self.gate = nn.Sequential(nn.Linear(2 * d, m // 2), nn.GELU(), nn.Linear(m // 2, 1))
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif module is self:
            nn.init.normal_(self.absent, std=std)

    def context(
        self,
        video: torch.Tensor,
        video_present: torch.Tensor,
        audio: torch.Tensor,
        audio_present: torch.Tensor,
        subtitle_ids: torch.Tensor,
        subtitles_present: torch.Tensor,
        question_ids: torch.Tensor,
    ) -> torch.Tensor:
        """Fused context vector h [B, d] from the presented streams and the question."""
        dtype = self.absent.dtype
        streams = []
        for enc, present, idx in (
            (self.video_enc(video.to(dtype)), video_present, 0),
            (self.audio_enc(audio.to(dtype)), audio_present, 1),
            (self.subtitle_proj(_bag(self.words, subtitle_ids)), subtitles_present, 2),
        ):
            p = present.to(dtype).view(-1, 1)
            streams.append(p * enc + (1 - p) * self.absent[idx])
        q = _bag(self.words, question_ids)
        return self.fusion(torch.cat([q, *streams], dim=-1))

    def forward(
        self,
        video: torch.Tensor,
        video_present: torch.Tensor,
        audio: torch.Tensor,
        audio_present: torch.Tensor,
        subtitle_ids: torch.Tensor,
        subtitles_present: torch.Tensor,
        question_ids: torch.Tensor,
        option_ids: torch.Tensor,
        option_lex: torch.Tensor,
        option_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        return_dict: bool = True,
    ) -> CompactOmniOutput:
        """Option logits [B, n_options]; cross-entropy ``loss`` when ``labels`` (option index) given."""
        h = self.context(
            video,
            video_present,
            audio,
            audio_present,
            subtitle_ids,
            subtitles_present,
            question_ids,
        )
        comp = _bag(self.words, option_ids)  # [B, O, C, d]
        comp_mask = (option_ids > 0).any(dim=-1).to(comp.dtype)  # [B, O, C]
        wh = self.score(h)[:, None, None, :]
        match = (comp * wh).sum(-1)
        h_exp = h[:, None, None, :].expand_as(comp)
        gate = self.gate(torch.cat([comp, h_exp], dim=-1)).squeeze(-1)
        comp_scores = (match + gate * option_lex.to(comp.dtype)) * comp_mask
        logits = comp_scores.sum(-1).masked_fill(~option_mask.bool(), NEG)
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits, labels)
        return CompactOmniOutput(loss=loss, logits=logits)

    # ------------------------------------------------------------ policy helpers
    def option_log_probs(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """log pi(option | x) [B, n_options] (padding options ~ -1e9)."""
        inputs = {k: features[k] for k in FEATURE_KEYS}
        return torch.log_softmax(self(**inputs).logits, dim=-1)

    @torch.no_grad()
    def sample(
        self,
        features: dict[str, torch.Tensor],
        num_samples: int = 1,
        *,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        greedy: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``num_samples`` option choices per item: (choices [B, G], their log-probs [B, G]).

        Log-probs are under the untempered policy (what the RL ratio needs).
        """
        logp = self.option_log_probs(features)
        if greedy:
            choices = logp.argmax(-1, keepdim=True).expand(-1, num_samples)
        else:
            probs = torch.softmax(logp / max(temperature, 1e-6), dim=-1)
            choices = torch.multinomial(probs, num_samples, replacement=True, generator=generator)
        return choices, logp.gather(-1, choices)
