"""Shared argparse pieces for ``maple-bench`` and ``maple-eval``: one help style, one vocabulary.

The vocabulary both commands use (documented in the README's CLI section):

- ``--data``: the dataset to read (a dataset folder, raw annotation folder/file, or Hub repo id);
- ``--dataset-config`` / ``--split``: which config and split of it;
- ``--config``: this command's own settings (a run YAML, a trainer preset or YAML);
- ``--out``: where the command writes (a folder or a file);
- ``--model``: an adapter spec (``name`` or ``name:pretrained``); ``--model-name``: the display
  name of a model on a leaderboard;
- ``--num-workers``: worker processes.

Old spellings stay accepted as hidden aliases (:func:`add_deprecated_alias`): they work, print
one line naming the new spelling, and do not clutter ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any


class _DefaultsMixin:
    """Append ``(default: X)`` to an option's help when X says something.

    Unlike :class:`argparse.ArgumentDefaultsHelpFormatter` this leaves out ``None``, ``False``
    and suppressed defaults (an unset option, an off switch), and help that already names its
    default.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or "default" in text.lower()
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        return text + " (default: %(default)s)"


class HelpFormatter(_DefaultsMixin, argparse.HelpFormatter):
    """Wrapped descriptions, defaults shown."""


class RawDescriptionHelpFormatter(_DefaultsMixin, argparse.RawDescriptionHelpFormatter):
    """Descriptions kept as written (examples), defaults shown."""


def iter_parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(command path, parser)`` for ``parser`` and every nested subcommand parser."""
    stack = [(parser.prog, parser)]
    seen: set[int] = set()
    while stack:
        path, p = stack.pop(0)
        if id(p) in seen:
            continue
        seen.add(id(p))
        yield path, p
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    stack.append((f"{path} {name}", child))


def apply_formatters(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every parser in the tree the defaults-showing formatter (raw descriptions stay raw)."""
    for _, p in iter_parsers(parser):
        fc = p.formatter_class
        raw = isinstance(fc, type) and issubclass(fc, argparse.RawDescriptionHelpFormatter)
        p.formatter_class = RawDescriptionHelpFormatter if raw else HelpFormatter
    return parser


class DeprecatedAlias(argparse.Action):
    """An old option spelling: stores into the new option's dest and says what to type instead."""

    def __init__(self, option_strings: list[str], dest: str, *, new: str, **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(
            f"{parser.prog}: {option_string} is deprecated and will be removed; use {self.new}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_deprecated_alias(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    old: str,
    new: str,
    *,
    dest: str,
    **kwargs: Any,
) -> argparse.Action:
    """Accept ``old`` as a hidden spelling of ``new`` (same ``dest``; ``type``/``nargs`` in kwargs).

    Add it after ``new`` so ``new``'s default is the one that applies.
    """
    return parser.add_argument(
        old,
        action=DeprecatedAlias,
        new=new,
        dest=dest,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
        **kwargs,
    )


def add_renamed_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    new: str,
    old: str,
    *,
    dest: str,
    required: bool = False,
    **kwargs: Any,
) -> argparse.Action:
    """``new`` plus ``old`` as its hidden alias (:func:`add_deprecated_alias`), ``required`` met by
    either spelling.

    ``required=True`` on ``new`` alone would reject the old spelling, so both go in one required
    mutually exclusive group: argparse's own usage error when neither is given, or both.
    """
    group = parser.add_mutually_exclusive_group(required=required)
    action = group.add_argument(new, dest=dest, **kwargs)
    alias_kwargs = {k: kwargs[k] for k in ("type", "nargs") if k in kwargs}
    add_deprecated_alias(group, old, new, dest=dest, **alias_kwargs)
    return action


def missing_help(parser: argparse.ArgumentParser) -> list[str]:
    """Options, positionals and subcommands in the tree that have no help text.

    Hidden deprecated aliases (:class:`DeprecatedAlias`) are exempt: they are documented under
    the spelling they stand for. ``-h`` and ``--version`` carry argparse's own help.
    """
    problems = []
    for path, p in iter_parsers(parser):
        for action in p._actions:
            if isinstance(action, DeprecatedAlias):
                continue
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                for name in action.choices:
                    if not (helps.get(name) or "").strip():
                        problems.append(f"{path} {name}: subcommand without help")
                    child = action.choices[name]
                    if not (child.description or "").strip():
                        problems.append(f"{path} {name}: subcommand without a description")
                continue
            text = action.help
            name = "/".join(action.option_strings) or action.dest
            if text is None or text is argparse.SUPPRESS or not str(text).strip():
                problems.append(f"{path}: {name} has no help text")
    return problems
