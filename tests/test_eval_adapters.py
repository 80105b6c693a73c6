"""Every adapter on a tiny local model, and a contract test over every registered task and adapter.

Checkpoints are built offline (``maple_bench.models.tiny``: random weights, a locally trained
tokenizer); nothing touches the network. Each adapter runs through the real runner on items whose
streams it accepts, so the whole path (presentation, inputs, generation, scoring, log) is covered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluators.adapters import ADAPTERS, UnsupportedStreamError
from evaluators.runner.config import RunConfig
from evaluators.runner.run import run_eval
from evaluators.samplelog import LOG_FIELDS, read_log
from evaluators.tasks import TASKS, get_task, load_task
from evaluators.tasks.load import generate_synth
from maple_bench.modality import VAS, Tag, parse_tag

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adapters") / "raw"
    return generate_synth(out, per_tag=1, seed=5, clip_seconds=2.0, width=64, height=48)


@pytest.fixture(scope="module")
def built(raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local builder output folder with the three MAPLE configs (what --data DIR points at)."""
    from maple_bench.data.pipeline import build_dataset

    out = tmp_path_factory.mktemp("built") / "ds"
    for builder in ("qa", "qa-plus", "caption"):
        build_dataset(builder, raw, out, seed=0, link_media=False)
    return out


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from maple_bench.models.compact import CompactOmniConfig, CompactOmniPolicy
    from maple_bench.models.tiny import tiny_causal_lm, tiny_qwen_omni_thinker

    root = tmp_path_factory.mktemp("ckpt")
    lm = tiny_causal_lm(root / "lm")
    compact = root / "compact"
    CompactOmniPolicy(
        CompactOmniConfig(hidden_size=16, mlp_size=16, n_buckets=256)
    ).save_pretrained(compact)
    return {
        "qwen2_5_omni": tiny_qwen_omni_thinker(root / "thinker"),
        "causal_lm": lm,
        "chat_mm": lm,  # a tokenizer-only processor: the generic path, text stream only
        "compact": compact,
    }


# Items each adapter is run on in the contract test (presentations it can take).
RUN_ON: dict[str, tuple[str, ...] | None] = {"causal_lm": ("S",), "chat_mm": ("S",)}


def _adapter_config(
    name: str, raw: Path, out: Path, ckpts: dict[str, Path], **kw: Any
) -> RunConfig:
    model = f"{name}:{ckpts[name]}" if name in ckpts else name
    args: dict[str, Any] = (
        {"max_new_tokens": 3} if name in ("qwen2_5_omni", "causal_lm", "chat_mm") else {}
    )
    base: dict[str, Any] = dict(task="synth_qa_plus", model=model, model_args=args, data=str(raw),
                                output=str(out), num_workers=0, batch_size=4, progress=False,
                                presentations=RUN_ON.get(name), limit=7)  # fmt: skip
    base.update(kw)
    return RunConfig(**base)


@pytest.mark.parametrize("name", ADAPTERS.names())
def test_contract_every_adapter_runs_end_to_end(
    name: str, raw: Path, checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    import contextlib

    cls = ADAPTERS.get(name)
    assert isinstance(cls.accepts, Tag) and cls.name == name
    kw: dict[str, Any] = {}
    server: Any = contextlib.nullcontext()
    if name == "openai_chat":  # a served model: the loopback OpenAI-compatible server
        from tests.openai_server import LoopbackServer, expected_from_samples

        samples = load_task(get_task("synth_qa_plus"), data=str(raw)).samples
        server = LoopbackServer(expected_from_samples(samples))
    with server as srv:
        if srv is not None:
            kw["model"] = "openai_chat:served"
            kw["model_args"] = {"base_url": srv.base_url}
        out = run_eval(_adapter_config(name, raw, tmp_path / name, checkpoints, **kw))
    if srv is not None:
        assert srv.state.violations == [] and len(srv.state.seen) == 7
    recs = read_log(out.log_path)
    assert len(recs) == 7
    for r in recs:
        assert set(r) == set(LOG_FIELDS)
        assert r["error"] is None and isinstance(r["raw_output"], str)
        assert isinstance(r["correct"], bool) and r["prompt_hash"] and r["item_hash"]
        assert parse_tag(r["presentation"]) <= (VAS if RUN_ON.get(name) is None else parse_tag("S"))
    prov = out.results["maple"]["provenance"]["model"]
    assert prov["adapter"] == name and {"id", "revision", "dtype"} <= set(prov)
    meta = json.loads((out.output_dir / "run_meta.json").read_text())
    assert meta["provenance"]["model"]["adapter"] == name
    if name in ("qwen2_5_omni", "causal_lm", "chat_mm"):
        assert prov["chat_template_hash"] and prov["trust_remote_code"] is False
        assert prov["dtype"] == "float32" and prov["id"] == str(checkpoints[name])


def test_qwen_audio_in_video_follows_the_presentation(
    raw: Path, checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    cfg = _adapter_config(
        "qwen2_5_omni", raw, tmp_path / "q", checkpoints, presentations=("V", "VA", "AS"), limit=6
    )
    recs = read_log(run_eval(cfg).log_path)
    flags = {r["presentation"]: r["delivered"]["audio_in_video"] for r in recs}
    assert flags == {"V": False, "VA": True, "AS": False}
    assert all((r["delivered"]["audio_seconds"] > 0) == ("A" in r["presentation"]) for r in recs)


def test_text_adapters_refuse_video_and_audio(
    raw: Path, checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    # Refused from the class declaration, before the model is loaded or any media decoded.
    with pytest.raises(
        UnsupportedStreamError, match=r"accepts S .*video\+audio\+subtitles|accepts S"
    ):
        run_eval(_adapter_config("causal_lm", raw, tmp_path / "a", checkpoints, presentations=None))
    assert not (tmp_path / "a" / "samples_synth_qa_plus.jsonl").exists()
    # chat_mm learns what it takes from the checkpoint's processor (here: text only).
    with pytest.raises(UnsupportedStreamError, match="chat_mm"):
        run_eval(
            _adapter_config("chat_mm", raw, tmp_path / "b", checkpoints, presentations=("VS",))
        )
    # blank masking hands every stream to the model, so a text model must refuse it too.
    with pytest.raises(UnsupportedStreamError, match="blank"):
        run_eval(_adapter_config("causal_lm", raw, tmp_path / "c", checkpoints, masking="blank"))


def test_solver_refuses_caption_tasks(built: Path, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedStreamError, match="caption"):
        run_eval(RunConfig(task="maple_caption", model="solver", data=str(built), output=str(tmp_path / "c"),
                           num_workers=0, progress=False))  # fmt: skip


@pytest.mark.parametrize("limit", [None, 3])
def test_dataset_hashes_name_exactly_the_evaluated_items(built: Path, limit: int | None) -> None:
    """Reused from the loader when nothing was dropped, recomputed after --limit."""
    from maple_bench.data import content_hash, ids_hash

    task = load_task(get_task("maple_qa"), data=str(built), limit=limit)
    assert task.dataset["ids_hash"] == ids_hash(s.id for s in task.samples)
    assert task.dataset["content_hash"] == content_hash(task.samples)
    assert (task.dataset["content_hash"] == task.dataset["dataset_hash"]) == (limit is None)


@pytest.mark.parametrize("name", TASKS.names())
def test_contract_every_task_loads_locally(name: str, raw: Path, built: Path) -> None:
    spec = get_task(name)
    data = raw if spec.source == "synth" else built
    task = load_task(spec, data=str(data), limit=None)
    assert task.samples and len({s.id for s in task.samples}) == len(task.samples)
    assert all(s.task == spec.sample_kind for s in task.samples)
    assert task.media_root is not None and task.media_root.is_dir()
    assert task.dataset["ids_hash"] and task.dataset["config"]
    if spec.kind == "qa_plus":
        assert {s.shown for s in task.samples} >= {parse_tag(t) for t in ("V", "A", "S", "VAS")}
        assert all(s.has_none_option for s in task.samples)
    if spec.kind == "qa":
        assert all(s.shown == s.rmt for s in task.samples)


def test_caption_task_runs_with_random_adapter(built: Path, tmp_path: Path) -> None:
    out = run_eval(RunConfig(task="maple_caption", model="random", data=str(built), output=str(tmp_path / "c"),
                             num_workers=0, progress=False))  # fmt: skip
    recs = read_log(out.log_path)
    assert recs and all(
        r["task"] == "caption" and r["references"] and r["raw_output"] for r in recs
    )
    assert out.results["maple"]["captions"]["lexical"]["overall"]["n"] == len(recs)


@pytest.mark.gpu
def test_qwen_official_processor_and_plain_path_agree(
    raw: Path, checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    """On GPU installs (torchvision present) both input paths must give identical tensors and
    therefore identical greedy replies through the adapter."""
    from maple_bench.models.inputs.qwen_omni import compare_with_official
    from maple_bench.present import MediaConfig, present

    task = load_task(get_task("synth_qa_plus"), data=str(raw))
    media = MediaConfig(media_root=task.media_root)
    picked = [s for s in task.samples if s.shown.name in ("V", "VA", "AS", "VAS")][:4]
    reports = compare_with_official(
        checkpoints["qwen2_5_omni"], [present(s, media) for s in picked]
    )
    assert all(r["equal"] for r in reports), reports
    replies = {}
    for path in ("plain", "official"):
        cfg = _adapter_config("qwen2_5_omni", raw, tmp_path / path, checkpoints, device="cuda",
                              model_args={"max_new_tokens": 3, "input_path": path},
                              presentations=("V", "VA", "AS", "VAS"), limit=4)  # fmt: skip
        replies[path] = [r["raw_output"] for r in read_log(run_eval(cfg).log_path)]
    assert replies["plain"] == replies["official"]


def test_qwen_worker_built_inputs_match_the_builders_batch(
    raw: Path, checkpoints: dict[str, Path]
) -> None:
    """Inputs built per item in the workers and padded by the adapter give the same replies as
    the input builder's own batch path, on a batch mixing presentations and audio-in-video."""
    import torch

    from evaluators.adapters import Request, build_adapter
    from maple_bench.present import MediaConfig, present

    task = load_task(get_task("synth_qa_plus"), data=str(raw))
    media = MediaConfig(media_root=task.media_root)
    items = [present(s, media) for s in task.samples[:7]]  # all 7 presentations of one question
    adapter = build_adapter(
        "qwen2_5_omni", {"pretrained": str(checkpoints["qwen2_5_omni"]), "max_new_tokens": 4},
        device="cpu", dtype="float32",
    )  # fmt: skip
    prep = adapter.preparer()
    plain = [Request(mi, f"Q{i}", 0, i) for i, mi in enumerate(items)]
    built = [Request(mi, f"Q{i}", 0, i, prep(mi, f"Q{i}")) for i, mi in enumerate(items)]
    assert {bool(r.prepared["use_audio_in_video"]) for r in built} == {True, False}
    torch.manual_seed(0)
    assert adapter.generate(built) == adapter.generate(plain)
    a, _ = adapter.builder.build_batch([(r.input, r.prompt) for r in plain[:2]])
    from evaluators.adapters.qwen_omni import collate_items

    b = collate_items([r.prepared for r in built[:2]], adapter.tokenizer.pad_token_id)
    assert set(a) == set(b) and all(
        torch.equal(a[k], b[k]) for k in a if isinstance(a[k], torch.Tensor)
    )
