"""Reading a command's operand bytes, shared by the ESC, GS and FS tables.

A handler gets the job bytes and the index just past the command's name and
returns the index after its operands; :func:`need` raises :class:`Truncated`
when the data ends first, so the dispatch loop can show a ``truncated``
marker instead of reading past the end.
"""
from __future__ import annotations

from typing import Callable

Handler = Callable[[bytes, int], int]


class Truncated(Exception):
    """The data ends inside a command."""


def need(data: bytes, i: int, count: int) -> None:
    """Raise :class:`Truncated` unless ``count`` bytes follow ``data[i]``."""
    if i + count > len(data):
        raise Truncated


def one(fn: Callable[[int], None]) -> Handler:
    """A handler for a command with one operand byte ``n``, passed to ``fn``."""
    def handler(data: bytes, i: int) -> int:
        need(data, i, 1)
        fn(data[i])
        return i + 1
    return handler


def skip(count: int) -> Handler:
    """A handler that ignores a command's ``count`` operand bytes."""
    def handler(data: bytes, i: int) -> int:
        need(data, i, count)
        return i + count
    return handler


def nothing(data: bytes, i: int) -> int:
    """A handler for a command without operands that changes nothing shown."""
    return i


ignore1 = one(lambda n: None)
