"""The ESC command table: text and print modes, line feeds, positions, pulses.

``ESC !``/``E``/``-``/``M``/``a`` set the character style and alignment,
``ESC d``/``J``/``2``/``3`` feed and space lines, ``ESC $``/``\\``/``D`` move
across the line, ``ESC t`` picks the code table, ``ESC *`` puts a bit image in
the line, ``ESC p``/``B``/``( A`` are drawer pulses and beeps. Commands that
change nothing visible are parsed (so their operands are not printed as text)
and ignored.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ticketd import codepages

from .operands import Handler, ignore1, need, nothing, one, skip

if TYPE_CHECKING:
    from .interpreter import Interpreter


def esc_table(it: Interpreter) -> dict[int, Handler]:
    """Handlers for ``ESC n`` commands, keyed by ``n``, acting on ``it``."""
    def reset(data: bytes, i: int) -> int:
        if it.line:
            it.marker("notice", "[ESC @ cleared the line buffer]",
                      "[ESC @ cleared unprinted text]")
            it.line = []
        it.reset()
        return i

    def print_mode(n: int) -> None:
        it.font = "B" if n & 1 else "A"
        it.bold = bool(n & 8)
        it.hmul = 2 if n & 16 else 1
        it.wmul = 2 if n & 32 else 1
        it.underline = 1 if n & 128 else 0
        it.restyle()

    def bold(n: int) -> None:
        it.bold = bool(n & 1)
        it.restyle()

    def underline(n: int) -> None:
        if n in (0, 1, 2, 48, 49, 50):
            it.underline = n & 3
            it.restyle()

    def font(n: int) -> None:
        if n in (0, 48):
            it.font = "A"
        elif n in (1, 2, 3, 4, 49, 50, 51, 52, 97, 98):
            it.font = "B"
        it.restyle()

    def align(n: int) -> None:
        if n in (0, 1, 2, 48, 49, 50):
            it.align = n & 3
            if not it.line:
                it.line_align = it.align

    def feed_lines(data: bytes, i: int) -> int:
        need(data, i, 1)
        n = data[i]
        if it.line:
            it.print_line()
            n -= 1
        if n > 0:
            it.feed(n * it.spacing, n)
        return i + 1

    def feed_dots(data: bytes, i: int) -> int:
        need(data, i, 1)
        n = data[i]
        if it.line:
            it.print_line(height=n)
        else:
            it.feed(n, (n + it.spacing // 2) // it.spacing if it.spacing else 0)
        return i + 1

    def spacing_default(data: bytes, i: int) -> int:
        it.spacing = 30 * it.k // 8
        return i

    def spacing(n: int) -> None:
        it.spacing = n

    def code_table(n: int) -> None:
        if n not in codepages.TABLES:
            it.warn(f"ESC t {n}: code table not known, text decoded as PC437")
        it.select_table(n)

    def char_spacing(n: int) -> None:
        it.char_spacing = n

    def abs_pos(data: bytes, i: int) -> int:
        need(data, i, 2)
        pos = data[i] + 256 * data[i + 1]
        if pos <= it.area:
            if not it.line:
                it.line_align = it.align
            it.x = pos
            it.extent = max(it.extent, pos)
        return i + 2

    def rel_pos(data: bytes, i: int) -> int:
        need(data, i, 2)
        v = data[i] + 256 * data[i + 1]
        if v >= 0x8000:
            v -= 0x10000
        pos = it.x + v
        if 0 <= pos <= it.area:
            it.x = pos
            it.extent = max(it.extent, pos)
        return i + 2

    def tabs(data: bytes, i: int) -> int:
        stops = []
        step = it.cells[it.font][0] + it.char_spacing
        j = i
        while True:
            need(data, j, 1)
            n = data[j]
            j += 1
            if n == 0:
                break
            if len(stops) < 32 and (not stops or n * step > stops[-1]):
                stops.append(n * step)
            if j - i > 64:
                break
        it.tabs = stops
        return j

    def pulse(data: bytes, i: int) -> int:
        need(data, i, 3)
        m, t1, t2 = data[i], data[i + 1], data[i + 2]
        pin = m & 1
        it.marker("drawer", f"[drawer pulse pin {pin}]",
                  f"[drawer pulse pin {pin}, {t1 * 2} ms on, {t2 * 2} ms off]")
        return i + 3

    def beep(data: bytes, i: int) -> int:
        need(data, i, 2)
        n, t = data[i], data[i + 1]
        it.marker("beep", f"[beep x{n}]", f"[beep x{n}, {t * 50} ms]")
        return i + 2

    def bit_image(data: bytes, i: int) -> int:
        need(data, i, 3)
        m, cols = data[i], data[i + 1] + 256 * data[i + 2]
        rows = 1 if m in (0, 1) else 3
        size = cols * rows
        need(data, i + 3, size)
        it.inline_image(data[i + 3:i + 3 + size], m, cols, rows)
        return i + 3 + size

    def user_chars(data: bytes, i: int) -> int:
        need(data, i, 3)
        y, c1, c2 = data[i], data[i + 1], data[i + 2]
        j = i + 3
        for _ in range(max(0, c2 - c1 + 1)):
            need(data, j, 1)
            x = data[j]
            need(data, j + 1, x * y)
            j += 1 + x * y
        it.warn("user-defined characters (ESC &) are not drawn")
        return j

    def paren(data: bytes, i: int) -> int:        # ESC ( fn pL pH ...
        need(data, i, 3)
        fn, length = data[i], data[i + 1] + 256 * data[i + 2]
        need(data, i + 3, length)
        if fn == ord("A"):
            it.marker("beep", "[beep]", "[beep]")
        return i + 3 + length

    def cut_partial(data: bytes, i: int) -> int:
        it.cut(True)
        return i

    def cut_full(data: bytes, i: int) -> int:
        it.cut(False)
        return i

    def page_mode(data: bytes, i: int) -> int:
        it.warn("page mode (ESC L) is not emulated: shown as standard mode")
        return i

    return {
        0x40: reset, ord("!"): one(print_mode), ord("E"): one(bold),
        ord("G"): one(bold), ord("-"): one(underline), ord("M"): one(font),
        ord("a"): one(align), ord("d"): feed_lines, ord("J"): feed_dots,
        ord("K"): ignore1, ord("e"): ignore1, ord("2"): spacing_default,
        ord("3"): one(spacing), ord("t"): one(code_table), ord(" "): one(char_spacing),
        ord("$"): abs_pos, ord("\\"): rel_pos, ord("D"): tabs, ord("p"): pulse,
        ord("B"): beep, ord("*"): bit_image, ord("&"): user_chars, ord("("): paren,
        ord("i"): cut_full, ord("m"): cut_partial, ord("L"): page_mode,
        ord("S"): nothing, 0x0C: nothing, ord("v"): nothing,
        ord("c"): skip(2), ord("r"): ignore1, ord("="): ignore1, ord("R"): ignore1,
        ord("U"): ignore1, ord("V"): ignore1, ord("{"): ignore1, ord("%"): ignore1,
        ord("?"): ignore1, ord("T"): ignore1, ord("u"): ignore1, ord("W"): skip(8),
        ord("C"): ignore1, ord("l"): ignore1, ord("Q"): ignore1,
    }
