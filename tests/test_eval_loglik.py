"""``--scoring loglikelihood``: lm-eval's acc / acc_norm for local causal LMs and the Qwen thinker.

Tiny models built offline; the per-option log-likelihoods in the log are checked against a
direct forward pass of the same model on context + continuation (summed token log-probs).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from evaluators.adapters.loglik import choice_result, continuations, split_tokens
from evaluators.runner.config import ConfigError, RunConfig
from evaluators.runner.run import run_eval
from evaluators.samplelog import read_log
from evaluators.tasks.load import generate_synth
from maple_bench.schema import option_letter

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ll") / "raw"
    return generate_synth(out, per_tag=1, seed=5, clip_seconds=2.0, width=64, height=48)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from maple_bench.models.tiny import tiny_causal_lm, tiny_qwen_omni_thinker

    root = tmp_path_factory.mktemp("llm")
    return {"causal_lm": tiny_causal_lm(root / "lm"),
            "qwen2_5_omni": tiny_qwen_omni_thinker(root / "thinker")}  # fmt: skip


def _cfg(name: str, raw: Path, out: Path, ckpt: Path, **kw: Any) -> RunConfig:
    base: dict[str, Any] = dict(task="synth_qa_plus", model=f"{name}:{ckpt}", data=str(raw),
                                output=str(out), num_workers=0, batch_size=4, progress=False,
                                scoring="loglikelihood", limit=7)  # fmt: skip
    base.update(kw)
    return RunConfig(**base)


def test_choice_result_hand_computed() -> None:
    # lls -3 ("A. ab": 5 bytes -> -0.6) and -4 ("B. abcdefgh": 11 bytes -> -0.36):
    # acc picks A (higher sum), acc_norm picks B (higher per byte).
    r = choice_result([-3.0, -4.0], ["A. ab", "B. abcdefgh"])
    assert r["pick"] == 0 and r["pick_norm"] == 1 and r["n_bytes"] == [5, 11]
    assert continuations(["x", "y"], chat=False) == [" A. x", " B. y"]


def test_causal_lm_loglikelihood_matches_a_direct_forward(
    raw: Path, models: dict[str, Path], tmp_path: Path
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from maple_bench.models.inputs.text import TextInputBuilder
    from maple_bench.present import MediaConfig, present

    out = run_eval(_cfg("causal_lm", raw, tmp_path / "c", models["causal_lm"],
                        presentations=("S",)))  # fmt: skip
    recs = read_log(out.log_path)
    assert len(recs) == 7
    for r in recs:
        c = r["choice"]
        assert len(c["loglikelihoods"]) == len(r["options"]) and r["invalid"] is False
        assert r["raw_output"] == option_letter(c["pick"])
        assert all(ll < 0 for ll in c["loglikelihoods"])
    # Recompute one item's scores independently: full forward of context + continuation.
    from evaluators.tasks import get_task, load_task

    task = load_task(get_task("synth_qa_plus"), data=str(raw), presentations=("S",), limit=7)
    sample = task.samples[0]
    rec = next(r for r in recs if r["doc_id"] == sample.id)
    mi = present(sample, MediaConfig(media_root=task.media_root))
    from maple_bench.prompts import prompt_for

    builder = TextInputBuilder(str(models["causal_lm"]))
    chat = builder.use_chat_template
    context = builder.text(mi, prompt_for(sample, mi.subtitles)) + ("" if chat else "\nAnswer:")
    model = AutoModelForCausalLM.from_pretrained(str(models["causal_lm"])).eval()
    for i, cont in enumerate(continuations(sample.options, chat=chat)):
        ctx, cont_ids = split_tokens(builder.tokenizer, context, cont, add_special=not chat)
        ids = torch.tensor([ctx + cont_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
        want = sum(float(logp[len(ctx) + j - 1, t]) for j, t in enumerate(cont_ids))
        assert math.isclose(rec["choice"]["loglikelihoods"][i], want, abs_tol=1e-4)
    res = out.results
    assert "acc_norm,none" in res["results"]["synth_qa_plus"]
    cs = res["maple"]["choice_scoring"]
    assert cs["n"] == 7 and cs["acc"] == pytest.approx(sum(r["correct"] for r in recs) / 7)
    assert res["maple"]["provenance"]["scoring"]["method"] == "loglikelihood"


def test_qwen_thinker_scores_options_with_media(
    raw: Path, models: dict[str, Path], tmp_path: Path
) -> None:
    out = run_eval(_cfg("qwen2_5_omni", raw, tmp_path / "q", models["qwen2_5_omni"],
                        presentations=("V", "VA", "AS"), limit=3))  # fmt: skip
    recs = read_log(out.log_path)
    assert {r["presentation"] for r in recs} == {"V", "VA", "AS"}
    for r in recs:
        assert r["error"] is None and len(r["choice"]["loglikelihoods"]) == len(r["options"])
        assert r["raw_output"] == option_letter(r["choice"]["pick"])
    assert out.results["maple"]["choice_scoring"]["n"] == 3


def test_loglikelihood_is_refused_where_it_cannot_apply(raw: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="log-likelihood"):
        run_eval(RunConfig(task="synth_qa_plus", model="solver", data=str(raw), num_workers=0,
                           output=str(tmp_path / "s"), scoring="loglikelihood", progress=False))  # fmt: skip
    assert not (tmp_path / "s").exists()


def test_qwen_left_padded_options_score_as_each_option_alone(
    raw: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Options of different lengths share one left-padded forward pass; each score must equal
    the option scored alone (no padding), or the thinker's positions are wrong."""
    import evaluators.adapters.loglik as ll
    from evaluators.adapters import Request, build_adapter
    from evaluators.tasks import get_task, load_task
    from maple_bench.present import MediaConfig, present
    from maple_bench.prompts import prompt_for

    task = load_task(get_task("synth_qa_plus"), data=str(raw), presentations=("VA",), limit=1)
    sample = task.samples[0]
    mi = present(sample, MediaConfig(media_root=task.media_root))
    adapter = build_adapter("qwen2_5_omni", {"pretrained": str(models["qwen2_5_omni"])},
                            device="cpu", dtype="float32")  # fmt: skip
    req = Request(mi, prompt_for(sample, mi.subtitles), 0, 0)
    together = adapter.choice_replies([req])[0].choice["loglikelihoods"]
    conts = ll.continuations(sample.options, chat=True)
    assert len({len(adapter.tokenizer(c)["input_ids"]) for c in conts}) > 1  # padding happens
    alone = []
    for c in conts:
        monkeypatch.setattr(ll, "continuations", lambda options, chat, c=c: [c])
        alone.append(adapter.choice_replies([req])[0].choice["loglikelihoods"][0])
    assert together == pytest.approx(alone, abs=1e-4)
