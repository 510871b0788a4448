"""Codes on the receipt: QR (``GS ( k``, cn 49) and 1D barcodes (``GS k``).

A QR code is stored (``fn 80``) with its model, module size and error
correction and drawn on ``fn 81``; other 2D symbologies are markers. The bar
height, module width and HRI position/font set by ``GS h``/``w``/``H``/``f``
shape the barcode. Encoding QR data is slow, so each job has a budget of bytes
and a QR printed again with the same data is drawn once.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import symbols
from .model import Barcode, QRCode

if TYPE_CHECKING:
    from .interpreter import Interpreter

QR_BUDGET = 16 * 1024   # QR encoding costs ~0.1 ms per byte: bound it per job
_CORRECTION = {48: "L", 49: "M", 50: "Q", 51: "H", 0: "L", 1: "M", 2: "Q", 3: "H"}
_2D_NAMES = {48: "PDF417", 50: "MaxiCode", 51: "GS1 DataBar", 52: "Composite",
             53: "Aztec", 54: "DataMatrix"}


class Codes:
    """The :class:`~.interpreter.Interpreter`'s QR code and barcode commands (a mixin).

    The methods work on the interpreter's state (QR settings, barcode
    parameters, print area), hence ``self: Interpreter``.
    """

    def two_d(self: Interpreter, body: bytes) -> None:
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

    def print_qr(self: Interpreter) -> None:
        """GS ( k fn 81: draw the stored QR data (or a marker if it cannot be)."""
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

    def barcode(self: Interpreter, m: int, data: bytes) -> None:
        """GS k: a barcode block, or a marker-sized block saying why it is not drawn."""
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
