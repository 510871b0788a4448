"""ESC/POS interpreter: job bytes -> :class:`~ticketd.preview.model.Receipt`.

A sans-IO model of an Epson-compatible thermal printer in standard mode: a line
buffer that prints on LF (or when full), character styles, alignment, line
spacing, raster and bit images, native QR codes, barcodes, cuts and pulses.
Any byte string is accepted: unknown commands become ``unknown`` markers,
commands cut short by the end of the data a ``truncated`` marker, and the
receipt stops (with a ``limit`` marker) at ``max_height`` dots. Markers never
move printed content: one met in the middle of a line is shown after that line.

Sizes are in dots. Fonts at 203 dpi: A is 12x24, B is 9x17 (scaled with the
dpi: 300 dpi -> 18x36 and 13x25). Motion units are taken to be dots.
"""
from __future__ import annotations

import re
from typing import Callable

from . import codepages, symbols
from .model import (Barcode, Cut, Feed, Glyph, InlineImage, Marker, QRCode, Raster,
                    Receipt, Style, TextLine)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, FF, CAN, NUL = 0x0A, 0x0D, 0x09, 0x0C, 0x18, 0x00

MAX_HEIGHT = 20000
QR_BUDGET = 16 * 1024   # QR encoding costs ~0.1 ms per byte: bound it per job
MAX_BLOCKS = 20000      # zero-height lines (ESC 3 0) must not grow without end
_CTRL = re.compile(rb"[\x00-\x1f]")
_INVERT = bytes(255 - b for b in range(256))
_NAMES = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE"}
_CORRECTION = {48: "L", 49: "M", 50: "Q", 51: "H", 0: "L", 1: "M", 2: "Q", 3: "H"}
_2D_NAMES = {48: "PDF417", 50: "MaxiCode", 51: "GS1 DataBar", 52: "Composite",
             53: "Aztec", 54: "DataMatrix"}


class _Truncated(Exception):
    """The data ends inside a command."""


def _printable_table(n: int) -> str:
    table = codepages.decoding_table(n)
    return "".join("?" if (ch == "\ufffd" or (ord(ch) < 0x20) or ch == "\x7f"
                           or 0x80 <= ord(ch) < 0xA0) else ch for ch in table)


def command_name(data: bytes, start: int, end: int) -> str:
    """``ESC ~``/``GS v 0``-style name of the command bytes ``data[start:end]``."""
    parts = []
    for k, b in enumerate(data[start:min(end, start + 3)]):
        if k == 0 and b in _NAMES:
            parts.append(_NAMES[b])
        elif 0x21 <= b <= 0x7E:
            parts.append(chr(b))
        else:
            parts.append(f"{b:02X}")
    return " ".join(parts)


def hex_bytes(data: bytes, start: int, end: int) -> str:
    shown = " ".join(f"{b:02X}" for b in data[start:min(end, start + 4)])
    return shown + (" …" if end - start > 4 else "")


class Interpreter:
    """One job's interpretation; call :meth:`run` once."""

    def __init__(self, dots: int = 576, *, dpi: int = 203, code_table: str | None = None,
                 max_height: int = MAX_HEIGHT) -> None:
        self.dots = max(8, int(dots))
        self.k = {300: 12, 600: 24}.get(dpi, 8)           # dots per mm
        k = self.k
        self.cells = {"A": (12 * k // 8, 24 * k // 8), "B": (9 * k // 8, 17 * k // 8)}
        self.col = self.cells["A"][0]
        self.max_height = max_height
        self.receipt = Receipt(dots=self.dots, dpi=dpi if k != 8 else 203)
        self.total = 0
        self.stopped = False
        default = codepages.table_number(code_table) if code_table else None
        if code_table and default is None:
            self.receipt.warnings.append(f"unknown code table {code_table!r}: using PC437")
        self.default_table = codepages.DEFAULT if default is None else default
        self.pending: list[Marker] = []
        self.line: list = []             # ("g", char, x, style, cw, ch, adv) | ("i", img, x)
        self.x = 0
        self.extent = 0
        self.line_align = 0
        self.qr_data = b""
        self.qr_module = 3
        self.qr_ec = "L"
        self.qr_model = 2
        self.qr_last: tuple | None = None   # (key, image) of the last QR drawn
        self.qr_budget = QR_BUDGET          # bytes of QR data encoded per job
        self.graphic = None              # buffered GS ( L image
        self._warned: set[str] = set()
        self.reset()
        self._esc = self._esc_table()
        self._gs = self._gs_table()
        self._fs = self._fs_table()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """ESC @: modes back to power-on, print buffer cleared."""
        k = self.k
        self.font = "A"
        self.bold = False
        self.underline = 0
        self.inverse = False
        self.wmul = self.hmul = 1
        self.align = 0
        self.spacing = 30 * k // 8
        self.table = self.default_table
        self.chars = _printable_table(self.table)
        self.char_spacing = 0
        self.margin = 0
        self.area_setting = self.dots
        self.tabs: list[int] | None = None
        self.bar_height = 162
        self.bar_width = 3
        self.hri_pos = 0
        self.hri_font = "A"
        self._style: Style | None = None
        self.line = []
        self.x = self.extent = 0

    @property
    def area(self) -> int:
        return max(1, min(self.area_setting, self.dots - self.margin))

    def style(self) -> Style:
        s = self._style
        if s is None:
            s = self._style = Style(font=self.font, bold=self.bold, underline=self.underline,
                                    inverse=self.inverse, width=self.wmul, height=self.hmul)
        return s

    def _restyle(self) -> None:
        self._style = None

    def warn(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            self.receipt.warnings.append(text)

    # ------------------------------------------------------------------ output
    def add(self, block) -> None:
        if self.stopped:
            return
        if (self.total + block.height > self.max_height
                or len(self.receipt.blocks) >= MAX_BLOCKS):
            self.stopped = True
            self.receipt.truncated = True
            if len(self.receipt.blocks) >= MAX_BLOCKS:
                text = f"preview stops here: more than {MAX_BLOCKS} lines"
            else:
                text = f"preview stops here: receipt longer than {self.max_height} dots"
            self.receipt.blocks.append(Marker("limit", f"[{text}]", f"[{text}]",
                                              self.marker_height))
            return
        self.receipt.blocks.append(block)
        self.total += block.height

    @property
    def marker_height(self) -> int:
        return self.cells["B"][1] + 8

    def marker(self, kind: str, label: str, line: str) -> None:
        m = Marker(kind, label, line, self.marker_height)
        if self.line:
            self.pending.append(m)
        else:
            self.add(m)

    def unknown(self, data: bytes, start: int, end: int) -> None:
        self.marker("unknown", f"[? {hex_bytes(data, start, end)}]",
                    f"[unknown {command_name(data, start, end)}]")

    def print_line(self, height: int | None = None) -> None:
        """Print the line buffer (LF); an empty buffer feeds one line."""
        items = self.line
        if not items:
            self.x = self.extent = 0
            self.add(Feed(self.spacing if height is None else height, 1))
            self._flush_pending()
            return
        free = max(0, self.area - self.extent)
        offset = (0, free // 2, free)[self.line_align]
        left = self.margin + offset
        out: list = []
        sizes = []
        ink = 1
        col = self.col
        pad = left // col
        text: list[str] = [" " * pad]
        length = pad
        for item in sorted(items, key=lambda it: it[2]):
            if item[0] == "g":
                _, ch, x, st, cw, chh, adv = item
                out.append(Glyph(ch, left + x, st, cw, chh, adv))
                ink = max(ink, chh * st.height)
                target = pad + x // col
                if target > length:
                    text.append(" " * (target - length))
                    length = target
                text.append(ch + " " * (st.width - 1))
                length += st.width
            else:
                _, img, x = item
                out.append(InlineImage(img, left + x))
                ink = max(ink, img.size[1])
                sizes.append(img.size)
        line = "".join(text).rstrip()
        adv_h = max(self.spacing if height is None else height, ink)
        self.line = []
        self.x = self.extent = 0
        self.add(TextLine(tuple(out), adv_h, ink, line, tuple(sizes)))
        self._flush_pending()

    def _flush_pending(self) -> None:
        pending, self.pending = self.pending, []
        for m in pending:
            self.add(m)

    def end_line(self) -> None:
        """Print an open line before a block (image, barcode, QR, cut)."""
        if self.line:
            self.print_line()

    def feed(self, dots: int, lines: int) -> None:
        if dots > 0 or lines > 0:
            self.add(Feed(max(0, dots), lines))

    def place_x(self, width: int) -> int:
        """Left edge of a block ``width`` dots wide, per alignment and margin."""
        free = max(0, self.area - width)
        return self.margin + (0, free // 2, free)[self.align]

    # ------------------------------------------------------------------ text
    def text(self, chunk: bytes) -> None:
        chars = self.chars
        st = self.style()
        cw, chh = self.cells[st.font]
        adv = (cw + self.char_spacing) * st.width
        area = self.area
        line = self.line
        for b in chunk:
            if self.x + adv > area and (line or self.x):
                self.print_line()
                line = self.line
                if self.stopped:
                    return
            if not line:
                self.line_align = self.align
            line.append(("g", chars[b], self.x, st, cw, chh, adv))
            self.x += adv
            if self.x > self.extent:
                self.extent = self.x

    # ------------------------------------------------------------------ run
    def run(self, data: bytes) -> Receipt:
        data = bytes(data)
        n = len(data)
        i = 0
        while i < n and not self.stopped:
            b = data[i]
            if b >= 0x20:
                m = _CTRL.search(data, i)
                j = m.start() if m else n
                self.text(data[i:j])
                i = j
                continue
            start = i
            try:
                i = self.control(data, i)
            except _Truncated:
                self.marker("truncated", f"[truncated {hex_bytes(data, start, n)}]",
                            f"[truncated {command_name(data, start, n)}]")
                break
            except Exception as exc:  # a bug here must not lose the preview
                self.marker("unknown", f"[! {hex_bytes(data, start, start + 3)}]",
                            f"[preview error at byte {start}: {type(exc).__name__}]")
                i = start + 1
            if i <= start:
                i = start + 1
        if not self.stopped:
            if self.line:
                self.print_line()
            self._flush_pending()
        return self.receipt

    @staticmethod
    def need(data: bytes, i: int, count: int) -> None:
        if i + count > len(data):
            raise _Truncated

    def control(self, data: bytes, i: int) -> int:
        b = data[i]
        if b == LF:
            self.print_line()
            return i + 1
        if b in (CR, NUL, CAN, FF):
            return i + 1
        if b == HT:
            self.tab()
            return i + 1
        if b in (ESC, GS, FS):
            self.need(data, i, 2)
            table = {ESC: self._esc, GS: self._gs, FS: self._fs}[b]
            handler = table.get(data[i + 1])
            if handler is None:
                self.unknown(data, i, i + 2)
                return i + 2
            return handler(data, i + 2)
        if b == DLE:
            return self.dle(data, i)
        self.marker("unknown", f"[? {b:02X}]", f"[unknown control {b:02X}]")
        return i + 1

    def tab(self) -> None:
        step = (self.cells["A"][0] + self.char_spacing) * 8
        stops = self.tabs if self.tabs is not None else [step * k for k in range(1, 33)]
        for stop in stops:
            if stop > self.x:
                if stop <= self.area:
                    if not self.line:
                        self.line_align = self.align
                    self.x = stop
                    self.extent = max(self.extent, stop)
                return

    # ------------------------------------------------------------------ tables
    def _esc_table(self) -> dict[int, Callable[[bytes, int], int]]:
        def one(fn):
            def handler(data: bytes, i: int) -> int:
                self.need(data, i, 1)
                fn(data[i])
                return i + 1
            return handler

        def skip(count: int):
            def handler(data: bytes, i: int) -> int:
                self.need(data, i, count)
                return i + count
            return handler

        def reset(data: bytes, i: int) -> int:
            if self.line:
                self.marker("notice", "[ESC @ cleared the line buffer]",
                            "[ESC @ cleared unprinted text]")
                self.line = []
            self.reset()
            return i

        def print_mode(n: int) -> None:
            self.font = "B" if n & 1 else "A"
            self.bold = bool(n & 8)
            self.hmul = 2 if n & 16 else 1
            self.wmul = 2 if n & 32 else 1
            self.underline = 1 if n & 128 else 0
            self._restyle()

        def bold(n: int) -> None:
            self.bold = bool(n & 1)
            self._restyle()

        def underline(n: int) -> None:
            if n in (0, 1, 2, 48, 49, 50):
                self.underline = n & 3
                self._restyle()

        def font(n: int) -> None:
            if n in (0, 48):
                self.font = "A"
            elif n in (1, 2, 3, 4, 49, 50, 51, 52, 97, 98):
                self.font = "B"
            self._restyle()

        def align(n: int) -> None:
            if n in (0, 1, 2, 48, 49, 50):
                self.align = n & 3
                if not self.line:
                    self.line_align = self.align

        def feed_lines(data: bytes, i: int) -> int:
            self.need(data, i, 1)
            n = data[i]
            if self.line:
                self.print_line()
                n -= 1
            if n > 0:
                self.feed(n * self.spacing, n)
            return i + 1

        def feed_dots(data: bytes, i: int) -> int:
            self.need(data, i, 1)
            n = data[i]
            if self.line:
                self.print_line(height=n)
            else:
                self.feed(n, (n + self.spacing // 2) // self.spacing if self.spacing else 0)
            return i + 1

        def spacing_default(data: bytes, i: int) -> int:
            self.spacing = 30 * self.k // 8
            return i

        def spacing(n: int) -> None:
            self.spacing = n

        def code_table(n: int) -> None:
            if n not in codepages.TABLES:
                self.warn(f"ESC t {n}: code table not known, text decoded as PC437")
            self.table = n
            self.chars = _printable_table(n)

        def char_spacing(n: int) -> None:
            self.char_spacing = n

        def abs_pos(data: bytes, i: int) -> int:
            self.need(data, i, 2)
            pos = data[i] + 256 * data[i + 1]
            if pos <= self.area:
                if not self.line:
                    self.line_align = self.align
                self.x = pos
                self.extent = max(self.extent, pos)
            return i + 2

        def rel_pos(data: bytes, i: int) -> int:
            self.need(data, i, 2)
            v = data[i] + 256 * data[i + 1]
            if v >= 0x8000:
                v -= 0x10000
            pos = self.x + v
            if 0 <= pos <= self.area:
                self.x = pos
                self.extent = max(self.extent, pos)
            return i + 2

        def tabs(data: bytes, i: int) -> int:
            stops = []
            step = self.cells[self.font][0] + self.char_spacing
            j = i
            while True:
                self.need(data, j, 1)
                n = data[j]
                j += 1
                if n == 0:
                    break
                if len(stops) < 32 and (not stops or n * step > stops[-1]):
                    stops.append(n * step)
                if j - i > 64:
                    break
            self.tabs = stops
            return j

        def pulse(data: bytes, i: int) -> int:
            self.need(data, i, 3)
            m, t1, t2 = data[i], data[i + 1], data[i + 2]
            pin = m & 1
            self.marker("drawer", f"[drawer pulse pin {pin}]",
                        f"[drawer pulse pin {pin}, {t1 * 2} ms on, {t2 * 2} ms off]")
            return i + 3

        def beep(data: bytes, i: int) -> int:
            self.need(data, i, 2)
            n, t = data[i], data[i + 1]
            self.marker("beep", f"[beep x{n}]", f"[beep x{n}, {t * 50} ms]")
            return i + 2

        def bit_image(data: bytes, i: int) -> int:
            self.need(data, i, 3)
            m, cols = data[i], data[i + 1] + 256 * data[i + 2]
            rows = 1 if m in (0, 1) else 3
            size = cols * rows
            self.need(data, i + 3, size)
            self.inline_image(data[i + 3:i + 3 + size], m, cols, rows)
            return i + 3 + size

        def user_chars(data: bytes, i: int) -> int:
            self.need(data, i, 3)
            y, c1, c2 = data[i], data[i + 1], data[i + 2]
            j = i + 3
            for _ in range(max(0, c2 - c1 + 1)):
                self.need(data, j, 1)
                x = data[j]
                self.need(data, j + 1, x * y)
                j += 1 + x * y
            self.warn("user-defined characters (ESC &) are not drawn")
            return j

        def paren(data: bytes, i: int) -> int:        # ESC ( fn pL pH ...
            self.need(data, i, 3)
            fn, length = data[i], data[i + 1] + 256 * data[i + 2]
            self.need(data, i + 3, length)
            if fn == ord("A"):
                self.marker("beep", "[beep]", "[beep]")
            return i + 3 + length

        def cut_partial(data: bytes, i: int) -> int:
            self.cut(True)
            return i

        def cut_full(data: bytes, i: int) -> int:
            self.cut(False)
            return i

        def page_mode(data: bytes, i: int) -> int:
            self.warn("page mode (ESC L) is not emulated: shown as standard mode")
            return i

        def nothing(data: bytes, i: int) -> int:
            return i

        ignore1 = one(lambda n: None)
        return {
            0x40: reset, ord("!"): one(print_mode), ord("E"): one(bold),
            ord("G"): one(bold), ord("-"): one(underline), ord("M"): one(font),
            ord("a"): one(align), ord("d"): feed_lines, ord("J"): feed_dots,
            ord("K"): ignore1, ord("e"): ignore1, ord("2"): spacing_default,
            ord("3"): one(spacing), ord("t"): one(code_table), ord(" "): one(char_spacing),
            ord("$"): abs_pos, ord("\\"): rel_pos, ord("D"): tabs, ord("p"): pulse,
            ord("B"): beep, ord("*"): bit_image, ord("&"): user_chars, ord("("): paren,
            ord("i"): cut_full, ord("m"): cut_partial, ord("L"): page_mode,
            ord("S"): nothing, FF: nothing, ord("v"): nothing,
            ord("c"): skip(2), ord("r"): ignore1, ord("="): ignore1, ord("R"): ignore1,
            ord("U"): ignore1, ord("V"): ignore1, ord("{"): ignore1, ord("%"): ignore1,
            ord("?"): ignore1, ord("T"): ignore1, ord("u"): ignore1, ord("W"): skip(8),
            ord("C"): ignore1, ord("l"): ignore1, ord("Q"): ignore1,
        }

    def _gs_table(self) -> dict[int, Callable[[bytes, int], int]]:
        def one(fn):
            def handler(data: bytes, i: int) -> int:
                self.need(data, i, 1)
                fn(data[i])
                return i + 1
            return handler

        def skip(count: int):
            def handler(data: bytes, i: int) -> int:
                self.need(data, i, count)
                return i + count
            return handler

        def size(n: int) -> None:
            self.wmul = ((n >> 4) & 7) + 1
            self.hmul = (n & 7) + 1
            self._restyle()

        def inverse(n: int) -> None:
            self.inverse = bool(n & 1)
            self._restyle()

        def margin(data: bytes, i: int) -> int:
            self.need(data, i, 2)
            if not self.line:
                self.margin = min(data[i] + 256 * data[i + 1], self.dots - 1)
            return i + 2

        def area(data: bytes, i: int) -> int:
            self.need(data, i, 2)
            if not self.line:
                self.area_setting = max(1, data[i] + 256 * data[i + 1])
            return i + 2

        def bar_height(n: int) -> None:
            self.bar_height = max(1, n)

        def bar_width(n: int) -> None:
            if 1 <= n <= 6:
                self.bar_width = n
            elif 68 <= n <= 76:   # some printers: 0.5-dot steps, shown rounded
                self.bar_width = max(1, (n - 64) // 2)

        def hri(n: int) -> None:
            if n in (0, 1, 2, 3, 48, 49, 50, 51):
                self.hri_pos = n & 3

        def hri_font(n: int) -> None:
            self.hri_font = "B" if n in (1, 49) else "A"

        def cut(data: bytes, i: int) -> int:
            self.need(data, i, 1)
            m = data[i]
            if m in (0, 48, 1, 49):
                self.cut(m in (1, 49))
                return i + 1
            if m in (65, 66, 97, 98, 103, 104):
                self.need(data, i, 2)
                self.end_line()
                self.feed(data[i + 1], 0)
                self.cut(m in (66, 98, 104))
                return i + 2
            self.unknown(data, i - 2, i + 1)
            return i + 1

        def raster(data: bytes, i: int) -> int:
            self.need(data, i, 1)
            if data[i] != 0x30:
                self.unknown(data, i - 2, i + 1)
                return i + 1
            self.need(data, i + 1, 5)
            m = data[i + 1]
            xb = data[i + 2] + 256 * data[i + 3]
            rows = data[i + 4] + 256 * data[i + 5]
            j = i + 6
            self.need(data, j, xb * rows)
            self.raster(data[j:j + xb * rows], xb * 8, rows, m, "GS v 0")
            return j + xb * rows

        def barcode(data: bytes, i: int) -> int:
            self.need(data, i, 1)
            m = data[i]
            if m <= 6:
                end = data.find(b"\x00", i + 1)
                if end < 0:
                    raise _Truncated
                self.barcode(m, data[i + 1:end])
                return end + 1
            if 65 <= m <= 79:
                self.need(data, i + 1, 1)
                n = data[i + 1]
                self.need(data, i + 2, n)
                self.barcode(m, data[i + 2:i + 2 + n])
                return i + 2 + n
            self.unknown(data, i - 2, i + 1)
            return i + 1

        def paren(data: bytes, i: int) -> int:        # GS ( fn pL pH ...
            self.need(data, i, 3)
            fn, length = data[i], data[i + 1] + 256 * data[i + 2]
            j = i + 3
            self.need(data, j, length)
            body = data[j:j + length]
            if fn == ord("k"):
                self.two_d(body)
            elif fn == ord("L"):
                self.graphics(body)
            return j + length

        def graphics8(data: bytes, i: int) -> int:    # GS 8 L p1 p2 p3 p4 ...
            self.need(data, i, 5)
            if data[i] != ord("L"):
                self.unknown(data, i - 2, i + 1)
                return i + 1
            length = int.from_bytes(data[i + 1:i + 5], "little")
            j = i + 5
            self.need(data, j, length)
            self.graphics(data[j:j + length])
            return j + length

        def define_image(data: bytes, i: int) -> int:  # GS * x y d
            self.need(data, i, 2)
            size = data[i] * data[i + 1] * 8
            self.need(data, i + 2, size)
            return i + 2 + size

        def print_defined(data: bytes, i: int) -> int:
            self.need(data, i, 1)
            self.marker("notice", "[downloaded bit image]", "[downloaded bit image]")
            return i + 1

        def counter(data: bytes, i: int) -> int:       # GS C 0/1/2/; ...
            self.need(data, i, 1)
            sub = data[i]
            count = {0x30: 2, 0: 2, 0x31: 6, 1: 6, 0x32: 2, 2: 2}.get(sub)
            if count is None:
                if sub == ord(";"):
                    end = data.find(b";", i + 1)
                    return (end + 1) if end >= 0 else len(data)
                self.unknown(data, i - 2, i + 1)
                return i + 1
            self.need(data, i + 1, count)
            return i + 1 + count

        def var_raster(data: bytes, i: int) -> int:    # GS Q 0 m xL xH yL yH d
            self.need(data, i, 6)
            xb = data[i + 2] + 256 * data[i + 3]
            rows = data[i + 4] + 256 * data[i + 5]
            j = i + 6
            self.need(data, j, xb * rows)
            self.raster(data[j:j + xb * rows], xb * 8, rows, data[i + 1], "GS Q 0")
            return j + xb * rows

        def nothing(data: bytes, i: int) -> int:
            return i

        ignore1 = one(lambda n: None)
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

    def _fs_table(self) -> dict[int, Callable[[bytes, int], int]]:
        def skip(count: int):
            def handler(data: bytes, i: int) -> int:
                self.need(data, i, count)
                return i + count
            return handler

        def nv_print(data: bytes, i: int) -> int:
            self.need(data, i, 2)
            self.end_line()
            text = f"[NV bit image {data[i]}]"
            self.marker("notice", text, text)
            return i + 2

        def nv_define(data: bytes, i: int) -> int:
            self.need(data, i, 1)
            j = i + 1
            for _ in range(data[i]):
                self.need(data, j, 4)
                size = (data[j] + 256 * data[j + 1]) * (data[j + 2] + 256 * data[j + 3]) * 8
                self.need(data, j + 4, size)
                j += 4 + size
            return j

        def paren(data: bytes, i: int) -> int:
            self.need(data, i, 3)
            length = data[i + 1] + 256 * data[i + 2]
            self.need(data, i + 3, length)
            return i + 3 + length

        return {ord("p"): nv_print, ord("q"): nv_define, ord("("): paren,
                ord("&"): skip(0), ord("."): skip(0), ord("!"): skip(1), ord("-"): skip(1),
                ord("C"): skip(1), ord("S"): skip(2), ord("W"): skip(1), ord("2"): skip(74),
                ord("?"): skip(2)}

    def dle(self, data: bytes, i: int) -> int:
        self.need(data, i, 2)
        c = data[i + 1]
        if c in (0x04, 0x05):                     # DLE EOT n / DLE ENQ n: status
            self.need(data, i, 3)
            return i + 3
        if c == 0x14:                             # DLE DC4 fn ...
            self.need(data, i, 3)
            fn = data[i + 2]
            count = {1: 2, 2: 2, 3: 2, 7: 3, 8: 7}.get(fn)
            if count is None:
                self.unknown(data, i, i + 3)
                return i + 3
            self.need(data, i + 3, count)
            if fn == 1:
                m, t = data[i + 3], data[i + 4]
                self.marker("drawer", f"[drawer pulse pin {m & 1}]",
                            f"[drawer pulse pin {m & 1}, {t * 100} ms]")
            return i + 3 + count
        self.unknown(data, i, i + 2)
        return i + 2

    # ------------------------------------------------------------------ blocks
    def cut(self, partial: bool) -> None:
        self.end_line()
        self.add(Cut(partial, 16 * self.k // 8))

    def _image_from_bits(self, bits: bytes, width: int, rows: int):
        from PIL import Image

        return Image.frombytes("1", (width, rows), bits.translate(_INVERT))

    def raster(self, bits: bytes, width: int, rows: int, m: int, source: str) -> None:
        self.end_line()
        if width == 0 or rows == 0:
            return
        from PIL import Image

        sx = 2 if m & 1 else 1
        sy = 2 if m & 2 else 1
        room = max(0, self.max_height - self.total)
        keep_rows = min(rows, room // sy + 1)
        if keep_rows < rows:
            bits = bits[:keep_rows * (width // 8)]
        img = self._image_from_bits(bits, width, keep_rows)
        limit = -(-self.area // sx)
        if width > limit:
            img = img.crop((0, 0, limit, keep_rows))
            self.warn(f"{source}: image {width} dots wide is wider than the paper")
        if sx != 1 or sy != 1:
            img = img.resize((img.size[0] * sx, img.size[1] * sy), Image.NEAREST)
        w, h = img.size
        self.add(Raster(img, self.place_x(w), w, h, source))

    def inline_image(self, bits: bytes, m: int, cols: int, rows: int) -> None:
        if cols == 0:
            return
        from PIL import Image

        img = self._image_from_bits(bits, rows * 8, cols).transpose(Image.TRANSPOSE)
        sx = 2 if m in (0, 32) else 1
        sy = 3 * self.k // 8 if rows == 1 else self.k // 8
        if sx != 1 or sy != 1:
            img = img.resize((min(cols * sx, self.dots), rows * 8 * sy), Image.NEAREST)
        w = img.size[0]
        if self.x + w > self.area and self.line:
            self.print_line()
        if not self.line:
            self.line_align = self.align
        self.line.append(("i", img, self.x))
        self.x += w
        self.extent = max(self.extent, self.x)

    def graphics(self, body: bytes) -> None:
        """GS ( L / GS 8 L: buffered raster graphics (fn 112 store, fn 50 print)."""
        if len(body) < 2:
            return
        fn = body[1]
        if fn == 112 and len(body) >= 10:
            a, bx, by = body[2], body[3], body[4]
            width = body[6] + 256 * body[7]
            rows = body[8] + 256 * body[9]
            bits = body[10:]
            row_bytes = (width + 7) // 8
            if a not in (48, 52) or row_bytes * rows == 0:
                return
            bits = bits[:row_bytes * rows]
            if len(bits) < row_bytes * rows:
                return
            self.graphic = (bits, row_bytes * 8, rows, (2 if bx == 2 else 1),
                            (2 if by == 2 else 1))
        elif fn in (2, 50):
            if self.graphic is not None:
                bits, width, rows, sx, sy = self.graphic
                self.graphic = None
                self.raster(bits, width, rows, (1 if sx == 2 else 0) | (2 if sy == 2 else 0),
                            "GS ( L")
        elif fn in (69, 85):
            self.end_line()
            text = "[NV graphics]" if fn == 69 else "[downloaded graphics]"
            self.marker("notice", text, text)

    def two_d(self, body: bytes) -> None:
        """GS ( k: 2D codes. QR (cn 49) is stored and printed; others are markers."""
        if len(body) < 2:
            return
        cn, fn = body[0], body[1]
        params = body[2:]
        if cn != 49:
            if fn == 81:
                name = _2D_NAMES.get(cn, f"2D code {cn}")
                self.end_line()
                self.marker("notice", f"[{name} not drawn]", f"[{name}]")
            return
        if fn == 65 and params:
            self.qr_model = 1 if params[0] == 49 else 2
        elif fn == 67 and params:
            if 1 <= params[0] <= 16:
                self.qr_module = params[0]
        elif fn == 69 and params:
            if params[0] in (48, 49, 50, 51):
                self.qr_ec = _CORRECTION[params[0]]
        elif fn == 80 and params:
            self.qr_data = bytes(params[1:])
        elif fn == 81:
            self.print_qr()

    def print_qr(self) -> None:
        self.end_line()
        data = self.qr_data
        if not data:
            return
        module = self.qr_module
        key = (data, self.qr_ec, module)
        img = self.qr_last[1] if self.qr_last and self.qr_last[0] == key else None
        if img is None:
            if self.qr_budget < len(data):
                self.marker("notice", "[QR code not drawn: too much QR data]",
                            "[QR not drawn: too much QR data in one job]")
                return
            self.qr_budget -= len(data)
            try:
                matrix = symbols.qr_matrix(data, self.qr_ec)
            except ValueError as exc:
                self.marker("notice", "[QR code not printable]", f"[QR not printable: {exc}]")
                return
            from PIL import Image

            n = len(matrix)
            raw = bytes(0 if dark else 255 for row in matrix for dark in row)
            img = Image.frombytes("L", (n, n), raw).resize((n * module, n * module),
                                                           Image.NEAREST).convert("1")
            self.qr_last = (key, img)
        side = img.size[0]
        if side > self.area:
            self.warn(f"QR code {side} dots wide is wider than the paper")
        quiet = 2 * module
        self.add(QRCode(data, module, self.qr_ec, img, self.place_x(side),
                        side + quiet))

    def barcode(self, m: int, data: bytes) -> None:
        self.end_line()
        sym = symbols.SYMBOLOGIES.get(m, f"m{m}")
        problem = ""
        try:
            modules, hri = symbols.barcode_modules(sym, data)
        except ValueError as exc:
            modules, hri, problem = "", data.decode("latin-1"), str(exc)
        if sym == "code128" and problem:
            hri = data[2:].decode("latin-1") if data[:1] == b"{" else hri
        mw = self.bar_width
        width = len(modules) * mw
        if modules and width > self.area:
            problem = f"{width} dots wide, wider than the paper"
        hri_h = self.cells[self.hri_font][1] + 2
        if problem:
            height = self.marker_height
        else:
            height = self.bar_height + hri_h * ((self.hri_pos & 1) + (self.hri_pos >> 1))
        self.add(Barcode(sym, bytes(data), hri.replace("\x00", ""), "" if problem else modules,
                         mw, self.bar_height, self.hri_pos, self.hri_font,
                         self.place_x(width if not problem else 0), height, problem))
