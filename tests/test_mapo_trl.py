"""MAPO for TRL users: MapoGRPOTrainer, its config, sampler and the MAPLE reward.

Tiny local causal LM (``maple_bench.models.tiny``, tokenizer trained here), MAPLE-Synth rendered
as text (subtitles only). The golden-parity test feeds the *same* completions and rewards to
``MapoGRPOTrainer`` and to ``maple-bench train``'s ``MapoTrainer`` and checks advantages, loss
and gradients against each other and against the pure functions.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

pytest.importorskip("trl")

from maple_bench.mapo.advantages import filtered_advantages
from maple_bench.mapo.config import load_config
from maple_bench.mapo.loss import aggregate, clipped_surrogate
from maple_bench.mapo.trl import (
    MapoGRPOConfig,
    MapoGRPOTrainer,
    StratifiedRepeatSampler,
    grpo_config_from_train_config,
    make_maple_reward,
    maple_reward,
    text_dataset,
)
from maple_bench.mapo.weights import per_sample_weights
from maple_bench.modality import TAG_NAMES

G = 4
MAX_LEN = 6


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """MAPLE-Synth (2 videos) train split: the 8 questions whose RMT includes subtitles."""
    from maple_bench.data import load_samples
    from maple_bench.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("synth")
    generate(root / "raw", SynthConfig(per_tag=2, seed=0, test_fraction=0.0))
    ss = load_samples(root / "raw", "maple_qa", split="train")
    samples = [s for s in ss.samples if "S" in s.rmt.name]
    return samples, ss.media_root


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from maple_bench.models.tiny import tiny_causal_lm

    return tiny_causal_lm(tmp_path_factory.mktemp("lm") / "lm", hidden_size=16)


@pytest.fixture(scope="module")
def dataset(synth: Any, lm: Path) -> Any:
    from transformers import AutoTokenizer

    samples, media_root = synth
    return text_dataset(samples, AutoTokenizer.from_pretrained(lm), media_root=media_root)


def _args(out: Path, **kw: Any) -> dict[str, Any]:
    base = dict(
        output_dir=str(out),
        per_device_train_batch_size=8,
        num_generations=G,
        max_completion_length=MAX_LEN,
        max_steps=2,
        learning_rate=1e-3,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        gradient_checkpointing=False,
        seed=0,
        loss_type="grpo",
        max_grad_norm=0.0,
        bf16=False,  # TRL's default is bf16 autocast, also on CPU; maple-bench trains in fp32
    )
    return {**base, **kw}


def _variety_reward(completions: list[Any], **_: Any) -> list[float]:
    """A dense reward next to the MAPLE one: a tiny random LM rarely writes a reply the scorer
    reads as an answer (unparseable replies earn nothing), so the training tests also reward the
    number of distinct characters, which differs between a prompt's completions."""
    return [len(set(str(c))) / 10.0 for c in completions]


# ----------------------------------------------------------------------------- reward, dataset
def test_text_dataset_is_the_train_prompt_and_reward_is_the_scorer(synth: Any, lm: Path) -> None:
    from transformers import AutoTokenizer

    from maple_bench.models.inputs.text import TextInputBuilder
    from maple_bench.present import MediaConfig, present
    from maple_bench.schema import option_letter
    from maple_bench.scoring import reward

    samples, media_root = synth
    tok = AutoTokenizer.from_pretrained(lm)
    ds = text_dataset(samples, tok, media_root=media_root, strata_column="tag")
    assert ds["rmt"] == [s.rmt.name for s in samples] == ds["tag"]
    assert set(ds["rmt"]) == {"S", "VS", "AS", "VAS"}
    s = samples[1]
    mi = present(s, MediaConfig(media_root=media_root), presentation="S")
    assert ds["prompt"][1] == TextInputBuilder(tok).text(mi)  # what maple-bench train shows
    assert "Subtitles:" in ds["prompt"][1]
    cols = {k: ds[k] for k in ("maple_id", "video_id", "question", "rmt", "options", "answer")}
    right = option_letter(s.options.index(s.answer))
    wrong = option_letter((s.options.index(s.answer) + 1) % len(s.options))
    completions = [""] * len(ds)
    completions[1] = f"The answer is {right}."
    completions[2] = wrong
    got = maple_reward(completions, **cols)
    want = [reward(x, c) for x, c in zip(samples, completions)]
    assert got == want and got[1] == 1.0 and got[2] == 0.0
    # conversational completions and the format bonus
    chat = [[{"role": "assistant", "content": c}] for c in completions]
    assert make_maple_reward(format_weight=0.5)(chat, **cols)[1:3] == [1.5, 0.5]
    with pytest.raises(KeyError, match="lacks column"):
        maple_reward(completions, maple_id=cols["maple_id"])


def test_text_dataset_refuses_samples_without_subtitles(lm: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from maple_bench.schema import Sample

    s = Sample(id="v1", video_id="x", question="q?", rmt="V", options=("a", "b"), answer="a")
    tok = AutoTokenizer.from_pretrained(lm)
    with pytest.raises(ValueError, match="'v1' .*no subtitle stream"):
        text_dataset([s], tok)
    with pytest.raises(ValueError, match="no multiple-choice sample"):
        text_dataset([s], tok, skip_unpresentable=True)


# ----------------------------------------------------------------------------- config
def test_config_defaults_and_refusals(tmp_path: Path) -> None:
    cfg = MapoGRPOConfig(**_args(tmp_path))
    assert (cfg.advantages, cfg.filter, cfg.stratum_weighting) == ("stratum", "late", "g_ma")
    trl_mode = MapoGRPOConfig(**_args(tmp_path, advantages="trl"))
    assert (trl_mode.filter, trl_mode.stratum_weighting) == ("none", "proportional")
    refused = {
        "has no maple-bench counterpart": dict(loss_type="bnpo"),
        "weights the KL term": dict(beta=0.04),
        "leaves TRL's advantages": dict(advantages="trl", filter="late"),
        "set sampler='stratified'": dict(curriculum="dynamic", sampler="mixed"),
        "is not one of": dict(advantages="median"),
        "must be a multiple of": dict(steps_per_generation=3, gradient_accumulation_steps=2),
        "multi_objective_aggregation": dict(multi_objective_aggregation="normalize_then_sum"),
    }
    for message, kw in refused.items():
        with pytest.raises(ValueError, match=message):
            MapoGRPOConfig(**_args(tmp_path, **kw))
    # a KL term is fine when nothing reweights completions
    MapoGRPOConfig(**_args(tmp_path, beta=0.04, filter="none", stratum_weighting="proportional"))


def test_train_config_maps_onto_grpo_config(tmp_path: Path) -> None:
    tc = load_config("mapo", []).replace(
        policy="causal_lm",
        batch_size=8,
        group_size=4,
        grad_accum=2,
        steps_per_generation=2,
        ppo_epochs=2,
        loss_agg="token",
        eps_low=0.1,
        eps_high=0.3,
        max_new_tokens=12,
        filter="late",
        device="cpu",
    )
    cfg = grpo_config_from_train_config(tc, str(tmp_path), num_processes=1, report_to="none")
    assert (cfg.loss_type, cfg.epsilon, cfg.epsilon_high, cfg.beta) == ("dapo", 0.1, 0.3, 0.0)
    assert (cfg.num_generations, cfg.num_iterations, cfg.max_completion_length) == (4, 2, 12)
    assert (cfg.steps_per_generation, cfg.gradient_accumulation_steps) == (4, 2)
    assert cfg.per_device_train_batch_size * cfg.steps_per_generation == 8 * 4
    assert (cfg.advantages, cfg.filter, cfg.sampler) == (tc.advantages, "late", tc.sampler)
    assert cfg.stratum_weighting == tc.stratum_weighting
    assert (cfg.bf16, cfg.fp16) == (False, False)  # mixed_precision=auto is fp32 on CPU
    with pytest.raises(ValueError, match="maple-bench train"):
        grpo_config_from_train_config(tc.replace(policy="compact"), str(tmp_path))
    with pytest.raises(ValueError, match="unweighted"):
        grpo_config_from_train_config(tc.replace(kl_beta=0.1), str(tmp_path))
    with pytest.raises(ValueError, match="split evenly"):
        grpo_config_from_train_config(tc, str(tmp_path), num_processes=3)


def test_missing_trl_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import maple_bench.mapo.trl as mapo_trl

    monkeypatch.setitem(sys.modules, "trl", None)  # as if TRL were not installed
    monkeypatch.delitem(sys.modules, "maple_bench.mapo.trl.config")
    with pytest.raises(ImportError, match=r"maple-bench\[trl\]"):
        mapo_trl.grpo_config_from_train_config  # noqa: B018 - the lazy attribute import


# ----------------------------------------------------------------------------- sampler
def test_stratified_sampler_keeps_trl_repeat_layout() -> None:
    from maple_bench.mapo.sampler import TagSampler

    strata = ["S"] * 6 + ["VS"] * 3 + ["VAS"] * 3
    kw = dict(mini_repeat_count=3, batch_size=4, repeat_count=2, seed=5, order=TAG_NAMES)
    a = list(StratifiedRepeatSampler(strata, **kw))
    b = list(StratifiedRepeatSampler(strata, **kw))  # another rank: same order
    assert a == b and len(a) == len(StratifiedRepeatSampler(strata, **kw)) == 3 * 4 * 3 * 2
    ref = TagSampler(strata, 4, mode="stratified", seed=5, tag_order=TAG_NAMES)
    per_batch = 4 * 3 * 2
    for k in range(3):
        block = a[k * per_batch : (k + 1) * per_batch]
        chunk = ref.next_batch()
        # each prompt G times in a row, the chunk repeated repeat_count times (TRL's layout)
        assert block == [i for _ in range(2) for i in chunk for _ in range(3)]
        # quota: S gets half of every batch, as in the pool
        assert Counter(strata[i] for i in chunk) == Counter({"S": 2, "VS": 1, "VAS": 1})
    single = list(StratifiedRepeatSampler(strata, stratified_mode="single", **kw))
    for k in range(3):
        tags = {strata[i] for i in single[k * per_batch : (k + 1) * per_batch]}
        assert len(tags) == 1


# ----------------------------------------------------------------------------- weight folding
class _OneProcess:
    """The accelerator surface ``_mapo_fold_weights`` uses, for a single process."""

    num_processes, process_index = 1, 0

    @staticmethod
    def gather(t: torch.Tensor) -> torch.Tensor:
        return t


@pytest.mark.parametrize("agg", ["sample", "token", "constant"])
def test_folded_advantages_turn_trl_loss_into_aggregate(agg: str) -> None:
    """Two optimizer steps per generation, 2 micro-batches each: for every step, TRL's loss
    formula (grpo / dapo / dr_grpo, as in GRPOTrainer._compute_loss) on the folded advantages
    equals maple-bench's ``aggregate`` with c_j and the step's kept counts."""
    import types

    loss_type = {"sample": "grpo", "token": "dapo", "constant": "dr_grpo"}[agg]
    accum, spg, b, length = 2, 4, 6, 5
    gen = torch.Generator().manual_seed(0)
    names = ["S", "VS", "AS", "VAS"]
    chunks = []
    for _ in range(spg):
        lengths = torch.randint(1, length + 1, (b,), generator=gen)
        chunks.append(
            {
                "advantages": torch.randn(b, generator=gen),
                "mapo_keep": torch.rand(b, generator=gen) > 0.3,
                "mapo_stratum": torch.randint(0, 4, (b,), generator=gen),
                "completion_mask": (torch.arange(length)[None] < lengths[:, None]).long(),
            }
        )
    total_tokens = torch.tensor(sum(float(ch["completion_mask"].sum()) for ch in chunks))
    for ch in chunks:
        ch["num_items_in_batch"] = total_tokens
    # fold ones: what is left in "advantages" is each row's factor f_j (c_j x normaliser ratio)
    folded = [{**ch, "advantages": torch.ones(b)} for ch in chunks]
    weights = {"S": 0.7, "VS": 1.6, "AS": 1.0, "VAS": 1.2}
    fake = types.SimpleNamespace(
        args=types.SimpleNamespace(
            gradient_accumulation_steps=accum,
            steps_per_generation=spg,
            loss_type=loss_type,
            stratum_weighting="g_ma",
        ),
        accelerator=_OneProcess(),
        _mapo_names=names,
        _mapo_weights=weights,
    )
    MapoGRPOTrainer._mapo_fold_weights(fake, folded)  # type: ignore[arg-type]
    for start in range(0, spg, accum):
        window = chunks[start : start + accum]
        adv = torch.cat([ch["advantages"] for ch in window])
        mask = torch.cat([ch["completion_mask"] for ch in window]).float()
        factor = torch.cat([ch["advantages"] for ch in folded[start : start + accum]])
        # TRL's loss (ratio 1: per_token_loss = -A'_j), one term per micro-batch, as a function
        # of the raw advantages; its gradient is each row's coefficient in the step's loss
        a_trl = adv.clone().requires_grad_()
        trl = a_trl.new_zeros(())
        for k in range(accum):
            rows = slice(k * b, (k + 1) * b)
            m = mask[rows]
            per_tok = -(factor[rows] * a_trl[rows])[:, None] * m
            if loss_type == "grpo":
                trl = trl + (per_tok.sum(-1) / m.sum(-1).clamp(min=1)).mean() / accum
            elif loss_type == "dr_grpo":
                trl = trl + per_tok.sum() / (b * length) / accum
            else:
                trl = trl + per_tok.sum() / (total_tokens * accum / spg)
        trl.backward()
        # maple-bench: aggregate over the step's rows with c_j and the step's kept counts
        keep = torch.cat([ch["mapo_keep"] for ch in window])
        tags = [names[i] for i in torch.cat([ch["mapo_stratum"] for ch in window]).tolist()]
        c = per_sample_weights(tags, weights, mode="g_ma", keep=keep)
        a_ours = adv.clone().requires_grad_()
        zero = torch.zeros_like(mask)
        ours = aggregate(
            clipped_surrogate(zero, zero, a_ours).loss,
            mask,
            mode=agg,
            num_samples=float(keep.sum()),
            num_tokens=float(mask[keep].sum()),
            max_len=length,
            weights=c,
        )
        ours.backward()
        assert float(trl) == pytest.approx(float(ours), rel=1e-5, abs=1e-7)
        assert a_trl.grad is not None and a_ours.grad is not None
        assert torch.allclose(a_trl.grad, a_ours.grad, rtol=1e-5, atol=1e-8)  # row by row
        assert bool((a_ours.grad[~keep] == 0).all()) and bool((a_ours.grad[keep] != 0).any())


# ----------------------------------------------------------------------------- training
@pytest.mark.slow
def test_trains_a_few_steps_and_logs_strata(dataset: Any, lm: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(lm)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = MapoGRPOTrainer(
        model=model,
        reward_funcs=[make_maple_reward(format_weight=0.5), _variety_reward],
        args=MapoGRPOConfig(
            **_args(
                tmp_path,
                max_steps=3,
                per_device_train_batch_size=4 * G,
                save_strategy="steps",
                save_steps=3,
            ),
            curriculum="dynamic",
            adaptive_weights=True,
        ),
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(lm),
    )
    trainer.train()
    logs = [r for r in trainer.state.log_history if "loss" in r]
    assert len(logs) == 3
    for row in logs:
        assert 0.0 <= row["mapo/kept_frac"] <= 1.0
        counts = {k.split("/")[1]: v for k, v in row.items() if k.endswith("/count")}
        assert set(counts) <= {"S", "VS", "AS", "VAS"} and sum(counts.values()) == 4 * G
    # the first batch, before any difficulty is known, has one prompt of every stratum
    assert {k.split("/")[1] for k in logs[0] if k.endswith("/count")} == {"S", "VS", "AS", "VAS"}
    changed = any(
        not torch.equal(p.detach(), before[n]) for n, p in trainer.model.named_parameters()
    )
    assert changed == any(r["grad_norm"] > 0 for r in logs)
    assert any(k.endswith("/weight") for k in logs[-1])  # adaptive stratum weights logged
    # the checkpoint carries the reward window; a resuming trainer reads it back
    ckpt = tmp_path / "checkpoint-3"
    window = json.loads((ckpt / "mapo_state.json").read_text())["window"]
    assert sum(len(v) for v in window["rewards"].values()) == 3 * 4 * G
    fresh = MapoGRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(lm),
        reward_funcs=[maple_reward],
        args=MapoGRPOConfig(**_args(tmp_path / "again")),
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(lm),
    )
    fresh.create_optimizer_and_scheduler(num_training_steps=3)
    fresh._load_optimizer_and_scheduler(str(ckpt))
    assert fresh._mapo_window.state_dict() == trainer._mapo_window.state_dict()


def test_trainer_refuses_a_dataset_without_the_strata_column(
    dataset: Any, lm: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with pytest.raises(ValueError, match="no column 'modality'"):
        MapoGRPOTrainer(
            model=AutoModelForCausalLM.from_pretrained(lm),
            reward_funcs=[maple_reward],
            args=MapoGRPOConfig(**_args(tmp_path, strata_column="modality")),
            train_dataset=dataset,
            processing_class=AutoTokenizer.from_pretrained(lm),
        )


@pytest.mark.slow
def test_mupo_settings_reproduce_plain_grpo_trainer(dataset: Any, lm: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    def run(trainer_cls: type, config: Any) -> tuple[list[dict], dict[str, torch.Tensor]]:
        torch.manual_seed(0)
        trainer = trainer_cls(
            model=AutoModelForCausalLM.from_pretrained(lm),
            reward_funcs=[make_maple_reward(format_weight=0.5), _variety_reward],
            args=config,
            train_dataset=dataset,
            processing_class=AutoTokenizer.from_pretrained(lm),
        )
        trainer.train()
        keep = ("loss", "reward", "reward_std", "grad_norm", "entropy", "num_tokens")
        rows = [{k: r[k] for k in keep} for r in trainer.state.log_history if "loss" in r]
        return rows, {n: p.detach().clone() for n, p in trainer.model.named_parameters()}

    kw = _args(tmp_path / "a", max_steps=3)
    plain_rows, plain_w = run(GRPOTrainer, GRPOConfig(**kw))
    mapo = MapoGRPOConfig(
        **{**kw, "output_dir": str(tmp_path / "b")}, advantages="trl", sampler="mixed"
    )
    mapo_rows, mapo_w = run(MapoGRPOTrainer, mapo)
    assert mapo_rows == plain_rows  # same seed, same loss curve, bit for bit
    assert any(r["reward"] > 0 for r in plain_rows)  # the curve is not trivially zero
    for n, p in plain_w.items():
        assert torch.equal(p, mapo_w[n]), n


# ----------------------------------------------------------------------------- golden parity
#: rewards of completion j of each prompt, by stratum (two zero-variance groups)
TABLE = {
    "S": [[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]],
    "VS": [[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
    "AS": [[1.0, 0.0, 1.0, 1.0], [0.5, 0.0, 0.0, 1.0]],
    "VAS": [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.5, 0.0]],
}

PARITY_CASES = {
    "mapo-sample": dict(
        advantages="stratum",
        filter="late",
        stratum_weighting="g_ma",
        loss_agg="sample",
        adaptive_weights=True,
    ),
    "global-token": dict(
        advantages="global",
        filter="none",
        stratum_weighting="proportional",
        loss_agg="token",
        adaptive_weights=False,
    ),
    "group-stratum-constant": dict(
        advantages="group_stratum",
        filter="late",
        stratum_weighting="balanced",
        loss_agg="constant",
        adaptive_weights=False,
    ),
}

#: a shared reward history, so adaptive weights are not all 1 on the first step
HISTORY = {"S": [1.0] * 20, "VS": [0.0] * 15 + [1.0] * 5, "AS": [1.0, 0.0] * 10, "VAS": [0.0] * 20}


def _table_rewards(samples: list[Any]) -> dict[str, list[float]]:
    seen: Counter[str] = Counter()
    out = {}
    for s in samples:
        out[s.id] = TABLE[s.rmt.name][seen[s.rmt.name]]
        seen[s.rmt.name] += 1
    return out


class _CountingReward:
    """rewards[sample id][j] for the j-th completion of that prompt seen in this call."""

    def __init__(self, rewards: dict[str, list[float]]) -> None:
        self.rewards = rewards
        self.__name__ = "table_reward"

    def __call__(self, completions: list[Any], maple_id: list[str], **_: Any) -> list[float]:
        seen: Counter[str] = Counter()
        out = []
        for rid in maple_id:
            out.append(self.rewards[rid][seen[rid]])
            seen[rid] += 1
        return out


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(PARITY_CASES))
def test_golden_parity_trl_vs_maple_bench_train_vs_pure(
    case: str, synth: Any, dataset: Any, lm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import maple_bench.scoring
    from maple_bench.mapo.policy import Rollouts
    from maple_bench.mapo.trainer import MapoTrainer

    samples, media_root = synth
    spec = PARITY_CASES[case]
    table = _table_rewards(samples)
    tok = AutoTokenizer.from_pretrained(lm)
    n = len(samples)  # 8 prompts, 2 per stratum: one generation batch = one optimizer step

    # --- TRL: MapoGRPOTrainer, one step, recording what it computed
    rec: dict[str, Any] = {}

    class Recording(MapoGRPOTrainer):
        def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
            out = super()._generate_and_score_completions(inputs)
            rec["ids"] = [x["maple_id"] for x in inputs]
            rec["adv"] = out["advantages"].clone()
            rec["completion_ids"] = out["completion_ids"].clone()
            rec["completion_mask"] = out["completion_mask"].clone()
            return out

        def training_step(self, model, inputs, num_items_in_batch):  # type: ignore[no-untyped-def]
            loss = super().training_step(model, inputs, num_items_in_batch)
            rec["loss"] = float(loss)
            rec["grads"] = {k: p.grad.clone() for k, p in model.named_parameters()}
            return loss

    args = MapoGRPOConfig(
        **_args(
            tmp_path / "trl",
            per_device_train_batch_size=n * G,
            max_steps=1,
            loss_type={"sample": "grpo", "token": "dapo", "constant": "dr_grpo"}[spec["loss_agg"]],
            epsilon=0.2,
            epsilon_high=0.28,
        ),
        **{k: v for k, v in spec.items() if k != "loss_agg"},
    )
    trl_trainer = Recording(
        model=AutoModelForCausalLM.from_pretrained(lm),
        reward_funcs=[_CountingReward(table)],
        args=args,
        train_dataset=dataset,
        processing_class=tok,
    )
    for tag, rewards in HISTORY.items():
        trl_trainer._mapo_window.update([tag] * len(rewards), rewards)
    trl_trainer.train()
    rows = [(rid, j) for k, rid in enumerate(rec["ids"]) for j in [k % G]]
    trl_adv = {row: float(a) for row, a in zip(rows, rec["adv"])}

    # --- maple-bench train: the same completions and rewards through MapoTrainer
    by_id = {s.id: s for s in samples}
    completions: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for rid, ids, mask in zip(rec["ids"], rec["completion_ids"], rec["completion_mask"]):
        completions.setdefault(rid, []).append((ids, mask))
    prompt_ids = {
        tuple(tok(dataset["prompt"][i])["input_ids"]): rid
        for i, rid in enumerate(dataset["maple_id"])
    }
    cfg = load_config("mapo", []).replace(
        policy="causal_lm",
        model=str(lm),
        batch_size=n,
        group_size=G,
        max_new_tokens=MAX_LEN,
        max_steps=1,
        steps_per_generation=1,
        grad_accum=1,
        max_grad_norm=0.0,
        lr=1e-3,
        device="cpu",
        plot=False,
        sampler="stratified",
        curriculum="none",
        **spec,
    )
    ours = MapoTrainer(cfg, tmp_path / "ours", samples=samples, media_root=media_root)
    ours.setup(resume=False)
    ours.policy.suppress_ids = []  # TRL samples from the whole vocabulary; score the same way
    for tag, rewards in HISTORY.items():
        ours.window.update([tag] * len(rewards), rewards)

    def replay(prompts, group_size, temperature, with_logprobs=True, seeds=None):  # type: ignore[no-untyped-def]
        tokens = torch.full((len(prompts) * group_size, MAX_LEN), tok.pad_token_id)
        mask = torch.zeros(len(prompts) * group_size, MAX_LEN)
        texts = []
        for i, p in enumerate(prompts):
            rid = prompt_ids[tuple(p["input_ids"].flatten().tolist())]
            for j, (ids, m) in enumerate(completions[rid]):
                tokens[i * group_size + j, : ids.numel()] = ids.cpu()
                mask[i * group_size + j, : m.numel()] = m.float().cpu()
                texts.append(rid)  # the patched scorer below reads the id
        return Rollouts(tokens=tokens, mask=mask, logprobs=None, texts=texts)

    seen: Counter[str] = Counter()

    def table_reward(sample, output, format_weight=0.0):  # type: ignore[no-untyped-def]
        seen[sample.id] += 1
        return table[sample.id][seen[sample.id] - 1]

    monkeypatch.setattr(ours.policy, "sample", replay)
    monkeypatch.setattr(maple_bench.scoring, "reward", table_reward)
    grads: dict[str, torch.Tensor] = {}
    step = ours.optimizer.step

    def record_step(*a: Any, **k: Any) -> Any:
        grads.update({n: p.grad.clone() for n, p in ours.policy.model.named_parameters()})
        return step(*a, **k)

    monkeypatch.setattr(ours.optimizer, "step", record_step)
    row = ours.train()[0]
    lb = ours.last_batch
    our_adv = {(samples[lb["batch"][k // G]].id, k % G): float(a) for k, a in enumerate(lb["adv"])}

    # --- the pure functions on the table itself
    ids = sorted(table)
    flat = torch.tensor([r for rid in ids for r in table[rid]])
    names = [by_id[rid].rmt.name for rid in ids for _ in range(G)]
    strata = torch.tensor([TAG_NAMES.index(t) for t in names])
    groups = torch.arange(len(flat)) // G
    pure_adv_t, keep = filtered_advantages(
        flat,
        mode=spec["advantages"],
        filter=spec["filter"],
        groups=groups,
        strata=strata,
        eps=cfg.adv_eps,
        min_size=cfg.min_stratum_size,
    )
    pure_adv = {
        (rid, j): float(pure_adv_t[i * G + j]) for i, rid in enumerate(ids) for j in range(G)
    }
    assert trl_adv.keys() == our_adv.keys() == pure_adv.keys()
    for key in pure_adv:
        assert abs(trl_adv[key] - pure_adv[key]) < 1e-5, key
        assert abs(our_adv[key] - pure_adv[key]) < 1e-5, key
    assert any(abs(a) > 0.1 for a in pure_adv.values())

    # loss: ratio 1 on the first update, so loss_jt = -c_j A_j; the normalisers are the kept counts
    weights = ours.last_batch["weights"]
    if spec["adaptive_weights"]:
        assert weights is not None and len(set(round(w, 6) for w in weights.values())) > 1
    c = per_sample_weights(names, weights, mode=spec["stratum_weighting"], keep=keep)
    tok_mask = torch.stack([completions[rid][j][1].float() for rid in ids for j in range(G)])
    tok_mask = torch.nn.functional.pad(tok_mask, (0, MAX_LEN - tok_mask.shape[1]))
    zero = torch.zeros_like(tok_mask)
    per_tok = clipped_surrogate(zero, zero, pure_adv_t, eps_low=0.2, eps_high=0.28).loss
    pure_loss = float(
        aggregate(
            per_tok,
            tok_mask,
            mode=spec["loss_agg"],
            num_samples=float(keep.sum()),
            num_tokens=float(tok_mask[keep].sum()),
            max_len=MAX_LEN,
            weights=c,
        )
    )
    assert abs(rec["loss"] - pure_loss) < 1e-5 * max(1.0, abs(pure_loss)), (rec["loss"], pure_loss)
    assert abs(row["loss"] - pure_loss) < 1e-5 * max(1.0, abs(pure_loss)), (row["loss"], pure_loss)

    # gradients of the two trainers agree (same model, tokens, advantages, weights, normaliser)
    assert grads.keys() == rec["grads"].keys()
    total = sum(float(g.norm()) for g in grads.values())
    assert total > 0
    for name, g in grads.items():
        assert torch.allclose(rec["grads"][name], g, rtol=1e-4, atol=1e-6), name


# ----------------------------------------------------------------------------- 2 processes
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_processes_torchrun(dataset: Any, lm: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    dataset.save_to_disk(str(data))
    out = tmp_path / "out"
    out.mkdir()
    worker = Path(__file__).with_name("mapo_trl_worker.py")
    # torchrun (gloo on CPU); `accelerate launch --cpu` runs a single process whatever
    # --num_processes says, so it cannot start a 2-process CPU run
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(_free_port()),
        str(worker),
        str(lm),
        str(data),
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert len(ranks[0]["steps"]) == len(ranks[1]["steps"]) == 2
    assert len(ranks[0]["losses"]) == 2
    names_of = dict(zip(dataset["maple_id"], dataset["rmt"]))
    for s0, s1 in zip(ranks[0]["steps"], ranks[1]["steps"]):
        # every process sees the same global batch and the same MAPO advantages
        for key in ("names", "rewards", "global_adv"):
            assert s0[key] == s1[key], key
        # ... built from the processes' slices, in rank order, with whole prompt groups
        ids = s0["ids"] + s1["ids"]
        assert [names_of[i] for i in ids] == s0["names"]
        assert all(len(set(ids[k : k + G])) == 1 for k in range(0, len(ids), G))
        assert s0["local_adv"] + s1["local_adv"] == pytest.approx(s0["global_adv"], abs=1e-6)
        # and those advantages are the pure function's on the gathered batch (before c_j)
        strata = torch.tensor([TAG_NAMES.index(t) for t in s0["names"]])
        adv, _ = filtered_advantages(
            torch.tensor(s0["rewards"]),
            mode="stratum",
            filter="late",
            groups=torch.arange(len(ids)) // G,
            strata=strata,
        )
        assert adv.tolist() == pytest.approx(s0["global_adv"], abs=1e-6)
    assert any(abs(a) > 1e-3 for s in ranks[0]["steps"] for a in s["global_adv"])
