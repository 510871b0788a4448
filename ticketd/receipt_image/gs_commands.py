"""The GS command table: sizes, margins, barcodes, codes, images and cuts.

``GS !``/``B`` set character size and reverse print, ``GS L``/``W`` the print
area, ``GS h``/``w``/``H``/``f`` the barcode height, module width and HRI text,
``GS k`` prints a barcode, ``GS ( k`` a 2D code, ``GS v 0``/``Q 0``/``( L``/
``8 L`` raster images and ``GS V`` cuts. The drawing itself is in
:mod:`.graphics` and :mod:`.codes`; this module reads the operands.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .operands import Handler, Truncated, ignore1, need, nothing, one, skip

if TYPE_CHECKING:
    from .interpreter import Interpreter


def gs_table(it: Interpreter) -> dict[int, Handler]:
    """Handlers for ``GS n`` commands, keyed by ``n``, acting on ``it``."""
    def size(n: int) -> None:
        it.wmul = ((n >> 4) & 7) + 1
        it.hmul = (n & 7) + 1
        it.restyle()

    def inverse(n: int) -> None:
        it.inverse = bool(n & 1)
        it.restyle()

    def margin(data: bytes, i: int) -> int:
        need(data, i, 2)
        if not it.line:
            it.margin = min(data[i] + 256 * data[i + 1], it.dots - 1)
        return i + 2

    def area(data: bytes, i: int) -> int:
        need(data, i, 2)
        if not it.line:
            it.area_setting = max(1, data[i] + 256 * data[i + 1])
        return i + 2

    def bar_height(n: int) -> None:
        it.bar_height = max(1, n)

    def bar_width(n: int) -> None:
        if 1 <= n <= 6:
            it.bar_width = n
        elif 68 <= n <= 76:   # some printers: 0.5-dot steps, shown rounded
            it.bar_width = max(1, (n - 64) // 2)

    def hri(n: int) -> None:
        if n in (0, 1, 2, 3, 48, 49, 50, 51):
            it.hri_pos = n & 3

    def hri_font(n: int) -> None:
        it.hri_font = "B" if n in (1, 49) else "A"

    def cut(data: bytes, i: int) -> int:
        need(data, i, 1)
        m = data[i]
        if m in (0, 48, 1, 49):
            it.cut(m in (1, 49))
            return i + 1
        if m in (65, 66, 97, 98, 103, 104):
            need(data, i, 2)
            it.end_line()
            it.feed(data[i + 1], 0)
            it.cut(m in (66, 98, 104))
            return i + 2
        it.unknown(data, i - 2, i + 1)
        return i + 1

    def raster(data: bytes, i: int) -> int:
        need(data, i, 1)
        if data[i] != 0x30:
            it.unknown(data, i - 2, i + 1)
            return i + 1
        need(data, i + 1, 5)
        m = data[i + 1]
        xb = data[i + 2] + 256 * data[i + 3]
        rows = data[i + 4] + 256 * data[i + 5]
        j = i + 6
        need(data, j, xb * rows)
        it.raster(data[j:j + xb * rows], xb * 8, rows, m, "GS v 0")
        return j + xb * rows

    def barcode(data: bytes, i: int) -> int:
        need(data, i, 1)
        m = data[i]
        if m <= 6:
            end = data.find(b"\x00", i + 1)
            if end < 0:
                raise Truncated
            it.barcode(m, data[i + 1:end])
            return end + 1
        if 65 <= m <= 79:
            need(data, i + 1, 1)
            n = data[i + 1]
            need(data, i + 2, n)
            it.barcode(m, data[i + 2:i + 2 + n])
            return i + 2 + n
        it.unknown(data, i - 2, i + 1)
        return i + 1

    def paren(data: bytes, i: int) -> int:        # GS ( fn pL pH ...
        need(data, i, 3)
        fn, length = data[i], data[i + 1] + 256 * data[i + 2]
        j = i + 3
        need(data, j, length)
        body = data[j:j + length]
        if fn == ord("k"):
            it.two_d(body)
        elif fn == ord("L"):
            it.graphics(body)
        return j + length

    def graphics8(data: bytes, i: int) -> int:    # GS 8 L p1 p2 p3 p4 ...
        need(data, i, 5)
        if data[i] != ord("L"):
            it.unknown(data, i - 2, i + 1)
            return i + 1
        length = int.from_bytes(data[i + 1:i + 5], "little")
        j = i + 5
        need(data, j, length)
        it.graphics(data[j:j + length])
        return j + length

    def define_image(data: bytes, i: int) -> int:  # GS * x y d
        need(data, i, 2)
        size = data[i] * data[i + 1] * 8
        need(data, i + 2, size)
        return i + 2 + size

    def print_defined(data: bytes, i: int) -> int:
        need(data, i, 1)
        it.marker("notice", "[downloaded bit image]", "[downloaded bit image]")
        return i + 1

    def counter(data: bytes, i: int) -> int:       # GS C 0/1/2/; ...
        need(data, i, 1)
        sub = data[i]
        count = {0x30: 2, 0: 2, 0x31: 6, 1: 6, 0x32: 2, 2: 2}.get(sub)
        if count is None:
            if sub == ord(";"):
                end = data.find(b";", i + 1)
                return (end + 1) if end >= 0 else len(data)
            it.unknown(data, i - 2, i + 1)
            return i + 1
        need(data, i + 1, count)
        return i + 1 + count

    def var_raster(data: bytes, i: int) -> int:    # GS Q 0 m xL xH yL yH d
        need(data, i, 6)
        xb = data[i + 2] + 256 * data[i + 3]
        rows = data[i + 4] + 256 * data[i + 5]
        j = i + 6
        need(data, j, xb * rows)
        it.raster(data[j:j + xb * rows], xb * 8, rows, data[i + 1], "GS Q 0")
        return j + xb * rows

    return {
        ord("!"): one(size), ord("B"): one(inverse), ord("b"): ignore1,
        ord("L"): margin, ord("W"): area, ord("h"): one(bar_height),
        ord("w"): one(bar_width), ord("H"): one(hri), ord("f"): one(hri_font),
        ord("V"): cut, ord("v"): raster, ord("k"): barcode, ord("("): paren,
        ord("8"): graphics8, ord("*"): define_image, ord("/"): print_defined,
        ord("a"): ignore1, ord("r"): ignore1, ord("I"): ignore1, ord("P"): skip(2),
        ord("$"): skip(2), ord("\\"): skip(2), ord("T"): ignore1, ord("^"): skip(3),
        ord(":"): nothing, ord("c"): nothing, ord("j"): ignore1, ord("E"): ignore1,
        ord("g"): skip(4), ord("z"): skip(3), ord("C"): counter, ord("Q"): var_raster,
    }
