"""The FS command table: NV bit images and the kanji commands, read and skipped.

``FS p`` (print an NV bit image) is shown as a marker; ``FS q`` and the kanji
mode commands are parsed only so that their operands do not print as text.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .operands import Handler, need, skip

if TYPE_CHECKING:
    from .interpreter import Interpreter


def fs_table(it: Interpreter) -> dict[int, Handler]:
    """Handlers for ``FS n`` commands, keyed by ``n``, acting on ``it``."""
    def nv_print(data: bytes, i: int) -> int:
        need(data, i, 2)
        it.end_line()
        text = f"[NV bit image {data[i]}]"
        it.marker("notice", text, text)
        return i + 2

    def nv_define(data: bytes, i: int) -> int:
        need(data, i, 1)
        j = i + 1
        for _ in range(data[i]):
            need(data, j, 4)
            size = (data[j] + 256 * data[j + 1]) * (data[j + 2] + 256 * data[j + 3]) * 8
            need(data, j + 4, size)
            j += 4 + size
        return j

    def paren(data: bytes, i: int) -> int:
        need(data, i, 3)
        length = data[i + 1] + 256 * data[i + 2]
        need(data, i + 3, length)
        return i + 3 + length

    return {ord("p"): nv_print, ord("q"): nv_define, ord("("): paren,
            ord("&"): skip(0), ord("."): skip(0), ord("!"): skip(1), ord("-"): skip(1),
            ord("C"): skip(1), ord("S"): skip(2), ord("W"): skip(1), ord("2"): skip(74),
            ord("?"): skip(2)}
