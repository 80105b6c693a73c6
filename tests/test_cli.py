"""The two commands: every subcommand is registered, importable and documented."""

from __future__ import annotations

import subprocess
import sys

import pytest

from maple_bench import __version__
from maple_bench.cli import _command_modules, build_parser, main

EXPECTED = {"synth", "build", "inspect", "train", "annotate", "leaderboard", "demo"}


def test_every_subcommand_is_available() -> None:
    assert set(_command_modules()) >= EXPECTED
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sorted(EXPECTED):
        help_text = next(c.help for c in sub._choices_actions if c.dest == name)
        assert "unavailable" not in (help_text or ""), f"{name}: {help_text}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_subcommand_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    assert name in capsys.readouterr().out


def test_version_and_help_from_the_installed_scripts() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "maple_bench", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"maple-bench {__version__}"
    from evaluators.cli import main as eval_main

    with pytest.raises(SystemExit) as e:
        eval_main(["--help"])
    assert e.value.code == 0
