"""``maple-bench build {bench,qa,qa-plus,caption}``: build one config into a dataset folder."""

from __future__ import annotations

import argparse
import sys

from maple_bench.cli.options import add_deprecated_alias, add_renamed_option

BUILDERS = ("bench", "qa", "qa-plus", "caption")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "build",
        help="build MAPLE-bench / MAPLE-QA / MAPLE-QA+ / MAPLE-Caption into a dataset folder",
        description=(
            "Build one config from raw annotations (folder with qa.jsonl / captions.jsonl, or a "
            ".jsonl/.csv/.parquet file), a local dataset folder, or a Hub repo id, and write "
            "OUT/README.md (data card), OUT/data/<config>/<split>-00000-of-00001.parquet and "
            "OUT/build_info.json. Building into an existing folder adds the config."
        ),
    )
    p.add_argument("builder", choices=BUILDERS, help="which dataset to build")
    add_renamed_option(
        p,
        "--data",
        "--source",
        dest="data",
        required=True,
        help="raw folder/file, dataset folder or Hub repo id to build from",
    )
    p.add_argument("--out", required=True, help="dataset folder to write (created atomically)")
    p.add_argument("--seed", type=int, default=0, help="seed for splits and QA+ replacement")
    p.add_argument(
        "--none-fraction",
        type=float,
        default=0.25,
        help="QA+: share of exact/superset rows whose answer is replaced by None",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=None,
        help="share of videos in the test split, for sources whose rows carry no split; an "
        "error when the source has splits (default: 1.0, all test)",
    )
    p.add_argument(
        "--column-map",
        default=None,
        help="override column detection, e.g. question=q,answer=gt,options=opt_a|opt_b|opt_c",
    )
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or sha) to pin")
    p.add_argument(
        "--media-root", default=None, help="media root (default: SOURCE/media if present)"
    )
    p.add_argument("--dataset-config", default=None, help="config of a dataset-folder/Hub source")
    add_deprecated_alias(p, "--source-config", "--dataset-config", dest="dataset_config")
    p.add_argument("--split", default=None, help="only this split of the source")
    add_deprecated_alias(p, "--source-split", "--split", dest="split")
    p.add_argument(
        "--no-link-media",
        action="store_true",
        help="record the media root's absolute path instead of linking OUT/media to it",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maple_bench.data import DataError, build_dataset
    from maple_bench.data.stats import markdown_table
    from maple_bench.schema import SchemaError

    try:
        result = build_dataset(
            args.builder,
            args.data,
            args.out,
            seed=args.seed,
            none_fraction=args.none_fraction,
            test_fraction=args.test_fraction,
            column_map=args.column_map,
            revision=args.revision,
            media_root=args.media_root,
            source_config=args.dataset_config,
            source_split=args.split,
            link_media=not args.no_link_media,
        )
    except (SchemaError, DataError, ValueError, FileNotFoundError) as e:
        print(f"maple-bench build: error: {e}", file=sys.stderr)
        return 2
    for split, counts in result.counts.items():
        print(
            f"{result.config} / {split}: {counts['num_rows']} rows, "
            f"{counts['num_questions']} questions, {counts['num_videos']} videos"
        )
        print(markdown_table(counts))
    print(f"wrote {result.out}")
    return 0
