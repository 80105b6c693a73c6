"""MAPO on 2 CPU processes (gloo): FSDP2 and DDP match a 1-process run.

The worker (``tests/mapo_dist_worker.py``) trains the tiny Qwen2.5-Omni thinker for 4 optimizer
steps (2 rollout batches x 2 mini-batches, 2 micro-batches each) on V / A / VA / VAS prompts. The
process environment comes from the repository's accelerate config files, turned into
environment variables by accelerate's own launcher code, and the processes are started with
torchrun (``accelerate launch`` runs one process when given ``--cpu``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "mapo_dist_worker.py"


def _env_from_config(config: Path, processes: int) -> dict[str, str]:
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    parser = launch_command_parser()
    args = parser.parse_args(
        [
            "--config_file",
            str(config),
            "--num_processes",
            str(processes),
            "--mixed_precision",
            "no",
            str(WORKER),
        ]
    )
    args, _, _ = _validate_launch_command(args)
    env = dict(os.environ)
    env.update(prepare_multi_gpu_env(args))
    env.update(ACCELERATE_USE_CPU="true", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = str(ROOT)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(work: Path, name: str, config: Path | None) -> dict:
    result = work / f"{name}.json"
    if config is None:
        env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
        cmd = [sys.executable, str(WORKER), str(work), str(result)]
    else:
        env = _env_from_config(config, 2)
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            str(_free_port()),
            str(WORKER),
            str(work),
            str(result),
        ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(result.read_text())


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from maple_bench.models.tiny import tiny_qwen_omni_thinker
    from tests.test_mapo_trainer import make_samples

    w = tmp_path_factory.mktemp("dist")
    tiny_qwen_omni_thinker(w / "thinker")
    make_samples(w / "media", per_tag=1)  # written once, before the processes start
    return w


@pytest.fixture(scope="module")
def single(work: Path) -> dict:
    return _run(work, "one", None)


def _assert_matches(one: dict, two: dict) -> None:
    assert [s["step"] for s in two["steps"]] == [1, 2, 3, 4]
    for a, b in zip(one["steps"], two["steps"]):
        assert a["reward_mean"] == b["reward_mean"]  # same rollouts whatever the process count
        assert np.isclose(a["loss"], b["loss"], rtol=1e-4, atol=1e-6), (a, b)
        assert np.isclose(a["grad_norm"], b["grad_norm"], rtol=1e-4), (a, b)
    assert any(s["grad_norm"] > 0 for s in one["steps"])
    assert set(one["weights"]) == set(two["weights"])
    moved = 0
    for k in one["weights"]:
        x, y = np.array(one["weights"][k]), np.array(two["weights"][k])
        assert np.allclose(x, y, atol=2e-5), (k, float(np.abs(x - y).max()))
        moved += 1
    assert moved > 0


@pytest.mark.slow
def test_fsdp2_two_processes_shard_and_match_one(work: Path, single: dict) -> None:
    two = _run(work, "fsdp2", ROOT / "configs" / "accelerate" / "fsdp2.yaml")
    assert two["world"] == 2 and two["runner"] == "FSDPPolicyRunner"  # fully_shard applied
    # parameters are really sharded: DTensors, each process holding about half of them
    assert two["sharded_params"] == two["params"] > 0
    assert two["local_numel"] < 0.6 * two["full_numel"]
    _assert_matches(single, two)


@pytest.mark.slow
def test_ddp_two_processes_match_one(work: Path, single: dict) -> None:
    two = _run(work, "ddp", ROOT / "configs" / "accelerate" / "ddp.yaml")
    assert two["world"] == 2 and "MULTI" in two["distributed_type"]
    assert two["runner"] == "DistributedDataParallel" and two["sharded_params"] == 0
    _assert_matches(single, two)
