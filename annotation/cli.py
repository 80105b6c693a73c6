"""``maple-bench annotate {propose,export,import,agree,audit,apply}``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "annotate",
        help="propose, verify, agree on and audit Required Modality Tags",
        description="Tools that propose RMT labels from ablation evidence, round-trip them through "
        "human verification (Label Studio or CSV), measure agreement and audit items.",
    )
    sub = p.add_subparsers(dest="annotate_command", metavar="STEP", required=True)

    pr = sub.add_parser(
        "propose", help="propose an RMT per item from its accuracy under every presentation"
    )
    pr.add_argument("--data", help="dataset source (builder folder, raw folder/file, or Hub id)")
    pr.add_argument(
        "--config", default=None, help="dataset config (default: maple_qa / maple_bench)"
    )
    pr.add_argument("--split", default="test", help="dataset split to run --model on")
    pr.add_argument("--media-root", default=None)
    src = pr.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--model", help="adapter spec to run over the 7 presentations + blind (see maple-eval ls)"
    )
    src.add_argument(
        "--logs", nargs="+", help="existing ablation sample logs (JSONL) to read instead"
    )
    pr.add_argument("--model-args", default=None, help="adapter args k=v,k=v")
    pr.add_argument("--k", type=int, default=1, help="draws per item and presentation")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--limit", type=int, default=None, help="only the first N items")
    pr.add_argument(
        "--threshold", type=float, default=0.5, help="accuracy a presentation needs to pass"
    )
    pr.add_argument(
        "--run-dir", default=None, help="where the ablation run is written (default: OUT.run)"
    )
    pr.add_argument("--out", required=True, help="proposal table (CSV)")
    pr.set_defaults(func=run_propose)

    ex = sub.add_parser("export", help="write verification tasks (Label Studio JSON or CSV sheet)")
    ex.add_argument("--data", required=True)
    ex.add_argument("--config", default=None, help="dataset config (default: the QA config found)")
    ex.add_argument("--split", default=None)
    ex.add_argument("--proposals", default=None, help="proposal table from `propose`")
    ex.add_argument("--format", choices=("labelstudio", "csv"), default="labelstudio")
    ex.add_argument(
        "--media-url-prefix",
        default="",
        help="prefix turning media paths into URLs Label Studio can open",
    )
    ex.add_argument("--out", required=True)
    ex.set_defaults(func=run_export)

    im = sub.add_parser(
        "import", help="read verdicts back (Label Studio JSON export or filled CSV sheet)"
    )
    im.add_argument("file")
    im.add_argument("--annotator", default=None, help="annotator id for CSV rows that have none")
    im.add_argument("--out", required=True, help="label table (CSV) to write")
    im.set_defaults(func=run_import)

    ag = sub.add_parser("agree", help="agreement statistics, confusion matrix, disagreements")
    ag.add_argument("labels", nargs="+", help="label tables (CSV) from `import`")
    ag.add_argument("--out", required=True, help="report folder")
    ag.set_defaults(func=run_agree)

    au = sub.add_parser("audit", help="check items for leakage, duplicates, length bias, imbalance")
    au.add_argument("--data", required=True)
    au.add_argument("--config", default=None, help="dataset config (default: the QA config found)")
    au.add_argument("--split", default=None, help="default: every split")
    au.add_argument("--media-root", default=None)
    au.add_argument(
        "--proposals", default=None, help="proposal table: also report label disagreements"
    )
    au.add_argument("--out", default=None, help="write the findings as JSON here")
    au.set_defaults(func=run_audit)

    ap = sub.add_parser("apply", help="feed verified labels back into a raw annotation folder")
    ap.add_argument("--source", required=True, help="raw annotation folder (qa.jsonl, media/)")
    ap.add_argument("--labels", nargs="+", required=True)
    ap.add_argument("--out", required=True, help="new raw folder with the verified tags")
    ap.set_defaults(func=run_apply)


def _load(args: argparse.Namespace, default_config: str | None = None) -> Any:
    from maple_bench.data import load_samples

    return load_samples(
        args.data,
        args.config or default_config,
        split=args.split,
        media_root=getattr(args, "media_root", None),
    )


def run_propose(args: argparse.Namespace) -> int:
    from annotation.propose import propose_from_rows, write_proposals

    if args.logs:
        from evaluators.samplelog import read_log

        missing = [p for p in args.logs if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"no such sample log: {', '.join(missing)}")
        rows = [r for p in args.logs for r in read_log(p)]
    else:
        if not args.data:
            print("annotate propose: --model needs --data", file=sys.stderr)
            return 2
        from annotation.ablate import run_ablation

        rows = run_ablation(
            args.data,
            model=args.model,
            model_args=args.model_args,
            k=args.k,
            seed=args.seed,
            limit=args.limit,
            media_root=args.media_root,
            out_dir=Path(args.run_dir or f"{args.out}.run"),
            config=args.config,
            split=args.split,
        )
    proposals = propose_from_rows(rows, threshold=args.threshold)
    write_proposals(proposals, args.out)
    flagged = [p for p in proposals if p.flags]
    print(f"{len(proposals)} items, {len(flagged)} flagged -> {args.out}")
    for p in flagged[:20]:
        print(
            f"  {p.item_id}: labelled {p.labelled}, proposed {p.proposed}, flags {','.join(p.flags)}"
        )
    return 0


def run_export(args: argparse.Namespace) -> int:
    from annotation.csvio import export_csv
    from annotation.labelstudio import export_tasks
    from annotation.propose import read_proposals

    samples = list(_load(args))
    proposals = read_proposals(args.proposals) if args.proposals else []
    if args.format == "csv":
        out = export_csv(samples, proposals, out=args.out)
    else:
        out = export_tasks(samples, proposals, out=args.out, media_url_prefix=args.media_url_prefix)
        print(f"labelling interface: {Path(out).with_suffix('.labeling_config.xml')}")
    print(f"wrote {out}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from annotation.csvio import import_csv
    from annotation.labels import write_labels
    from annotation.labelstudio import import_export

    path = Path(args.file)
    if path.suffix.lower() == ".json":
        _, labels = import_export(path)
    else:
        labels = import_csv(path, default_annotator=args.annotator)
    write_labels(labels, args.out)
    print(
        f"{len(labels)} labels from {len({lb.annotator for lb in labels})} annotator(s) -> {args.out}"
    )
    return 0


def run_agree(args: argparse.Namespace) -> int:
    from annotation.labels import read_labels
    from annotation.report import agreement, write_agree_report

    labels = [lb for f in args.labels for lb in read_labels(f)]
    paths = write_agree_report(labels, args.out)
    stats = agreement(labels)
    for key in ("cohen_kappa", "fleiss_kappa", "krippendorff_alpha"):
        if stats.get(key) is not None:
            print(f"{key:>20}: {stats[key]:.3f}")
    for name, path in paths.items():
        print(f"{name:>20}: {path}")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from annotation.audit import audit
    from annotation.propose import read_proposals
    from maple_bench.fileio import atomic_write_json

    data = _load(args)
    proposals = (
        {p.item_id: p.proposed for p in read_proposals(args.proposals)} if args.proposals else None
    )
    findings = audit(list(data), media_root=data.media_root, proposals=proposals)
    for f in findings:
        where = f" {f.item_id}:" if f.item_id else ""
        print(f"[{f.severity}] {f.check}{where} {f.message}")
    print(f"{len(findings)} finding(s) over {len(data)} rows")
    if args.out:
        atomic_write_json(args.out, [asdict(f) for f in findings])
    return 1 if any(f.severity == "error" for f in findings) else 0


def run_apply(args: argparse.Namespace) -> int:
    from annotation.feedback import apply_labels
    from annotation.labels import read_labels

    labels = [lb for f in args.labels for lb in read_labels(f)]
    prov = apply_labels(args.source, labels, args.out)
    print(json.dumps({k: v for k, v in prov.items() if k != "changes"}, indent=2))
    return 0
