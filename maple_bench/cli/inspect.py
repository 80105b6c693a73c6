"""``maple-bench inspect SOURCE``: validate a dataset and print its per-tag counts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maple_bench.cli.options import add_deprecated_alias


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="validate a dataset and print counts per tag / condition / none_reason",
        description=(
            "Load every row of SOURCE (dataset folder, raw annotations or Hub repo id) as "
            "validated samples and print a table of counts per tag, condition and none_reason. "
            "Media paths must stay inside the media root and, when it exists, name files there. "
            "Exits non-zero with the error on invalid data."
        ),
    )
    p.add_argument(
        "source",
        nargs="?",
        default=None,
        help="dataset folder, raw folder/file or Hub repo id (same as --data)",
    )
    p.add_argument("--data", default=None, help="dataset folder, raw folder/file or Hub repo id")
    p.add_argument(
        "--dataset-config", default=None, help="config to inspect (default: the QA config)"
    )
    add_deprecated_alias(p, "--config", "--dataset-config", dest="dataset_config")
    p.add_argument("--split", default=None, help="split to inspect (default: all splits)")
    p.add_argument(
        "--column-map", default=None, help="override column detection (FIELD=COLUMN,...)"
    )
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or sha) to pin")
    p.add_argument("--media-root", default=None, help="media root to check files against")
    p.add_argument(
        "--check-media",
        action="store_true",
        help="require a media root (media files are checked whenever the media root exists)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maple_bench.data import DataError, load_samples
    from maple_bench.data.media_refs import check_media, check_media_paths
    from maple_bench.data.stats import markdown_table, summarize
    from maple_bench.schema import SchemaError

    source = args.data or args.source
    if not source or (args.data and args.source and args.data != args.source):
        print(
            "maple-bench inspect: error: give the dataset once, as SOURCE or --data",
            file=sys.stderr,
        )
        return 2
    try:
        data = load_samples(
            source,
            args.dataset_config,
            args.split,
            revision=args.revision,
            column_map=args.column_map,
            media_root=args.media_root,
        )
        # "valid" covers the media references too: every path stays inside the media root,
        # and, when the root is there, every referenced file exists.
        root = data.media_root
        if root is not None and Path(root).is_dir():
            check_media(data.samples, Path(root), file=str(source))
        elif args.check_media:
            raise DataError(
                f"--check-media needs a media root (media root {root or '-'} is not a "
                f"folder); pass --media-root DIR"
            )
        else:
            check_media_paths(data.samples, file=str(source))
    except (SchemaError, DataError, ValueError) as e:
        print(f"maple-bench inspect: invalid: {e}", file=sys.stderr)
        return 1
    prov = data.provenance
    splits = sorted({s.split for s in data.samples})
    print(
        f"{prov['source']}  config={prov['config']}  splits={','.join(splits) or '-'}  "
        f"revision={prov['revision'] or '-'}"
    )
    for split in splits:
        rows = [s for s in data.samples if s.split == split]
        c = summarize(rows)
        print(
            f"\n{split}: {c['num_rows']} rows, {c['num_questions']} questions, "
            f"{c['num_videos']} videos"
        )
        print(markdown_table(c))
    print(f"\nids sha256: {prov['ids_hash']}")
    print(f"media root: {data.media_root or '-'}")
    print("valid: every row passed validation")
    return 0
