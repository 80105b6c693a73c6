"""Every option and subcommand of both CLIs explains itself, and old spellings keep working.

The walk covers plug-in subcommands too (``annotate``, ``leaderboard``, ``demo`` come from the
``maple_bench.commands`` entry points), so a helper adding an option without help fails here.
"""

from __future__ import annotations

import argparse

import pytest

from evaluators.cli import build_parser as eval_parser
from maple_bench.cli import build_parser as bench_parser
from maple_bench.cli.options import iter_parsers, missing_help


@pytest.mark.parametrize("build", [bench_parser, eval_parser], ids=["maple-bench", "maple-eval"])
def test_every_option_and_subcommand_has_help(build):
    parser = build()
    assert missing_help(parser) == []


def test_walk_reaches_plugin_and_nested_subcommands():
    names = {path for path, _ in iter_parsers(bench_parser())}
    for cmd in ("annotate apply", "annotate audit", "leaderboard render", "demo", "train"):
        assert f"maple-bench {cmd}" in names
    names = {path for path, _ in iter_parsers(eval_parser())}
    assert {"maple-eval run", "maple-eval compare", "maple-eval score"} <= names


def test_walk_fails_on_a_bare_option_and_a_bare_subcommand():
    parser = bench_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices["train"].add_argument("--bare")
    sub.add_parser("nohelp")
    problems = missing_help(parser)
    assert "maple-bench train: --bare has no help text" in problems
    assert "maple-bench nohelp: subcommand without help" in problems


def _help(parser: argparse.ArgumentParser, *path: str) -> str:
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser.format_help()


def test_defaults_are_shown():
    text = " ".join(_help(eval_parser(), "run").split())
    assert "shrink on OOM) (default: 8)" in text  # RunConfig's default, not None
    assert "(default: drop)" in text
    text = " ".join(_help(bench_parser(), "synth").split())
    assert "questions per tag (default: 10)" in text
    text = " ".join(_help(eval_parser(), "compare").split())
    assert "(default: 1000)" in text and "(default: None)" not in text


def test_deprecated_spellings_are_hidden_but_work(capsys):
    p = eval_parser()
    assert "--output" not in _help(p, "run")
    args = p.parse_args(["run", "--task", "t", "--model", "random", "--output", "X"])
    assert args.output == "X"
    b = bench_parser()
    assert b.parse_args(["synth", "--out", "o", "--workers", "3"]).num_workers == 3
    assert b.parse_args(["build", "qa", "--source", "s", "--out", "o"]).data == "s"
    assert b.parse_args(["inspect", "ds", "--config", "maple_qa"]).dataset_config == "maple_qa"
    args = b.parse_args(["annotate", "apply", "--source", "raw", "--labels", "l.csv", "--out", "o"])
    assert args.data == "raw"
    args = b.parse_args(["leaderboard", "export-model-index", "b.json", "--model", "m"])
    assert args.model_name == "m"
    for path in (("synth",), ("build",), ("inspect",), ("annotate", "apply")):
        text = _help(b, *path)
        assert "--workers " not in text and "--source " not in text


def test_deprecated_alias_names_the_new_spelling(capsys):
    eval_parser().parse_args(["run", "--output", "X"])
    err = capsys.readouterr().err
    assert "--output is deprecated" in err and "use --out" in err


def test_end_of_run_line_prints_percent_and_the_file_keeps_fractions():
    from evaluators.cli import _summary

    results = {"maple": {"headline": {"avg_acc": 0.1296, "invalid_rate": 0.0, "acc_uni": None}}}
    line = _summary(results, "synth_qa")
    assert line == "avg_acc=12.96%, invalid_rate=0.00%"
    assert results["maple"]["headline"]["avg_acc"] == 0.1296
