"""``maple-bench leaderboard``: publish, validate, rank, render, export-model-index, push.

Registered through the ``maple_bench.commands`` entry point, so ``maple_bench`` never imports
this package. Errors are printed as one line naming the file and field; exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from leaderboards.schema import LeaderboardError
from maple_bench.cli.options import add_renamed_option


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``leaderboard`` and its nested subcommands."""
    p = subparsers.add_parser(
        "leaderboard",
        help="publish results files to a strict leaderboard JSON, rank, render, export, push",
        description="Machine-checked leaderboards built from maple-eval results files: publish "
        "results into a board JSON (schema-validated, locked, atomic), rank it with CI-aware "
        "ties, render a static page, export model-card entries, push to the Hub.",
    )
    p.set_defaults(func=run)
    sub = p.add_subparsers(
        dest="leaderboard_command", metavar="ACTION", help="the leaderboard action to run"
    )

    pub = sub.add_parser(
        "publish",
        help="add/replace results files' entries on a board (locked, atomic)",
        description="Validate each results file, refuse a task hash or dataset revision that "
        "differs from the board's, and add its entry (replacing the same model + revision). "
        "The board is written atomically under a file lock.",
    )
    pub.add_argument(
        "results", nargs="+", metavar="RESULTS", help="maple-eval results JSON file(s)"
    )
    pub.add_argument("--board", required=True, help="board JSON file (created if absent)")
    pub.add_argument("--model-name", help="display name (default: the results' model id)")
    pub.add_argument("--task", help="task to take from a results file holding several")
    pub.add_argument(
        "--parameters", type=int, help="parameter count, if the results do not record it"
    )
    ow = pub.add_mutually_exclusive_group()
    ow.add_argument(
        "--open-weights",
        dest="open_weights",
        action="store_true",
        default=None,
        help="the model's weights are public (default: unknown)",
    )
    ow.add_argument(
        "--closed-weights",
        dest="open_weights",
        action="store_false",
        help="the model's weights are not public",
    )
    pub.add_argument("--title", help="board title shown on the page")
    pub.add_argument("--results-schema", help="results JSON Schema (default: the evaluators' own)")
    pub.set_defaults(func=run_publish)

    val = sub.add_parser(
        "validate",
        help="check board files against the leaderboard schema",
        description="Check each board against leaderboards/leaderboard.schema.json; exit 2 on "
        "the first problem, naming the file and field.",
    )
    val.add_argument("boards", nargs="+", metavar="BOARD", help="board JSON file(s)")
    val.set_defaults(func=run_validate)

    rk = sub.add_parser(
        "rank",
        help="rank a board by a metric (CI-overlap ties share a rank)",
        description="Print the board ranked by one metric, in percent with its 95%% CI; "
        "entries whose CIs overlap share a rank.",
    )
    rk.add_argument("board", metavar="BOARD", help="board JSON file")
    rk.add_argument(
        "--metric", default="avg_acc", help="headline metric, tag:VA or condition:exact"
    )
    rk.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rk.set_defaults(func=run_rank)

    rd = sub.add_parser(
        "render",
        help="static site (HTML, SVG charts) and a README Markdown table",
        description="Write OUT/index.html (no CDN, sortable tables), OUT/charts/*.svg (one "
        "colour per model, shared with the demo's PNGs; chance line on accuracy charts), "
        "OUT/boards/*.json and OUT/LEADERBOARD.md.",
    )
    rd.add_argument("boards", nargs="+", metavar="BOARD", help="board JSON file(s)")
    rd.add_argument("--out", required=True, help="output folder")
    rd.add_argument("--title", default="maple-bench leaderboard", help="page title")
    rd.add_argument("--no-charts", action="store_true", help="skip the matplotlib charts")
    rd.set_defaults(func=run_render)

    ex = sub.add_parser(
        "export-model-index",
        help="model-card model-index (or .eval_results) entries",
        description="Write one model's results on a board as Hugging Face model-card "
        "`model-index` metadata (YAML or JSON) or as .eval_results entries.",
    )
    ex.add_argument("board", metavar="BOARD", help="board JSON file")
    add_renamed_option(
        ex, "--model-name", "--model", dest="model_name", required=True,
        help="the model's display name on the board",
    )  # fmt: skip
    ex.add_argument("--revision", help="model revision, when the board has several")
    ex.add_argument(
        "--format",
        choices=["yaml", "json", "eval-results"],
        default="yaml",
        help="model-index as YAML or JSON, or .eval_results entries",
    )
    ex.add_argument("--source-url", help="URL of the leaderboard, recorded as the source")
    ex.add_argument("--out", help="write to this file instead of stdout")
    ex.set_defaults(func=run_export)

    ps = sub.add_parser(
        "push",
        help="upload board + site to a Hub dataset or Space (huggingface_hub)",
        description="Upload board files or a rendered site folder in one commit; --dry-run "
        "writes the exact upload tree to a folder instead (no network).",
    )
    ps.add_argument(
        "sources",
        nargs="+",
        metavar="BOARD_OR_SITE",
        help="board JSON file(s) or one rendered site folder",
    )
    ps.add_argument("--repo-id", required=True, help="Hub repo, e.g. ORG/maple-leaderboard")
    ps.add_argument(
        "--repo-type", choices=["dataset", "space"], default="dataset", help="Hub repo type"
    )
    ps.add_argument(
        "--dry-run",
        metavar="DIR",
        help="write the exact upload tree to DIR and list it; no network",
    )
    ps.add_argument(
        "--private", action="store_true", help="create the repo private (when it is created)"
    )
    ps.add_argument("--message", default="Update maple-bench leaderboard", help="commit message")
    ps.set_defaults(func=run_push)


ACTIONS = ("publish", "validate", "rank", "render", "export-model-index", "push")
"""The nested subcommands."""


def run(args: argparse.Namespace) -> int:
    """``maple-bench leaderboard`` with no action: say which actions exist."""
    print(
        f"maple-bench leaderboard: choose an action: {', '.join(ACTIONS)} (see --help)",
        file=sys.stderr,
    )
    return 2


def _fail(e: Exception) -> int:
    print(f"maple-bench leaderboard: error: {e}", file=sys.stderr)
    return 2


def run_publish(args: argparse.Namespace) -> int:
    from leaderboards.entries import EntryOptions
    from leaderboards.publish import publish

    opts = EntryOptions(
        model_name=args.model_name,
        task=args.task,
        parameters=args.parameters,
        open_weights=args.open_weights,
    )
    try:
        rep = publish(
            args.results,
            args.board,
            options=opts,
            results_schema=args.results_schema,
            title=args.title,
        )
    except LeaderboardError as e:
        return _fail(e)
    for kind in ("added", "replaced", "unchanged"):
        for label in getattr(rep, kind):
            print(f"{kind:9s} {label}")
    state = "written" if rep.written else "unchanged"
    print(f"board {rep.board} ({rep.task}): {rep.n_entries} entries, {state}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from leaderboards.schema import load_board

    status = 0
    for path in args.boards:
        try:
            board = load_board(path)
        except LeaderboardError as e:
            status = _fail(e)
            continue
        print(
            f"ok {path}: task {board['task']}, {len(board['entries'])} entries, schema {board['schema_version']}"
        )
    return status


def run_rank(args: argparse.Namespace) -> int:
    from leaderboards.rank import rank_board
    from leaderboards.render.definitions import fmt, fmt_ci
    from leaderboards.schema import load_board

    try:
        ranked = rank_board(load_board(args.board), args.metric)
    except LeaderboardError as e:
        return _fail(e)
    if args.json:
        rows = [
            {
                "rank": r.rank,
                "model": r.name,
                "revision": r.revision,
                "value": r.value,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
            }
            for r in ranked
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max([len(r.name) for r in ranked] + [5])
    print(f"{'rank':>4}  {'model':<{width}}  {args.metric:>10}  95% CI")
    for r in ranked:
        rank = "-" if r.rank is None else str(r.rank)
        print(
            f"{rank:>4}  {r.name:<{width}}  {fmt(r.value, args.metric):>10}  {fmt_ci(r.ci_low, r.ci_high)}"
        )
    return 0


def run_render(args: argparse.Namespace) -> int:
    from leaderboards.render import render_site
    from leaderboards.schema import load_board

    try:
        boards = [load_board(b) for b in args.boards]
        files = render_site(boards, args.out, title=args.title, charts=not args.no_charts)
    except LeaderboardError as e:
        return _fail(e)
    for f in files:
        print(f)
    return 0


def run_export(args: argparse.Namespace) -> int:
    import yaml

    from leaderboards.hub import eval_results, model_index
    from leaderboards.schema import atomic_write_text, load_board

    try:
        board = load_board(args.board)
        if args.format == "eval-results":
            data: object = eval_results(board, args.model_name, revision=args.revision)
        else:
            data = model_index(
                board, args.model_name, revision=args.revision, source_url=args.source_url
            )
    except LeaderboardError as e:
        return _fail(e)
    if args.format == "json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def run_push(args: argparse.Namespace) -> int:
    from leaderboards.hub import push

    try:
        plan = push(
            args.sources,
            repo_id=args.repo_id,
            repo_type=args.repo_type,
            dry_run=args.dry_run,
            commit_message=args.message,
            private=args.private,
        )
    except LeaderboardError as e:
        return _fail(e)
    except Exception as e:  # Hub errors: print the type and message only (never a token)
        return _fail(
            RuntimeError(f"push to {args.repo_type} {args.repo_id} failed: {type(e).__name__}: {e}")
        )
    verb = "would upload" if args.dry_run else "uploaded"
    print(
        f"{verb} {len(plan.files)} files to {plan.repo_type} {plan.repo_id}"
        + (f" (tree in {plan.folder})" if args.dry_run else "")
    )
    for f in plan.files:
        print(f"  {f}")
    return 0
