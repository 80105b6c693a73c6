"""MAPO trainer: config, sampler, resume after a kill, 2-process == 1-process, CLI.

The option-scoring model here (``_TestScorer``) is a local test helper: a 13 -> 4 linear layer
over crude stream features, wrapped by the real :class:`CompactPolicy`, so these tests exercise
the trainer's mechanics quickly; ``test_mapo_policies.py`` covers the real models.
"""

from __future__ import annotations

import json
import math
import os
import socket
import types
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import PretrainedConfig, PreTrainedModel

from maple_bench.mapo.config import PRESETS, TrainConfig, load_config
from maple_bench.mapo.metrics import read_metrics
from maple_bench.mapo.policy import CompactPolicy
from maple_bench.mapo.sampler import TagSampler
from maple_bench.modality import TAG_NAMES, parse_tag
from maple_bench.schema import MediaRef, Sample

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 200, 30),
    "blue": (30, 30, 220),
    "yellow": (220, 220, 30),
}


# ----------------------------------------------------------------------------- test helpers
class _TestScorerConfig(PretrainedConfig):
    model_type = "mapo_test_scorer"

    def __init__(self, n_in: int = 13, n_options: int = 4, **kw) -> None:
        self.n_in, self.n_options = n_in, n_options
        super().__init__(**kw)


class _TestScorer(PreTrainedModel):
    config_class = _TestScorerConfig

    def __init__(self, config: _TestScorerConfig) -> None:
        super().__init__(config)
        self.lin = torch.nn.Linear(config.n_in, config.n_options)
        self.post_init()

    def _init_weights(self, module: torch.nn.Module) -> None:  # keep torch's seeded init
        pass

    def forward(self, features: torch.Tensor) -> types.SimpleNamespace:
        return types.SimpleNamespace(logits=self.lin(features))


def _featurize(mi) -> dict[str, torch.Tensor]:
    f = np.zeros(13, dtype=np.float32)
    if mi.frames is not None:
        f[:3] = mi.frames.data.reshape(-1, 3).mean(0) / 255.0
    if mi.audio is not None:
        f[3] = float(np.abs(mi.audio.data).mean()) * 4
    if mi.subtitles:
        f[4] = len(mi.subtitles) / 20.0
    f[5 + zlib.crc32(mi.sample.question.encode()) % 8] = 1.0
    return {"features": torch.from_numpy(f)[None]}


def _test_policy(seed: int = 0) -> CompactPolicy:
    torch.manual_seed(seed)
    return CompactPolicy(_TestScorer(_TestScorerConfig()), _featurize)


def make_samples(root: Path, per_tag: int = 2) -> list[Sample]:
    """Real tiny mp4 (4 frames, 16x16, a tone) + srt per video; one MCQ per (tag, index)."""
    from maple_bench.media import write_srt, write_video

    root.mkdir(parents=True, exist_ok=True)
    names = list(COLOURS)
    out = []
    for k, tag in enumerate(TAG_NAMES):
        for i in range(per_tag):
            colour = names[(k + i) % 4]
            vid = f"v{k}_{i}"
            if not (root / f"{vid}.mp4").exists():
                frames = np.tile(np.array(COLOURS[colour], np.uint8), (4, 16, 16, 1))
                t = np.arange(16000) / 16000
                write_video(
                    root / f"{vid}.mp4",
                    frames,
                    4.0,
                    audio=(0.3 * np.sin(2 * np.pi * 440 * (k + 1) * t)).astype(np.float32),
                )
                write_srt(root / f"{vid}.srt", [(0.0, 1.0, f"the word is {colour}")])
            out.append(
                Sample(
                    id=f"q{k}_{i}",
                    video_id=vid,
                    question=f"Which colour? ({tag})",
                    rmt=parse_tag(tag),
                    options=tuple(names),
                    answer=colour,
                    split="train",
                    media=MediaRef(video=f"{vid}.mp4", subtitle=f"{vid}.srt"),
                )
            )
    return out


def _cfg(**kw) -> TrainConfig:
    base = dict(
        batch_size=4,
        group_size=4,
        max_steps=4,
        lr=0.05,
        num_frames=2,
        frame_size=16,
        plot=False,
        media_cache_items=64,
        seed=1,
        steps_per_generation=1,
    )
    return load_config("mapo", [f"{k}={json.dumps(v)}" for k, v in {**base, **kw}.items()])


def _trainer(cfg: TrainConfig, out: Path, samples, media: Path, callbacks=()):
    from maple_bench.mapo.trainer import MapoTrainer

    return MapoTrainer(
        cfg, out, samples=samples, media_root=media, policy=_test_policy(), callbacks=callbacks
    )


VOLATILE = {"wall_time", "step_time", "rollout_time", "tokens_per_s"}


def _stable(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in VOLATILE}


def _assert_rows_close(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        x, y = _stable(x), _stable(y)
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float) or isinstance(y[k], float):
                if x[k] is None or y[k] is None:
                    assert x[k] == y[k], k
                else:
                    assert math.isclose(x[k], y[k], rel_tol=1e-5, abs_tol=1e-6), (k, x[k], y[k])
            else:
                assert x[k] == y[k], k


# ----------------------------------------------------------------------------- config
def test_config_rejects_unknown_keys_and_lists_valid() -> None:
    with pytest.raises(ValueError, match="Did you mean 'advantages'.*Valid keys: policy"):
        load_config("mapo", ["advantage=global"])
    with pytest.raises(ValueError, match="not one of global, group, stratum"):
        load_config("mapo", ["advantages=strata"])
    cfg = load_config("mupo", ["lr=1e-3", "max_steps=7"])
    assert cfg.lr == 1e-3 and cfg.max_steps == 7
    assert cfg.advantages == "global" and cfg.inputs == "full" and cfg.sampler == "mixed"
    assert load_config("mapo").advantages == "stratum" and load_config("mapo").inputs == "required"
    assert load_config("mapo-adaptive").adaptive_weights
    assert set(PRESETS) == {"mupo", "mapo", "mapo-adaptive"}


def test_config_yaml(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("preset: mupo\nlr: 2e-4\ngroup_size: 2\n")
    cfg = load_config(p, ["seed=3"])
    assert (cfg.advantages, cfg.lr, cfg.group_size, cfg.seed) == ("global", 2e-4, 2, 3)
    p.write_text("grup_size: 2\n")
    with pytest.raises(ValueError, match=r"c.yaml: unknown key 'grup_size'"):
        load_config(p)
    p.write_text("group_size: two\n")
    with pytest.raises(ValueError, match=r"c.yaml: group_size='two' is not an integer"):
        load_config(p)
    p.write_text("adaptive_weights: maybe\n")
    with pytest.raises(ValueError, match=r"c.yaml: adaptive_weights='maybe' is not true or false"):
        load_config(p)
    assert load_config(p.parent / "c.yaml", ["adaptive_weights=true"]).adaptive_weights
    p.write_text("lr: [1e-3\n")
    with pytest.raises(ValueError, match=r"c.yaml: not valid YAML"):
        load_config(p)
    with pytest.raises(ValueError, match=r"override 'lr=\[1': the value is not valid YAML"):
        load_config("mupo", ["lr=[1"])


# ----------------------------------------------------------------------------- sampler
def test_sampler_modes_reproducible_and_resumable() -> None:
    tags = ["V"] * 6 + ["A"] * 3 + ["VA"] * 3
    quota = TagSampler(
        tags, 4, mode="stratified", stratified_mode="quota", seed=0, tag_order=TAG_NAMES
    )
    b = quota.next_batch()
    # quotas 4 * [6, 3, 3] / 12 = [2, 1, 1]
    assert sorted(tags[i] for i in b) == ["A", "V", "V", "VA"]
    single = TagSampler(
        tags, 3, mode="stratified", stratified_mode="single", seed=0, tag_order=TAG_NAMES
    )
    assert [{tags[i] for i in single.next_batch()} for _ in range(3)] == [{"V"}, {"A"}, {"VA"}]
    mixed = TagSampler(tags, 4, seed=5)
    first = [mixed.next_batch() for _ in range(2)]
    state = mixed.state_dict()
    after = [mixed.next_batch() for _ in range(4)]  # crosses an epoch boundary
    again = TagSampler(tags, 4, seed=5)
    assert [again.next_batch() for _ in range(2)] == first
    resumed = TagSampler(tags, 4, seed=5)
    resumed.load_state_dict(json.loads(json.dumps(state)))
    assert [resumed.next_batch() for _ in range(4)] == after
    # one epoch of the mixed stream visits every sample once
    ep = TagSampler(tags, 4, seed=9)
    assert sorted(sum((ep.next_batch() for _ in range(3)), [])) == list(range(12))
    assert {tags[i] for i in mixed.next_batch(allowed={"A"})} == {"A"}


# ----------------------------------------------------------------------------- training runs
@pytest.mark.slow
def test_resume_after_kill_continues_identically(tmp_path: Path) -> None:
    media = tmp_path / "media"
    samples = make_samples(media)
    cfg = _cfg(
        save_every=2, adaptive_weights=True, curriculum="dynamic", grad_accum=2, ppo_epochs=1
    )

    full = _trainer(cfg, tmp_path / "full", samples, media).setup()
    full.train()
    full_rows = read_metrics(tmp_path / "full" / "metrics.jsonl")
    assert [r["step"] for r in full_rows] == [1, 2, 3, 4]

    def kill_at_3(trainer, row):
        if row["step"] == 3:
            raise KeyboardInterrupt("simulated kill after the step-2 checkpoint")

    with pytest.raises(KeyboardInterrupt):
        _trainer(cfg, tmp_path / "run", samples, media, [kill_at_3]).setup().train()
    assert (tmp_path / "run" / "checkpoints" / "step-000002" / "model").is_dir()
    resumed = _trainer(cfg, tmp_path / "run", samples, media).setup()
    assert resumed.step == 2
    resumed.train()
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    _assert_rows_close(rows, full_rows)
    # every "logged every step" quantity is there and finite where it must be
    last = rows[-1]
    for key in (
        "reward_mean",
        "reward_std",
        "adv_mean",
        "adv_std",
        "kept_frac",
        "clip_low_frac",
        "clip_high_frac",
        "entropy",
        "grad_norm",
        "grad_var",
        "kl",
        "step_time",
        "tokens_per_s",
    ):
        assert key in last, key
    assert any(k.startswith("weight/") for k in last)
    assert any(k.startswith("reward_std/") for k in last)
    assert last["grad_var"] is None or last["grad_var"] >= 0  # None only when nothing was kept
    p_full = dict(full.policy.model.named_parameters())
    for n, p in resumed.policy.model.named_parameters():
        assert torch.allclose(p, p_full[n], atol=1e-6)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, tmp: str, result: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    _run_and_record(Path(tmp), Path(result))


def _run_and_record(tmp: Path, result: Path) -> None:
    """Train 2 steps; record the global advantages of each step and the final weights."""
    samples = make_samples(tmp / "media")
    rec: list[dict] = []

    def grab(trainer, row):
        # processes gather in rank order; sort rows by global prompt position to compare
        lb = trainer.last_batch
        order = torch.argsort(lb["groups"], stable=True)
        rec.append(
            {
                "adv": lb["adv"][order].tolist(),
                "rewards": lb["rewards"][order].tolist(),
                "loss": row["loss"],
                "grad_norm": row["grad_norm"],
            }
        )

    cfg = _cfg(max_steps=2, grad_accum=1, advantages="stratum", filter="late")
    tr = _trainer(
        cfg, tmp / f"run{os.environ.get('WORLD_SIZE', '1')}", samples, tmp / "media", [grab]
    )
    tr.setup(resume=False)
    tr.train()
    if tr.acc.is_main_process:
        weights = {n: p.detach().flatten().tolist() for n, p in tr.policy.model.named_parameters()}
        result.write_text(json.dumps({"steps": rec, "weights": weights}))
    tr.cleanup()


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    make_samples(tmp_path / "media")
    two = tmp_path / "two.json"
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path), str(two)), nprocs=2, join=True)
    one = tmp_path / "one.json"
    _run_and_record(tmp_path, one)
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    for s1, s2 in zip(a["steps"], b["steps"]):
        assert s1["rewards"] == s2["rewards"]
        assert np.allclose(s1["adv"], s2["adv"], atol=1e-6)
        # on-policy the loss is -mean(A) over kept rows, ~0 since advantages are normalised
        # over exactly those rows: compare at float32 summation-order tolerance
        assert math.isclose(s1["loss"], s2["loss"], rel_tol=1e-5, abs_tol=1e-6)
        # the reduced gradient is the same whatever the number of processes
        assert math.isclose(s1["grad_norm"], s2["grad_norm"], rel_tol=1e-5)
    assert any(abs(x) > 1e-3 for s in a["steps"] for x in s["adv"])  # non-trivial batches
    lr = _cfg().lr
    for n in a["weights"]:
        x, y = np.asarray(a["weights"][n]), np.asarray(b["weights"][n])
        # AdamW divides by sqrt(v) + 1e-8: a weight whose gradient is float-summation noise
        # (~1e-9: a feature that is constant over the batch, so the zero-mean advantages cancel)
        # moves by a noise-dependent fraction of lr. Every other weight matches to 1e-6.
        off = np.abs(x - y) > 1e-6
        assert off.mean() <= 0.05, (n, np.flatnonzero(off).tolist())
        assert float(np.abs(x - y).max()) <= 0.2 * lr, n


# ----------------------------------------------------------------------------- CLI
def test_cli_rejects_bad_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from maple_bench.cli import main

    assert (
        main(["train", "--config", "mapo", "lr_rate=1", "--data", "x", "--out", str(tmp_path)]) == 2
    )
    assert "unknown key 'lr_rate'" in capsys.readouterr().err
    assert main(["train", "--list-keys"]) == 0
    listing = capsys.readouterr().out
    assert 'advantages = "stratum"' in listing
    assert "(MUPO), ``group`` (GRPO)" in listing  # each key's documentation, under its default
    assert 'stratum_weighting = "g_ma"' in listing


@pytest.mark.slow
def test_cli_trains_on_built_synth_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from maple_bench.cli import main

    raw, ds, out = tmp_path / "raw", tmp_path / "ds", tmp_path / "run"
    assert (
        main(
            ["synth", "--out", str(raw), "--per-tag", "2", "--seed", "0", "--test-fraction", "0.5"]
        )
        == 0
    )
    assert main(["build", "qa", "--source", str(raw), "--out", str(ds)]) == 0
    args = [
        "train",
        "--config",
        "mapo-adaptive",
        "max_steps=2",
        "batch_size=4",
        "group_size=2",
        "num_frames=2",
        "plot=true",
        "eval_every=2",
        "eval_limit=7",
        "--data",
        str(ds),
        "--out",
        str(out),
    ]
    assert main(args) == 0
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    # held-out evaluation through the maple-eval runner, logged with the training metrics
    assert 0.0 <= rows[1]["eval_acc"] <= 1.0 and "eval_acc" not in rows[0]
    assert (out / "eval" / "step-000002" / "run" / "results.json").is_file()
    assert "train:" in capsys.readouterr().err  # the progress bar
    assert (out / "curves.png").stat().st_size > 1000
    # running the same command again resumes from the step-2 checkpoint: nothing left to do
    assert main([*args[:3], "max_steps=3", *args[4:]]) == 0
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2, 3]
    assert (out / "checkpoints" / "step-000003" / "model" / "config.json").is_file()


@pytest.mark.slow
def test_ppo_epochs_reuse_rollouts_and_clip(tmp_path: Path) -> None:
    # two optimizer steps per rollout batch: the second sees ratio != 1, so with a large
    # learning rate some tokens are clipped; static curriculum starts with uni-modal tags only
    media = tmp_path / "media"
    samples = make_samples(media)
    cfg = _cfg(
        ppo_epochs=2,
        lr=0.5,
        max_steps=4,
        filter="none",
        curriculum="static",
        eps_high=0.05,
        eps_low=0.05,
        max_grad_norm=0.0,
    )
    tr = _trainer(cfg, tmp_path / "run", samples, media).setup()
    rows = tr.train()
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["batch_hash"] == rows[1]["batch_hash"] != rows[2]["batch_hash"]
    assert rows[0]["clip_low_frac"] == rows[0]["clip_high_frac"] == 0.0  # on-policy: ratio 1
    assert rows[1]["clip_low_frac"] + rows[1]["clip_high_frac"] > 0
    assert all(len(k) == len("reward_mean/") + 1 for k in rows[0] if k.startswith("reward_mean/"))


@pytest.mark.slow
def test_minibatch_updates_make_the_clip_act(tmp_path: Path) -> None:
    # one rollout batch, two mini-batches: the first update is on-policy (ratio 1, nothing
    # clipped); the second reuses the rollout's old log-probs after the policy moved, so with a
    # large learning rate and a tight clip some tokens are clipped
    media = tmp_path / "media"
    samples = make_samples(media)
    cfg = _cfg(
        steps_per_generation=2,
        lr=0.5,
        max_steps=2,
        filter="none",
        eps_high=0.05,
        eps_low=0.05,
        max_grad_norm=0.0,
        batch_size=8,
    )
    tr = _trainer(cfg, tmp_path / "run", samples, media).setup()
    rows = tr.train()
    assert [r["step"] for r in rows] == [1, 2]
    assert rows[0]["batch_hash"] == rows[1]["batch_hash"]  # one generation, two updates
    assert rows[0]["clip_low_frac"] == rows[0]["clip_high_frac"] == 0.0
    assert rows[1]["clip_low_frac"] + rows[1]["clip_high_frac"] > 0
    # the two mini-batches split the 8 x 4 rows of the rollout batch
    assert rows[0]["update_tokens"] + rows[1]["update_tokens"] == 32


# ----------------------------------------------------------------------------- run folder rules
@pytest.mark.slow
def test_resume_rules_recipe_fresh_metrics_torn_line(tmp_path: Path) -> None:
    from maple_bench.mapo.trainer import RecipeMismatchError

    media = tmp_path / "media"
    samples = make_samples(media, per_tag=1)
    out = tmp_path / "run"
    cfg = _cfg(max_steps=2, batch_size=2, group_size=2)
    _trainer(cfg, out, samples, media).setup().train()
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2]
    # a different recipe must not resume (and overwrite) this folder
    other = cfg.replace(advantages="global", inputs="full")
    with pytest.raises(RecipeMismatchError, match="advantages: 'stratum' -> 'global'"):
        _trainer(other, out, samples, media).setup()
    assert json.loads((out / "config.json").read_text())["advantages"] == "stratum"
    # a kill mid-write leaves a torn last line: resuming survives it
    with (out / "metrics.jsonl").open("a") as f:
        f.write('{"step": 3, "loss": 0.1')
    longer = cfg.replace(max_steps=3)  # max_steps may change on resume
    _trainer(longer, out, samples, media).setup().train()
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2, 3]
    # not resuming starts a fresh log and drops the old checkpoints
    tr = _trainer(cfg.replace(max_steps=1), out, samples, media).setup(resume=False)
    assert not (out / "checkpoints").exists()
    tr.train()
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [1]


def test_text_policy_on_video_data_fails_before_loading(tmp_path: Path) -> None:
    from maple_bench.mapo.trainer import MapoTrainer

    media = tmp_path / "media"
    samples = make_samples(media, per_tag=1)
    cfg = load_config("mupo", ["policy=causal_lm", "model=/does/not/exist", "inputs=required"])
    tr = MapoTrainer(cfg, tmp_path / "run", samples=samples, media_root=media)
    # the model path does not exist: the error must come from the check, before any loading
    with pytest.raises(ValueError, match=r"train_tags=\[S,VS,AS,VAS\]") as e:
        tr.setup(resume=False)
    assert "V: 1" in str(e.value) and "policy=causal_lm" in str(e.value)
    # the key it names works: only the tags with subtitles are kept
    ok = load_config("mupo", ["policy=causal_lm", "train_tags=[S,VS,AS,VAS]"])
    assert ok.train_tags == ("S", "VS", "AS", "VAS")
    assert load_config("mapo", ["policy=qwen2_5_omni"]).policy == "qwen_omni_thinker"
    with pytest.raises(ValueError, match="mixed_precision=bf16"):
        load_config("mapo", ["dtype=bfloat16"])


@pytest.mark.slow
def test_lr_warmup_and_evaluation_hook(tmp_path: Path) -> None:
    from maple_bench.mapo.trainer import MapoTrainer

    media = tmp_path / "media"
    samples = make_samples(media, per_tag=1)
    seen: list[Path] = []

    def evaluator(trainer, model_dir: Path) -> dict[str, float]:
        seen.append(model_dir)
        assert (model_dir / "config.json").is_file()  # a loadable checkpoint of the weights
        return {"micro_acc": 0.25 * trainer.step}

    cfg = _cfg(max_steps=4, batch_size=2, group_size=2, warmup_steps=2, lr=0.1, eval_every=2)
    tr = MapoTrainer(
        cfg,
        tmp_path / "run",
        samples=samples,
        media_root=media,
        policy=_test_policy(),
        evaluator=evaluator,
    )
    rows = tr.setup(resume=False).train()
    # linear warm-up from 0 over 2 steps, then constant
    assert [round(r["lr"], 6) for r in rows] == [0.0, 0.05, 0.1, 0.1]
    assert [r.get("eval_acc") for r in rows] == [None, 0.5, None, 1.0]
    assert len(seen) == 2


def test_prompt_cache_is_byte_bounded() -> None:
    from maple_bench.mapo.trainer import PromptCache

    cache = PromptCache(max_bytes=100)
    for i in range(3):  # 10 float32 = 40 bytes each
        cache.get((f"s{i}", "V"), lambda: {"x": torch.zeros(10)})
    assert len(cache) == 2 and cache.bytes == 80
    made = []
    cache.get(("s0", "V"), lambda: made.append(1) or {"x": torch.zeros(10)})
    assert made == [1]  # s0 was evicted (least recently used)


def test_curve_panels_skip_empty_and_order_tags() -> None:
    from maple_bench.mapo.metrics import curve_panels

    rows = [
        {
            "step": 1,
            "reward_mean": 0.5,
            "grad_var": None,
            "reward_mean/VAS": 0.1,
            "reward_mean/V": 0.2,
        },
        {"step": 2, "reward_mean": 0.6, "grad_var": None, "reward_mean/A": 0.3},
    ]
    titles = [t for t, _, _ in curve_panels(rows)]
    assert "gradient variance" not in titles and "held-out accuracy" not in titles
    assert "mean reward" in titles and any(t.startswith("reward by required tag") for t in titles)
    rows[1]["eval_acc"] = 0.4
    assert curve_panels(rows)[-1][0] == "held-out accuracy"


def test_paper_recipe_file_loads() -> None:
    cfg = load_config(
        Path(__file__).resolve().parents[1] / "configs/train/paper_qwen2_5_omni_3b.yaml"
    )
    assert (cfg.policy, cfg.group_size, cfg.batch_size, cfg.steps_per_generation) == (
        "qwen_omni_thinker",
        8,
        256,
        8,
    )
    assert (cfg.lr, cfg.eps_low, cfg.eps_high, cfg.mixed_precision) == (2e-6, 0.2, 0.28, "bf16")
    assert cfg.advantages == "stratum" and cfg.inputs == "required" and cfg.sampler == "stratified"


@pytest.mark.slow
def test_kl_to_reference_policy(tmp_path: Path) -> None:
    media = tmp_path / "media"
    samples = make_samples(media, per_tag=1)
    cfg = _cfg(max_steps=3, batch_size=2, group_size=2, kl_beta=0.5, lr=0.2, filter="none")
    tr = _trainer(cfg, tmp_path / "run", samples, media).setup()
    assert tr.ref_policy is not None and tr.ref_policy.model is not tr.policy.model
    rows = tr.train()
    assert rows[0]["kl"] == pytest.approx(0.0, abs=1e-7)  # still the reference policy
    assert rows[-1]["kl"] > 0  # the policy moved away from the frozen reference
    ref = dict(tr.ref_policy.model.named_parameters())
    assert any(not torch.equal(p, ref[n]) for n, p in tr.policy.model.named_parameters())
