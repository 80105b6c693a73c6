"""``maple-eval score | compare | validate``: rescoring a sample log, paired comparison, schema check.

Registered by ``evaluators.cli`` through :func:`add_parsers`; also runnable on its own as
``python -m evaluators.cli_metrics``. Heavy imports stay inside the ``run_*`` functions.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _non_negative_int(text: str) -> int:
    """argparse type of ``--n-bootstrap``, ``--n-permutations`` and ``--seed`` (numpy takes no
    negative seed or count, and its own message would not name the flag)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: expected a whole number >= 0")
    return value


def _reports_errors(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Any]:
    """Turn expected failures (bad log, different items, judge down) into a message + exit 2."""

    def wrap(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(fn)
        def run(args: argparse.Namespace) -> int:
            from evaluators.captions import JudgeError
            from evaluators.results import ResultsValidationError

            # KeyError is deliberately not here: a missing key is a bug to see with its traceback,
            # not a user error (the metric name check raises ValueError).
            try:
                return fn(args)
            except (ValueError, FileNotFoundError, JudgeError) as e:
                if isinstance(e, ResultsValidationError):
                    print(f"maple-eval {name}: {e}", file=sys.stderr)
                else:
                    print(f"maple-eval {name}: error: {e}", file=sys.stderr)
                return 2

        return run

    return wrap


def add_parsers(subparsers: Any) -> None:
    """Register the ``score``, ``compare`` and ``validate`` subcommands."""
    p = subparsers.add_parser(
        "score",
        help="recompute metrics from a sample log (no model run)",
        description="Recompute the results from samples_<task>.jsonl (and run_meta.json beside "
        "it), print the per-tag table, optionally write the results JSON and charts.",
    )
    p.add_argument(
        "log",
        type=Path,
        help="sample log (samples_<task>.jsonl), its run directory, or results JSON",
    )
    p.add_argument("--out", type=Path, help="write the validated results JSON here")
    p.add_argument("--task", help="task name (default: run_meta.json, then the log's file name)")
    p.add_argument(
        "--n-bootstrap",
        type=_non_negative_int,
        default=1000,
        help="bootstrap resamples (videos resampled)",
    )
    p.add_argument("--seed", type=_non_negative_int, default=0, help="bootstrap seed")
    p.add_argument("--plots", type=Path, help="write PNG charts (by tag, by condition) to this dir")
    p.add_argument("--json", action="store_true", help="print the results JSON instead of tables")
    p.add_argument(
        "--rescore",
        action="store_true",
        help="QA logs: re-read every reply with the current scorer instead of the log's verdicts "
        "(the scorer version goes into the results); lists the rows whose verdict changed",
    )
    p.add_argument(
        "--llm-extract",
        action="store_true",
        help="QA logs, off by default, implies --rescore: send replies the rules leave invalid "
        "to the judge model (--judge-backend/--judge-model) as a choice extractor; its answers "
        "are cached and recorded per row and in the results",
    )
    p.add_argument(
        "--extract-cache",
        type=Path,
        help="choice-extractor cache JSONL (default: choice_cache.jsonl beside the log)",
    )
    p.add_argument(
        "--rescored-log", type=Path, help="write the re-read sample log (JSONL) to this path"
    )
    g = p.add_argument_group(
        "LLM judge (caption scores; with --llm-extract, the QA choice extractor); "
        "a configured judge that fails is an error"
    )
    g.add_argument(
        "--judge-backend",
        choices=["local", "endpoint"],
        help="local: a checkpoint run with transformers; endpoint: an OpenAI-compatible server",
    )
    g.add_argument("--judge-model", help="local checkpoint dir, or the endpoint's model name")
    g.add_argument("--judge-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--judge-api-key-env", help="environment variable holding the API key")
    g.add_argument(
        "--judge-scale",
        type=int,
        choices=[10, 100],
        default=10,
        help="score range the judge is asked for (0-10 or 0-100)",
    )
    g.add_argument("--judge-cache", type=Path, help="verdict cache JSONL (default: beside the log)")
    p.set_defaults(func=run_score)

    p = subparsers.add_parser(
        "compare",
        help="paired comparison of two runs on the same items",
        description="B minus A with a paired bootstrap CI (videos resampled) and a sign-flip "
        "permutation p-value, plus gap_reduction. RUN is a results JSON, a sample log, or a run "
        "directory; the sample logs are needed.",
    )
    p.add_argument("run_a", type=Path, help="base run (A)")
    p.add_argument("run_b", type=Path, help="new run (B)")
    p.add_argument(
        "--metric",
        default="avg_acc",
        help="headline metric to compare (avg_acc, micro_acc, acc_uni, acc_multi, ...)",
    )
    p.add_argument("--task", help="task whose log to use when a run directory has several")
    p.add_argument(
        "--n-bootstrap",
        type=_non_negative_int,
        default=1000,
        help="bootstrap resamples (videos resampled)",
    )
    p.add_argument(
        "--n-permutations",
        type=_non_negative_int,
        default=1000,
        help="sign-flip permutations for the p-value",
    )
    p.add_argument(
        "--seed", type=_non_negative_int, default=0, help="seed of the bootstrap and permutations"
    )
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=run_compare)

    p = subparsers.add_parser(
        "validate",
        help="check results files against the schema",
        description="Exit 1 if any file does not match evaluators/results/schema.json; each "
        "problem is printed with its JSON path.",
    )
    p.add_argument("files", type=Path, nargs="+", help="results JSON file(s) to check")
    p.set_defaults(func=run_validate)


def find_log(run: Path, task: str | None = None) -> Path:
    """The sample log of a run given as a log, a results JSON, or a run directory."""
    if run.is_dir():
        logs = sorted(run.glob("samples_*.jsonl"))
        if task:
            logs = [p for p in logs if p.name == f"samples_{task}.jsonl"]
        if len(logs) == 1:
            return logs[0]
        if not logs:
            raise FileNotFoundError(f"{run}: no samples_{task or '*'}.jsonl in this run directory")
        names = ", ".join(p.name for p in logs)
        raise FileNotFoundError(f"{run}: several sample logs ({names}); choose one with --task")
    if run.suffix == ".jsonl":
        return run
    if run.suffix == ".json":
        from evaluators.results import load_results

        res = load_results(run)
        name = res["maple"].get("sample_log") or f"samples_{res['maple']['task']}.jsonl"
        log = run.parent / name
        if not log.exists():
            raise FileNotFoundError(
                f"{run}: its sample log {log} is missing; the paired test needs per-item results"
            )
        return log
    raise FileNotFoundError(f"{run}: not a run directory, .json results or .jsonl sample log")


ITEM_SET_SETTINGS = ("task", "data", "revision", "limit", "presentations", "k")
"""Run settings that decide which (item, draw) pairs a run holds."""


def setting_differences(log_a: Path, log_b: Path) -> str:
    """``"presentations ['S'] (A) vs None (B), ..."`` from the two runs' ``run_meta.json``.

    Empty when neither run has one or nothing differs; this is what names the real cause when a
    comparison finds different items.
    """
    from evaluators.results import read_run_meta

    ca = read_run_meta(log_a).get("config") or {}
    cb = read_run_meta(log_b).get("config") or {}
    if not ca or not cb:
        return ""
    return ", ".join(
        f"--{k.replace('_', '-')} {ca.get(k)!r} (A) vs {cb.get(k)!r} (B)"
        for k in ITEM_SET_SETTINGS
        if ca.get(k) != cb.get(k)
    )


def _judge_config(args: argparse.Namespace):
    from evaluators.captions import JudgeConfig

    if not args.judge_backend:
        return None
    if not args.judge_model:
        raise ValueError("--judge-backend needs --judge-model")
    return JudgeConfig(
        backend=args.judge_backend,
        model=args.judge_model,
        base_url=args.judge_url,
        api_key_env=args.judge_api_key_env,
        scale=args.judge_scale,
    )


@_reports_errors("score")
def run_score(args: argparse.Namespace) -> int:
    from evaluators.metrics import read_sample_log
    from evaluators.report import format_table, plot_results
    from evaluators.results import score_log, write_results

    log_path = find_log(args.log, args.task)
    df = read_sample_log(log_path)
    jc = _judge_config(args)
    rescored = None
    if args.rescore or args.llm_extract:
        df, rescored = _rescore(args, df, jc, log_path)
        jc = None  # the judge served as the choice extractor, not as a caption judge
    if jc is not None:
        from evaluators.captions import judge_log, make_judge

        cache = args.judge_cache or log_path.parent / "judge_cache.jsonl"
        df = judge_log(df, make_judge(jc, cache))
    results = score_log(
        log_path, task=args.task, n_bootstrap=args.n_bootstrap, seed=args.seed, log=df
    )
    if jc is not None:
        from evaluators.results.build import lm_eval_value

        task = results["maple"]["task"]
        judge = {
            "judge_id": jc.judge_id,
            "prompt_template": jc.template,
            "prompt_hash": jc.prompt_hash,
            "decoding": jc.decoding(),
            "scale": jc.scale,
        }
        results["maple"]["task_config"]["judge"] = judge
        results["configs"][task]["judge"] = lm_eval_value(judge)  # lm-eval: strings only
    if rescored is not None:
        from evaluators.results.build import lm_eval_value

        task = results["maple"]["task"]
        results["maple"]["provenance"]["scorer_version"] = rescored["scorer_version"]
        rescore_cfg: dict[str, Any] = {
            "scorer_version": rescored["scorer_version"],
            "n_changed": len(rescored["changed"]),
        }
        if "choice_extractor" in rescored:
            rescore_cfg["choice_extractor"] = rescored["choice_extractor"]
        results["maple"]["task_config"]["rescored"] = rescore_cfg
        for key, value in rescore_cfg.items():  # lm-eval: strings, booleans or null only
            results["configs"][task][f"rescored_{key}" if key != "choice_extractor" else key] = (
                lm_eval_value(value)
            )
    if args.out:
        write_results(args.out, results)
    if args.plots:
        for p in plot_results(results, args.plots):
            print(f"wrote {p}", file=sys.stderr)
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    if args.out:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _rescore(args: argparse.Namespace, df: Any, jc: Any, log_path: Path) -> tuple[Any, dict]:
    """Re-read a QA log with the current scorer (and the LLM extractor when asked for)."""
    from evaluators.rescore import ChoiceExtractor, rescore_log

    if not (df["task"] == "qa").all():
        raise ValueError(f"{log_path}: --rescore/--llm-extract apply to QA logs, not captions")
    extractor = None
    if args.llm_extract:
        if jc is None:
            raise ValueError(
                "--llm-extract needs the judge model: --judge-backend and --judge-model"
            )
        from evaluators.captions import make_judge
        from evaluators.captions.judge import VerdictCache

        cache = VerdictCache(args.extract_cache or log_path.parent / "choice_cache.jsonl")
        extractor = ChoiceExtractor(make_judge(jc), cache)
    df, summary = rescore_log(df, extractor)
    changed = summary["changed"]
    print(f"rescored {len(df)} rows with scorer {summary['scorer_version']}: "
          f"{len(changed)} verdicts changed", file=sys.stderr)  # fmt: skip
    for c in changed:
        print(
            f"  row {c['row']} {c['doc_id']} draw {c['draw']}: {c['old_parsed_index']} -> "
            f"{c['new_parsed_index']} (correct {c['old_correct']} -> {c['new_correct']}, "
            f"{c['rule']}): {str(c['raw_output'])[:120]!r}",
            file=sys.stderr,
        )
    if extractor is not None:
        ce = summary["choice_extractor"]
        print(f"LLM choice extractor {ce['judge_id']}: read {ce['n_extracted']} replies the rules "
              f"left invalid ({ce['n_model_calls']} model calls)", file=sys.stderr)  # fmt: skip
    if args.rescored_log:
        from evaluators.samplelog import SampleLogWriter

        args.rescored_log.unlink(missing_ok=True)
        with SampleLogWriter(args.rescored_log, fsync=False) as w:
            w.write_many(_plain(r) for r in df.to_dict("records"))
    return df, summary


def _plain(rec: dict[str, Any]) -> dict[str, Any]:
    """A DataFrame row back to JSON-safe values (NaN -> None)."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}


@_reports_errors("compare")
def run_compare(args: argparse.Namespace) -> int:
    from evaluators.metrics import compare_logs, read_sample_log
    from evaluators.metrics.compare import ComparisonError
    from evaluators.report import format_comparison
    from evaluators.results.build import num

    la, lb = find_log(args.run_a, args.task), find_log(args.run_b, args.task)
    try:
        r = compare_logs(
            read_sample_log(la),
            read_sample_log(lb),
            metric=args.metric,
            n_bootstrap=args.n_bootstrap,
            n_permutations=args.n_permutations,
            seed=args.seed,
        )
    except ComparisonError as e:
        differ = setting_differences(la, lb)
        if differ:
            raise ComparisonError(f"{e} Settings that differ: {differ}.") from None
        raise
    out = {
        "run_a": str(la),
        "run_b": str(lb),
        "metric": r.metric,
        "a": num(r.a),
        "b": num(r.b),
        "difference": num(r.difference),
        "ci_low": num(r.ci_low),
        "ci_high": num(r.ci_high),
        "p_value": num(r.p_value),
        "p_value_method": "sign-flip permutation within videos (two-sided)",
        "gap_a": num(r.gap_a),
        "gap_b": num(r.gap_b),
        "gap_reduction": num(r.gap_reduction),
        "gap_reduction_ci": [num(r.gap_reduction_ci[0]), num(r.gap_reduction_ci[1])],
        "n_items": r.n_items,
        "n_clusters": r.n_clusters,
        "n_bootstrap": r.n_bootstrap,
        "n_permutations": r.n_permutations,
        "seed": r.seed,
    }
    print(json.dumps(out, indent=2) if args.json else format_comparison(out))
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from evaluators.results import ResultsValidationError, load_results
    from evaluators.results.consistency import check_against_log

    bad = 0
    for f in args.files:
        try:
            doc = load_results(f)
            # The sample log beside it (if any) is the ground truth the numbers must follow.
            problems = check_against_log(f, doc)
            if problems:
                raise ResultsValidationError(problems, where=str(f))
        except FileNotFoundError:
            print(f"{f}: file not found", file=sys.stderr)
            bad += 1
        except ResultsValidationError as e:
            bad += 1
            for msg in e.errors:
                print(f"{f}: {msg}", file=sys.stderr)
        else:
            print(f"{f}: ok")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m evaluators.cli_metrics``)."""
    parser = argparse.ArgumentParser(prog="maple-eval", description=__doc__)
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
