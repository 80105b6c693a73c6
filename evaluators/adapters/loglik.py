"""Log-likelihood choice scoring (``--scoring loglikelihood``), as lm-evaluation-harness does it.

For a multiple-choice item the model is not asked to generate: each option's continuation
``"<letter>. <option text>"`` is appended to the presented context (the same prompt the
generative path uses; a plain, template-less model gets ``"\\nAnswer:"`` after it and the
continuation with a leading space) and its summed log-probability is read from one forward
pass. ``acc`` picks the option with the highest sum, ``acc_norm`` the highest sum per UTF-8 byte
of the continuation (lm-eval's length normalisation). A base model that never writes a clean
letter still gets a meaningful score this way (generation would leave it at invalid_rate 1.0).

The context and continuation are tokenised as lm-eval does: the whole string and the context
alone, the continuation being the tokens past the context's (so a merge across the boundary
is scored as the model would see it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maple_bench.schema import option_letter

PLAIN_ANSWER_CUE = "\nAnswer:"
"""Appended to the context of a model without a chat template."""

SCORING_METHODS = ("generate", "loglikelihood")


def continuations(options: Sequence[str], *, chat: bool) -> list[str]:
    """The scored continuation of each option (see the module docstring)."""
    lead = "" if chat else " "
    return [f"{lead}{option_letter(i)}. {opt}" for i, opt in enumerate(options)]


def split_tokens(
    tokenizer: Any, context: str, continuation: str, *, add_special: bool
) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids): the whole string's tokens cut after as many tokens as the
    context alone has (lm-eval's rule)."""
    whole = list(tokenizer(context + continuation, add_special_tokens=add_special)["input_ids"])
    n = len(tokenizer(context, add_special_tokens=add_special)["input_ids"])
    n = min(n, len(whole) - 1)  # at least one continuation token
    return whole[:n], whole[n:]


def sum_logprobs(logits: Any, input_ids: Any, cont_lens: Sequence[int]) -> list[float]:
    """Summed log-probabilities of each row's last ``cont_lens[i]`` tokens (left-padded rows)."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    out = []
    length = input_ids.shape[1]
    for i, c in enumerate(cont_lens):
        targets = input_ids[i, length - c :]
        rows = logp[i, length - c - 1 : length - 1]
        out.append(float(rows.gather(-1, targets.unsqueeze(-1)).sum()))
    return out


def choice_result(loglikelihoods: Sequence[float], continuations_: Sequence[str]) -> dict[str, Any]:
    """The per-item record: log-likelihoods, continuation bytes, the acc and acc_norm picks."""
    n_bytes = [len(c.strip().encode("utf-8")) for c in continuations_]
    norm = [ll / max(b, 1) for ll, b in zip(loglikelihoods, n_bytes)]
    pick = max(range(len(loglikelihoods)), key=lambda i: (loglikelihoods[i], -i))
    pick_norm = max(range(len(norm)), key=lambda i: (norm[i], -i))
    return {"loglikelihoods": [round(x, 6) for x in loglikelihoods], "n_bytes": n_bytes,
            "pick": pick, "pick_norm": pick_norm}  # fmt: skip


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """(input_ids, attention_mask) of left-padded rows."""
    import torch

    length = max(len(r) for r in rows)
    ids = torch.full((len(rows), length), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, length - len(r) :] = torch.tensor(list(r), dtype=torch.long)
        mask[i, length - len(r) :] = 1
    return ids, mask
