"""The ``maple-bench`` command.

Subcommands are plug-ins: each is a module with ``add_parser(subparsers)`` that registers its
parser and sets ``func=run`` (``run(args) -> int``). Core commands are listed in
:data:`CORE_COMMANDS`; the ``annotation`` and ``leaderboards`` packages add theirs through the
``maple_bench.commands`` entry-point group, so ``maple_bench`` never imports them. Modules keep
heavy imports inside ``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import Any

from maple_bench import __version__
from maple_bench.cli.options import apply_formatters

CORE_COMMANDS: dict[str, str] = {
    "synth": "maple_bench.cli.synth",
    "build": "maple_bench.cli.build",
    "inspect": "maple_bench.cli.inspect",
    "train": "maple_bench.cli.train",
}
ENTRY_POINT_GROUP = "maple_bench.commands"


def _command_modules() -> dict[str, str]:
    mods = dict(CORE_COMMANDS)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        mods.setdefault(ep.name, ep.value)
    return mods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maple-bench",
        description=(
            "Build, inspect and train on MAPLE benchmarks (modality-aware evaluation and MAPO "
            "post-training for omni-modal models). Evaluation is the separate `maple-eval` command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"maple-bench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help="the subcommand to run")
    register_commands(sub, dict(sorted(_command_modules().items())), prog="maple-bench")
    return apply_formatters(parser)


def register_commands(sub: Any, modules: Mapping[str, str], *, prog: str) -> None:
    """Import each command module and let it add its parser(s).

    A module exposes ``add_parser(subparsers)`` (one command) or ``add_parsers(subparsers)``
    (several, listed under each of their names in ``modules``). A module that cannot be imported
    (an optional dependency missing) is listed with the reason instead of breaking every other
    command; running it exits 2 with that reason. Shared by ``maple-bench`` and ``maple-eval``.
    """
    loaded: set[str] = set()
    for name, module in modules.items():
        if module in loaded:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            p = sub.add_parser(
                name, help=f"(unavailable: {e})", description=f"unavailable here: {e}"
            )
            p.set_defaults(func=_unavailable(prog, name, str(e)))
            continue
        if hasattr(mod, "add_parsers"):
            mod.add_parsers(sub)
            loaded.add(module)
        else:
            mod.add_parser(sub)


def _unavailable(prog: str, name: str, reason: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        print(f"{prog} {name}: unavailable: {reason}", file=sys.stderr)
        return 2

    return run


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv, prog="maple-bench", errors=user_errors())


def run_command(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    *,
    prog: str,
    errors: tuple[type[BaseException], ...],
) -> int:
    """Parse, set up logging, run the chosen subcommand; ``errors`` print as one line (exit 2).

    Shared by ``maple-bench`` and ``maple-eval``. Under a multi-process launch the line names
    the rank, so a failure on one of eight GPUs is easy to find in the combined output.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    bad = next((a for a in argv if not _is_utf8(a)), None)
    if bad is not None:
        # Paths become JSON provenance, data cards and Parquet metadata, all UTF-8.
        print(
            f"{prog}: error: argument {_printable(bad)} is not valid UTF-8; rename the file or "
            f"folder (or pass a path without undecodable bytes)",
            file=sys.stderr,
        )
        return 2
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        # The system refused a read or write (permissions, disk full, a file where a folder
        # should be): nothing the user can fix by reading a traceback. -v logs it anyway.
        logging.getLogger(prog).debug("OS error", exc_info=True)
        print(f"{prog} {args.command}: error{_where()}: {describe_os_error(e)}", file=sys.stderr)
        return 2
    except errors as e:
        # Bad input the user can fix: one line naming what and where, no traceback.
        print(f"{prog} {args.command}: error{_where()}: {e}", file=sys.stderr)
        return 2
    except UnicodeEncodeError as e:
        if "surrogates" not in str(e):
            raise
        logging.getLogger(prog).debug("encoding error", exc_info=True)
        print(
            f"{prog} {args.command}: error{_where()}: a path or name is not valid UTF-8 "
            f"({_printable(e.object[e.start : e.end + 20])}...); rename it",
            file=sys.stderr,
        )
        return 2


def _where() -> str:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return f" (rank {os.environ.get('RANK', '0')} of {world})" if world > 1 else ""


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as lone surrogates (surrogateescape)
        return False
    return True


def _printable(text: str) -> str:
    """``text`` safe to print: undecodable bytes shown as ``\\xNN``."""
    return os.fsencode(text).decode("utf-8", "backslashreplace")


_OS_HINTS: dict[int, str] = {
    errno.EACCES: "permission denied; choose a folder you can write to, or fix its permissions",
    errno.EPERM: "operation not permitted; choose a folder you can write to",
    errno.ENOSPC: "no space left on the device; free some space or choose another folder",
    errno.EDQUOT: "disk quota exceeded; free some space or choose another folder",
    errno.EROFS: "read-only file system; choose a writable folder",
    errno.ENOTDIR: "a part of this path is a file, not a folder; choose another path",
    errno.EISDIR: "is a folder where a file was expected; choose another path",
    errno.EEXIST: "already exists (a file where a folder is needed?); choose another path",
    errno.ENOENT: "no such file or folder; check the path",
}


def describe_os_error(e: OSError) -> str:
    """One line for an OS error: the path(s) involved and what to do (errno-specific)."""
    paths = [p for p in (e.filename, e.filename2) if p is not None]
    if e.errno is None or not paths:
        return _printable(str(e))  # raised by our own code with its message (no errno/path)
    where = " -> ".join(_printable(os.fsdecode(p)) for p in paths)
    hint = _OS_HINTS.get(e.errno) or (e.strerror or type(e).__name__)
    return f"{where}: {hint}"


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that describe bad input (file, row, column, value) rather than a bug."""
    from maple_bench.data.errors import DataError
    from maple_bench.locks import PathBusyError
    from maple_bench.media.errors import MediaError
    from maple_bench.modality import ModalityParseError
    from maple_bench.schema import SchemaError

    return (
        SchemaError,
        DataError,
        MediaError,
        ModalityParseError,
        FileNotFoundError,
        FileExistsError,
        PathBusyError,
    )


if __name__ == "__main__":
    sys.exit(main())
