"""The ``maple-eval`` command: ``run``, ``ls``, plus ``score`` / ``compare`` / ``validate``.

Subcommands owned by other modules are listed in :data:`SUBCOMMANDS` as ``name -> module``; a
module exposes ``add_parser(subparsers)`` (or ``add_parsers`` for several). A module that is
missing (an optional part not installed) shows up as unavailable instead of breaking the command.
Heavy imports (torch, transformers) happen inside ``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from maple_bench import __version__
from maple_bench.cli import register_commands, run_command, user_errors
from maple_bench.cli.options import add_deprecated_alias, apply_formatters

SUBCOMMANDS: dict[str, str] = {
    "score": "evaluators.cli_metrics",
    "compare": "evaluators.cli_metrics",
    "validate": "evaluators.cli_metrics",
}
"""Subcommands from other modules (``score``, ``compare``, ``validate`` are in one module)."""

# CLI flag -> RunConfig key, for flags that override the YAML config only when given.
_OVERRIDES = (
    "task", "model", "data", "revision", "media_root", "output", "limit", "presentations", "k", "seed",
    "scoring",
    "batch_size", "num_workers", "prefetch_factor", "frames", "fps", "max_pixels", "audio_rate", "masking",
    "backend", "device", "dtype", "cache_dir", "synth_per_tag", "dist_timeout_s",
)  # fmt: skip


def _default(name: str) -> Any:
    """The RunConfig default of ``name`` (flags default to None so a YAML value is not overridden;
    the help shows the value that applies when neither gives one)."""
    import dataclasses

    from evaluators.runner.config import RunConfig

    return {f.name: f.default for f in dataclasses.fields(RunConfig)}[name]


def _add_run_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="evaluate a model on a task (resumable; multi-process with accelerate launch)",
        description=(
            "Evaluate a model on a MAPLE task. Writes <output>/samples_<task>.jsonl (one line per "
            "item and draw, flushed as it finishes), run_meta.json and results.json. Rerunning "
            "into the same --out folder resumes; a different model/task/media spec is refused."
        ),
    )
    p.add_argument(
        "--task", "--tasks", dest="task",
        help="task name, or several as a,b,c (each writes <output>/<task>/; see `maple-eval ls`)",
    )  # fmt: skip
    p.add_argument("--model", help="adapter name, or name:pretrained (e.g. causal_lm:/ckpt)")
    p.add_argument(
        "--model-args",
        default=None,
        help="adapter arguments k=v,k=v (pretrained=DIR, max_new_tokens=N, ...; "
        "`maple-eval ls` lists each adapter's keys)",
    )
    p.add_argument(
        "--data",
        help="local dataset / synth folder, or a Hub repo id (default: the task's; synth tasks "
        "generate their own set)",
    )
    p.add_argument("--revision", help="Hub revision (commit sha, tag or branch) of --data")
    p.add_argument("--media-root", help="folder the media paths are relative to")
    p.add_argument(
        "--out",
        dest="output",
        metavar="DIR",
        help="run folder (default: eval_results/<task>__<model>)",
    )
    add_deprecated_alias(p, "--output", "--out", dest="output")
    p.add_argument("--config", help="run YAML; flags given on the command line override it")
    p.add_argument(
        "--limit",
        help="a count (21) or a fraction (0.1) of the items, sampled per tag with --seed (default: all)",
    )
    p.add_argument(
        "--presentations",
        help="only items shown as these presentations, e.g. S or S,VS (for text-only models; "
        "default: every presentation the task has)",
    )
    p.add_argument(
        "--k", type=int, help=f"draws per item; pass@1 = mean over draws (default: {_default('k')})"
    )
    p.add_argument(
        "--seed",
        type=int,
        help=f"base seed; per-item seeds derive from it and the item id (default: {_default('seed')})",
    )
    p.add_argument(
        "--scoring",
        choices=("generate", "loglikelihood"),
        help="generate (parse the reply; default) or loglikelihood (lm-eval acc/acc_norm over "
        "the options; causal_lm, qwen2_5_omni)",
    )
    p.add_argument(
        "--batch-size",
        help="requests per model call, or auto (served: 4 x concurrency; local: shrink on OOM) "
        f"(default: {_default('batch_size')})",
    )
    p.add_argument(
        "--num-workers",
        type=int,
        help="media decoding worker processes, 0 decodes in the main process "
        f"(default: {_default('num_workers')})",
    )
    p.add_argument(
        "--prefetch-factor",
        type=int,
        help=f"video groups each worker decodes ahead (default: {_default('prefetch_factor')})",
    )
    p.add_argument("--frames", type=int, help="frames sampled per clip (default: the task's)")
    p.add_argument("--fps", type=float, help="sample frames at this rate instead of --frames")
    p.add_argument("--max-pixels", type=int, help="downscale frames to at most this many pixels")
    p.add_argument(
        "--audio-rate", type=int, help="audio sample rate in Hz (default: the task's, 16000)"
    )
    p.add_argument(
        "--masking",
        choices=("drop", "blank"),
        help="how an absent stream reaches the model: drop = not in the input at all, "
        "blank = black frames / silence / empty subtitles (default: drop)",
    )
    p.add_argument(
        "--backend", help="media decoder: decord, pyav or torchcodec (default: first available)"
    )
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: this rank's GPU if any)")
    p.add_argument("--dtype", help="model dtype (default: bfloat16 on GPU, float32 on CPU)")
    p.add_argument("--cache-dir", help="cache folder for generated synthetic data")
    p.add_argument(
        "--synth-per-tag",
        type=int,
        help="synth tasks without --data: questions per tag of the generated set "
        f"(default: {_default('synth_per_tag')})",
    )
    p.add_argument(
        "--dist-timeout-s",
        type=float,
        help="multi-process runs: seconds to wait at the final synchronisation "
        f"(default: {_default('dist_timeout_s'):g})",
    )
    p.add_argument(
        "--strict", action="store_true", default=None, help="a media error stops the run"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        default=None,
        help="require an existing run in --out to resume (fail instead of starting fresh)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def config_from_args(args: argparse.Namespace) -> Any:
    """Merge ``--config`` YAML with the flags given (flags win) into a validated RunConfig."""
    from evaluators.runner.config import RunConfig, load_yaml_config, parse_model_args

    data: dict[str, Any] = load_yaml_config(args.config) if args.config else {}
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    for key in _OVERRIDES:
        value = getattr(args, key, None)
        if value is not None:
            data[key] = value
    if args.model_args is not None:
        base = data.get("model_args") or {}
        if isinstance(base, str):
            base = parse_model_args(base)
        data["model_args"] = {**base, **parse_model_args(args.model_args)}
    for flag in ("strict", "resume"):
        if getattr(args, flag):
            data[flag] = True
    if args.no_progress:
        data["progress"] = False
    return RunConfig.from_mapping(data, source=args.config or "command line")


def _run(args: argparse.Namespace) -> int:
    from evaluators.runner.run import run_tasks

    config = config_from_args(args)
    status = 0
    for outcome in run_tasks(config):
        results = outcome.results
        if results is None:  # not rank 0
            continue
        task = results["maple"]["task"]
        print(f"{task} / {config.model}: {_summary(results, task)}")
        print(f"results: {outcome.results_path}\nsample log: {outcome.log_path}")
        if outcome.all_failed:
            first = " ".join(str(outcome.first_error).split())
            print(
                f"maple-eval run: error: every item of {task} failed ({outcome.n_errors} of "
                f"{outcome.n_records}); first: {first}",
                file=sys.stderr,
            )
            status = 1
    return status


def _summary(results: dict[str, Any], task: str) -> str:
    head = (results.get("maple") or {}).get("headline") or {}
    keys = ("avg_acc", "micro_acc", "acc_uni", "acc_multi", "invalid_rate", "error_rate")
    # Percent for people (as the paper prints them); the results file keeps fractions.
    parts = [f"{k}={100 * head[k]:.2f}%" for k in keys if isinstance(head.get(k), (int, float))]
    return ", ".join(parts) or str(results.get("results", {}).get(task, {}))


def _add_ls_parser(sub: Any) -> None:
    p = sub.add_parser(
        "ls",
        help="list the registered tasks and model adapters",
        description="List every registered task and model adapter with a one-line description.",
    )
    p.set_defaults(func=_ls)


def _ls(args: argparse.Namespace) -> int:
    from evaluators.adapters import ADAPTERS
    from evaluators.tasks import TASKS

    print("Tasks:")
    for e in TASKS.entries():
        print(f"  {e.name:<16} {e.description}")
    print("Adapters:")
    for e in ADAPTERS.entries():
        print(f"  {e.name:<16} {e.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maple-eval",
        description="Evaluate omni-modal models on MAPLE tasks, score sample logs, compare runs.",
    )
    parser.add_argument("--version", action="version", version=f"maple-eval {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help="the subcommand to run")
    _add_run_parser(sub)
    _add_ls_parser(sub)
    register_commands(sub, SUBCOMMANDS, prog="maple-eval")
    return apply_formatters(parser)


def main(argv: Sequence[str] | None = None) -> int:
    from evaluators.runner.registry import RegistryError

    errors: tuple[type[BaseException], ...] = (RegistryError, *_known_errors(), *user_errors())
    return run_command(build_parser(), argv, prog="maple-eval", errors=errors)


def _known_errors() -> tuple[type[BaseException], ...]:
    """maple-eval's user-facing errors (besides the data, schema and media errors of
    :func:`maple_bench.cli.user_errors`), printed as one clear line with no traceback."""
    from evaluators.adapters.base import AdapterArgumentError, UnsupportedStreamError
    from evaluators.runner.config import ConfigError
    from evaluators.runner.distributed import RunFailed
    from evaluators.runner.run import MediaFailure, RunMismatchError

    return (
        ConfigError, UnsupportedStreamError, AdapterArgumentError, RunMismatchError, MediaFailure,
        RunFailed,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
