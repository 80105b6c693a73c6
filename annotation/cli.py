"""``maple-bench annotate {propose,export,import,agree,audit,apply}``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from annotation.audit_checks import AUDIT_CHECKS
from maple_bench.cli.options import add_deprecated_alias, add_renamed_option


def _dataset_options(p: argparse.ArgumentParser, *, split_default: str | None) -> None:
    """``--data``, ``--dataset-config`` (old spelling ``--config``), ``--split``, ``--media-root``."""
    p.add_argument(
        "--dataset-config",
        default=None,
        help="config of the dataset (default: the QA config found, maple_qa or maple_bench)",
    )
    add_deprecated_alias(p, "--config", "--dataset-config", dest="dataset_config")
    p.add_argument(
        "--split",
        default=split_default,
        help="split to read" + ("" if split_default else " (default: every split)"),
    )
    p.add_argument("--media-root", default=None, help="media root (default: the dataset's own)")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "annotate",
        help="propose, verify, agree on and audit Required Modality Tags",
        description="Tools that propose RMT labels from ablation evidence, round-trip them through "
        "human verification (Label Studio or CSV), measure agreement and audit items. The usual "
        "order: propose -> export -> (annotators label) -> import -> agree -> audit -> apply.",
    )
    sub = p.add_subparsers(
        dest="annotate_command", metavar="STEP", required=True, help="the annotation step to run"
    )

    pr = sub.add_parser(
        "propose",
        help="propose an RMT per item from its accuracy under every presentation",
        description="Run a model over the 7 presentations (plus blind) of every item, or read "
        "existing ablation sample logs, and propose the smallest presentation that answers each "
        "item. Items whose proposal differs from their label are flagged. Writes a CSV table.",
    )
    pr.add_argument(
        "--data", help="dataset source (builder folder, raw folder/file, or Hub id); needs --model"
    )
    _dataset_options(pr, split_default="test")
    src = pr.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--model", help="adapter spec to run over the 7 presentations + blind (see maple-eval ls)"
    )
    src.add_argument(
        "--logs", nargs="+", help="existing ablation sample logs (JSONL) to read instead"
    )
    pr.add_argument("--model-args", default=None, help="adapter args k=v,k=v")
    pr.add_argument("--k", type=int, default=1, help="draws per item and presentation")
    pr.add_argument("--seed", type=int, default=0, help="seed of the model's draws")
    pr.add_argument("--limit", type=int, default=None, help="only the first N items")
    pr.add_argument(
        "--threshold", type=float, default=0.5, help="accuracy a presentation needs to pass"
    )
    pr.add_argument(
        "--run-dir", default=None, help="where the ablation run is written (default: OUT.run)"
    )
    pr.add_argument("--out", required=True, help="proposal table (CSV) to write")
    pr.set_defaults(func=run_propose)

    ex = sub.add_parser(
        "export",
        help="write verification tasks (Label Studio JSON or CSV sheet)",
        description="Write one verification task per item for annotators: a Label Studio task "
        "file (plus its labelling interface XML) or a CSV sheet to fill in. Proposals, when "
        "given, are shown as pre-annotations.",
    )
    ex.add_argument("--data", required=True, help="dataset to label (folder, file or Hub id)")
    _dataset_options(ex, split_default=None)
    ex.add_argument("--proposals", default=None, help="proposal table from `propose`")
    ex.add_argument(
        "--format",
        choices=("labelstudio", "csv"),
        default="labelstudio",
        help="Label Studio task JSON or a CSV sheet",
    )
    ex.add_argument(
        "--media-url-prefix",
        default="",
        help="prefix turning media paths into URLs Label Studio can open",
    )
    ex.add_argument("--out", required=True, help="task file (JSON) or sheet (CSV) to write")
    ex.set_defaults(func=run_export)

    im = sub.add_parser(
        "import",
        help="read verdicts back (Label Studio JSON export or filled CSV sheet)",
        description="Read annotators' verdicts: the JSON that Label Studio's Export > JSON "
        "writes (not the task file `export` wrote), or a filled CSV sheet. Writes one label row "
        "per (item, annotator). A file without any verdict is an error.",
    )
    im.add_argument("file", help="Label Studio JSON export or filled CSV sheet")
    im.add_argument("--annotator", default=None, help="annotator id for CSV rows that have none")
    im.add_argument("--out", required=True, help="label table (CSV) to write")
    im.set_defaults(func=run_import)

    ag = sub.add_parser(
        "agree",
        help="agreement statistics, confusion matrix, disagreements",
        description="Cohen's kappa (per annotator pair, and their mean), Fleiss' kappa and "
        "Krippendorff's alpha with the observed agreement beside them; a statistic that is "
        "undefined (one category used by everyone) is null with the reason. Writes "
        "agreement.json, confusion.csv/png and disagreements.csv (ties included) to OUT.",
    )
    ag.add_argument("labels", nargs="+", help="label tables (CSV) from `import`")
    ag.add_argument("--out", required=True, help="report folder")
    ag.set_defaults(func=run_agree)

    au = sub.add_parser(
        "audit",
        help="check items for leakage, duplicates, length bias, imbalance",
        description="Run every audit check over the canonical items and print the findings: "
        + "; ".join(f"{k}: {v}" for k, v in AUDIT_CHECKS.items())
        + ". Exit 1 when a finding is an error.",
    )
    au.add_argument("--data", required=True, help="dataset to audit (folder, file or Hub id)")
    _dataset_options(au, split_default=None)
    au.add_argument(
        "--proposals", default=None, help="proposal table: also report label disagreements"
    )
    au.add_argument("--out", default=None, help="write the findings as JSON here")
    au.set_defaults(func=run_audit)

    ap = sub.add_parser(
        "apply",
        help="feed verified labels back into a raw annotation folder",
        description="Write a new raw annotation folder whose rows carry the verified tags (the "
        "majority over annotators), with annotation_provenance.json. Items whose annotators tie "
        "are not applied: they are listed for adjudication and the command exits 1 until an "
        "adjudicator's label breaks the tie.",
    )
    add_renamed_option(
        ap, "--data", "--source", dest="data", required=True,
        help="raw annotation folder (qa.jsonl, media/)",
    )  # fmt: skip
    ap.add_argument("--labels", nargs="+", required=True, help="label tables (CSV) from `import`")
    ap.add_argument("--out", required=True, help="new raw folder with the verified tags")
    ap.set_defaults(func=run_apply)


def _load(args: argparse.Namespace, default_config: str | None = None) -> Any:
    from maple_bench.data import load_samples

    return load_samples(
        args.data,
        args.dataset_config or default_config,
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
            config=args.dataset_config,
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
    from maple_bench.schema import SchemaError

    path = Path(args.file)
    if path.suffix.lower() == ".json":
        tasks, labels = import_export(path)
        if not labels:
            raise SchemaError(
                f"no verdicts among its {len(tasks)} task(s)",
                file=str(path),
                hint="this looks like the task file `annotate export` wrote; import the JSON "
                "that Label Studio's Export > JSON writes after annotators have labelled",
            )
    else:
        labels = import_csv(path, default_annotator=args.annotator)
        if not labels:
            raise SchemaError(
                "no labelled row (every rmt cell is empty)",
                file=str(path),
                hint="fill the rmt column (V, A, S, VA, VS, AS or VAS) and import again",
            )
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
    if stats.get("observed_agreement") is not None:
        print(f"{'observed_agreement':>20}: {100 * stats['observed_agreement']:.1f}%")
    for key in ("cohen_kappa", "fleiss_kappa", "krippendorff_alpha"):
        if stats.get(key) is not None:
            note = f"  ({stats['cohen_kappa_method']})" if key == "cohen_kappa" else ""
            print(f"{key:>20}: {stats[key]:.3f}{note}")
        elif key in stats["undefined"]:
            print(f"{key:>20}: null, {stats['undefined'][key]}")
    for name, path in paths.items():
        print(f"{name:>20}: {path}")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from annotation.audit import audit
    from annotation.audit_checks import checks_run
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
    ran = checks_run(with_proposals=proposals is not None)
    skipped = [c for c in AUDIT_CHECKS if c not in ran]
    print(
        f"{len(findings)} finding(s) over {len(data)} rows; checks run: {', '.join(ran)}"
        + (f"; skipped: {', '.join(skipped)} (pass --proposals)" if skipped else "")
    )
    if args.out:
        atomic_write_json(args.out, [asdict(f) for f in findings])
    return 1 if any(f.severity == "error" for f in findings) else 0


def run_apply(args: argparse.Namespace) -> int:
    from annotation.feedback import apply_labels
    from annotation.labels import read_labels

    labels = [lb for f in args.labels for lb in read_labels(f)]
    prov = apply_labels(args.data, labels, args.out)
    shown = {k: v for k, v in prov.items() if k not in ("changes", "needs_adjudication")}
    print(json.dumps(shown, indent=2))
    if prov["needs_adjudication"]:
        print(
            f"{prov['n_needs_adjudication']} tied item(s) kept their original tag and need "
            f"adjudication (listed in {args.out}/annotation_provenance.json, e.g. "
            f"{prov['needs_adjudication'][0]['id']}): add an adjudicator's label table and "
            f"apply again",
            file=sys.stderr,
        )
    return 0
