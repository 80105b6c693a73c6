"""A small generic registry: names mapped to objects or lazy ``"module:attr"`` import paths.

Used for tasks and model adapters. Registering a name twice is an error (two plug-ins silently
shadowing each other is worse than a crash); an unknown name lists the closest known names.
Heavy backends (transformers models) are imported only when their name is looked up.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class RegistryError(KeyError):
    """Unknown or duplicate registry name. ``str()`` gives the full message (not repr'd)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Entry:
    """One registered name."""

    name: str
    """The public name users type."""
    target: Any
    """The object itself, or a ``"module:attr"`` string resolved on first lookup."""
    description: str = ""
    """One line for ``maple-eval ls``."""


def import_target(path: str) -> Any:
    """Import ``"package.module:attr"`` (attr may be dotted) and return the attribute."""
    if ":" not in path:
        raise ValueError(f"lazy import path {path!r} must look like 'package.module:attribute'")
    module_name, attr = path.split(":", 1)
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise ImportError(
            f"cannot import {module_name!r} for {path!r}: {e}. Is the optional dependency "
            f"installed (pip install -e '.[dev]')?"
        ) from e
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Name -> object, with lazy imports, duplicate checks and "did you mean" errors."""

    def __init__(self, kind: str, *, base: type | None = None) -> None:
        self.kind = kind
        self.base = base
        """When set, every registered object must be a subclass of it (checked on register for
        objects, on first lookup for lazy ``"module:attr"`` targets), as lm-eval's registry does."""
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, T] = {}

    def _check(self, name: str, obj: Any) -> T:
        if self.base is not None and not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise TypeError(
                f"{self.kind} {name!r} is {obj!r}, not a subclass of "
                f"{self.base.__module__}.{self.base.__qualname__}; register a class that "
                f"derives from it"
            )
        return obj  # type: ignore[no-any-return]

    def register(self, name: str, target: Any, *, description: str = "") -> None:
        """Add ``name``. ``target`` is the object or a ``"module:attr"`` string."""
        if not name or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise ValueError(f"invalid {self.kind} name {name!r}: use letters, digits, _ - .")
        if name in self._entries:
            raise RegistryError(
                f"{self.kind} {name!r} is already registered (by {self._entries[name].target!r}); "
                f"pick another name"
            )
        if not isinstance(target, str):
            self._check(name, target)
        self._entries[name] = Entry(name, target, description)

    def get(self, name: str) -> T:
        """The object for ``name``, importing it on first use."""
        if name not in self._entries:
            raise RegistryError(self.unknown_message(name))
        if name not in self._loaded:
            target = self._entries[name].target
            obj = import_target(target) if isinstance(target, str) else target
            self._loaded[name] = self._check(name, obj)
        return self._loaded[name]

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return (
            f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: "
            f"{', '.join(sorted(self._entries))} (list them with `maple-eval ls`)."
        )

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in sorted(self._entries)]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
