"""Reading one TOML table with errors that name the file, the key and the value.

A :class:`Reader` hands out checked values (``integer(1, 65535)``, ``string``,
``one_of(...)``...) and records the keys it read, so that unknown keys are
refused too. A refused value becomes one :class:`ConfigError` line such as::

    etc/ticketd.toml: printers.kitchen.port: expected an integer 1-65535, got "abc"

Standard library only: ``import ticketd.config`` must stay light.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Callable, Mapping


class ConfigError(Exception):
    """A configuration problem; ``str()`` is the whole message shown to the user."""


def show(value: object) -> str:
    """A value the way the user wrote it in TOML (strings quoted)."""
    if isinstance(value, (str, bool)) or value is None:
        return json.dumps(value)
    return repr(value)


class Reader:
    """Reads one table, records the keys it used, and raises ConfigError with the path."""

    def __init__(self, source: str, path: str, table: Mapping[str, Any]) -> None:
        self.source = source
        self.path = path
        self.table = table
        self.used: set[str] = set()

    def fail(self, key: str, message: str) -> ConfigError:
        """The error for ``key`` of this table (raise it), prefixed with file and path."""
        where = f"{self.path}.{key}" if self.path else key
        return ConfigError(f"{self.source}: {where}: {message}")

    def get(self, key: str, check: Callable[[Any], Any], default: Any = None, *,
            required: bool = False) -> Any:
        """``table[key]`` passed through ``check`` (``default`` when absent)."""
        self.used.add(key)
        if key not in self.table:
            if required:
                raise self.fail(key, "is required")
            return default
        value = self.table[key]
        try:
            return check(value)
        except Bad as e:
            raise self.fail(key, f"expected {e.expected}, got {show(value)}") from None

    def finish(self, allowed_extra: frozenset[str] = frozenset(), hint: str = "") -> None:
        """Refuse keys nobody read: a misspelt setting must not be ignored (and the
        setting it resembles is named)."""
        known = self.used | allowed_extra
        for key in self.table:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                suggestion = f'; did you mean "{close[0]}"?' if close and not hint else ""
                raise self.fail(key, f"unknown setting{hint}{suggestion}")


class Bad(Exception):
    """A value a check refused; ``expected`` completes "expected ..., got ..."."""

    def __init__(self, expected: str) -> None:
        self.expected = expected


def integer(lo: int, hi: int) -> Callable[[Any], int]:
    """An integer in ``lo``-``hi`` (booleans are not integers here)."""
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise Bad(f"an integer {lo}-{hi}")
        return v
    return check


def hex_or_int(v: Any) -> int:
    """USB ids are written either as integers or as "0x04b8" strings."""
    if isinstance(v, str):
        try:
            v = int(v, 16 if v.lower().startswith("0x") else 10)
        except ValueError:
            raise Bad('an integer 0-65535 or a hex string like "0x04b8"') from None
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 0xFFFF:
        raise Bad('an integer 0-65535 or a hex string like "0x04b8"')
    return v


def number(lo: float, hi: float) -> Callable[[Any], float]:
    """An integer or float in ``lo``-``hi``, as a float."""
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise Bad(f"a number {lo:g}-{hi:g}")
        return float(v)
    return check


def string(v: Any) -> str:
    """A non-empty string."""
    if not isinstance(v, str) or not v:
        raise Bad("a non-empty string")
    return v


def boolean(v: Any) -> bool:
    """``true`` or ``false`` (not 0/1: TOML has booleans)."""
    if not isinstance(v, bool):
        raise Bad("true or false")
    return v


def one_of(*choices: Any) -> Callable[[Any], Any]:
    """One of ``choices`` (``true`` never passes for 1)."""
    def check(v: Any) -> Any:
        if v not in choices or isinstance(v, bool):
            raise Bad("one of " + ", ".join(show(c) for c in choices))
        return v
    return check


def strings(v: Any) -> tuple[str, ...]:
    """A list of non-empty strings, as a tuple."""
    if not isinstance(v, list) or not all(isinstance(s, str) and s for s in v):
        raise Bad("a list of non-empty strings")
    return tuple(v)


def table(v: Any) -> Mapping[str, Any]:
    """A TOML table (a sub-table such as ``[server]``)."""
    if not isinstance(v, dict):
        raise Bad("a table")
    return v
