"""ESC/POS interpreter: job bytes -> :class:`~ticketd.receipt_image.model.Receipt`.

A sans-IO model of an Epson-compatible thermal printer in standard mode: a line
buffer that prints on LF (or when full), character styles, alignment, line
spacing, raster and bit images, native QR codes, barcodes, cuts and pulses.
Any byte string is accepted: unknown commands become ``unknown`` markers,
commands cut short by the end of the data a ``truncated`` marker, and the
receipt stops (with a ``limit`` marker) at ``max_height`` dots. Markers never
move printed content: one met in the middle of a line is shown after that line.

Sizes are in dots. Fonts at 203 dpi: A is 12x24, B is 9x17 (scaled with the
dpi: 300 dpi -> 18x36 and 13x25). Motion units are taken to be dots.

This module holds the printer's state, the line buffer and the dispatch loop;
the command tables are :mod:`.esc_commands`, :mod:`.gs_commands` and
:mod:`.fs_commands`, the drawing of images and codes :mod:`.graphics` and
:mod:`.codes`.
"""
from __future__ import annotations

import re

from ticketd import codepages, paper

from .codes import QR_BUDGET, Codes
from .esc_commands import esc_table
from .fs_commands import fs_table
from .graphics import Graphics
from .gs_commands import gs_table
from .model import Cut, Feed, Glyph, InlineImage, Marker, Receipt, Style, TextLine
from .operands import Truncated
from .operands import need as _need

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, FF, CAN, NUL = 0x0A, 0x0D, 0x09, 0x0C, 0x18, 0x00

MAX_HEIGHT = 20000
MAX_BLOCKS = 20000      # zero-height lines (ESC 3 0) must not grow without end
_CTRL = re.compile(rb"[\x00-\x1f]")
_NAMES = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE"}

__all__ = ["Interpreter", "command_name", "hex_bytes", "MAX_HEIGHT", "MAX_BLOCKS", "QR_BUDGET"]


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
    """The first bytes of a command in hex, for the picture's short markers."""
    shown = " ".join(f"{b:02X}" for b in data[start:min(end, start + 4)])
    return shown + (" …" if end - start > 4 else "")


class Interpreter(Graphics, Codes):
    """One job's interpretation; call :meth:`run` once."""

    def __init__(self, dots: int = paper.DEFAULT_DOTS, *, dpi: int = paper.DEFAULT_DPI,
                 code_table: str | None = None, max_height: int = MAX_HEIGHT) -> None:
        self.dots = max(8, int(dots))
        self.k = k = paper.dots_per_mm(dpi)              # dots per mm
        self.cells = {font: paper.font_cell(font, dpi) for font in paper.FONT_CELLS}
        self.col = self.cells["A"][0]
        self.max_height = max_height
        self.receipt = Receipt(dots=self.dots, dpi=dpi if k != 8 else paper.DEFAULT_DPI)
        self.total = 0
        self.stopped = False
        default = codepages.table_number(code_table) if code_table else None
        if code_table and default is None:
            self.receipt.warnings.append(f"unknown code table {code_table!r}: using PC437")
        self.default_table = codepages.POWER_ON if default is None else default
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
        self._esc = esc_table(self)
        self._gs = gs_table(self)
        self._fs = fs_table(self)

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
        self.select_table(self.default_table)
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

    def restyle(self) -> None:
        """A style command ran: the next character gets a new :class:`Style`."""
        self._style = None

    def select_table(self, n: int) -> None:
        """Decode text with code table ``n`` (ESC t, ESC @)."""
        self.table = n
        self.chars = _printable_table(n)

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
            except Truncated:
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

    need = staticmethod(_need)

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

    # ------------------------------------------------------------------ DLE, cut
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

    def cut(self, partial: bool) -> None:
        self.end_line()
        self.add(Cut(partial, 16 * self.k // 8))
