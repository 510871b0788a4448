"""What the emulated print mechanism makes of a byte stream: how much paper each piece
takes, and which commands ask for an answer once everything before them has printed.

Only as much ESC/POS as that needs: the length of each command (so that a 0x0A inside an
image or a QR code is never read as a line feed), the commands that move the paper, and the
three whose answers come in order (``GS r``, ``GS ( H`` fn 48, ``GS a``). A command cut by
a read boundary waits for the rest. ``DLE EOT`` never gets here: it is real-time, answered
as it arrives (``core.py``).
"""

from __future__ import annotations

from typing import Union

import attrs

ESC, GS, FS, LF = 0x1B, 0x1D, 0x1C, 0x0A
DOTS_PER_MM = 203 / 25.4  # the motion unit of a TM-T20 class printer: 1/203 inch
LINE_MM = 25.4 / 6  # the default line spacing, 1/6 inch


@attrs.frozen
class Print:
    """Bytes that go on paper, and how many millimetres of it they take."""

    data: bytes
    mm: float = 0.0


@attrs.frozen
class Request:
    """A command answered once the bytes before it have printed: ``kind`` is "gs_r"
    (``arg`` = n), "process_id" (``arg`` = the 4 id bytes) or "asb" (``arg`` = n)."""

    kind: str
    arg: bytes
    data: bytes


Piece = Union[Print, Request]

# ESC commands by their parameter count (the others take one)
_ESC_FIXED = {0x40: 0, 0x32: 0, 0x3C: 0, 0x0C: 0, 0x53: 0, 0x4C: 0, 0x70: 3, 0x63: 2,
              0x24: 2, 0x5C: 2, 0x57: 8, 0x25: 1}
_GS_FIXED = {0x4C: 2, 0x57: 2, 0x5C: 2, 0x24: 2, 0x50: 2, 0x0C: 0, 0x3A: 0}


class Scanner:
    """Splits one connection's payload into :data:`Piece` s; keeps a cut command."""

    def __init__(self) -> None:
        self._rest = b""
        self.line_mm = LINE_MM

    def feed(self, data: bytes) -> list[Piece]:
        buf = self._rest + data
        out: list[Piece] = []
        text_start = i = 0
        while i < len(buf):
            b = buf[i]
            if b not in (ESC, GS, FS, LF):
                i += 1
                continue
            size, piece = self._command(buf, i)
            if size == 0:  # cut by the read boundary: wait for the rest
                break
            if buf[text_start:i]:
                out.append(Print(buf[text_start:i]))
            out.append(piece if piece is not None else Print(buf[i:i + size]))
            i += size
            text_start = i
        if buf[text_start:i]:
            out.append(Print(buf[text_start:i]))
        self._rest = buf[i:]
        return out

    def flush(self) -> list[Piece]:
        """The stream ended: a command cut short is printed as it is."""
        rest, self._rest = self._rest, b""
        return [Print(rest)] if rest else []

    def _command(self, buf: bytes, i: int) -> tuple[int, Piece | None]:
        """(length, piece) of the command at ``i``; length 0 when it is not all there."""
        b = buf[i]
        if b == LF:
            return 1, Print(buf[i:i + 1], self.line_mm)
        if i + 1 >= len(buf):
            return 0, None
        c = buf[i + 1]
        if b == ESC:
            return self._esc(buf, i, c)
        if b == GS:
            return self._gs(buf, i, c)
        return _fixed(buf, i, 2 + (2 if c == 0x70 else 0))  # FS p n m; FS . FS & ...

    def _esc(self, buf: bytes, i: int, c: int) -> tuple[int, Piece | None]:
        if c == 0x2A:  # ESC * m nL nH d...: a column image
            if i + 5 > len(buf):
                return 0, None
            m, n = buf[i + 2], buf[i + 3] + 256 * buf[i + 4]
            return _fixed(buf, i, 5 + n * (3 if m >= 32 else 1))
        if c == 0x44:  # ESC D n... NUL: tab stops
            end = buf.find(b"\x00", i + 2)
            return (0, None) if end < 0 else (end + 1 - i, None)
        size = 2 + _ESC_FIXED.get(c, 1)
        if i + size > len(buf):
            return 0, None
        n = buf[i + size - 1] if size > 2 else 0
        if c == 0x33:  # ESC 3 n: line spacing n dots
            self.line_mm = n / DOTS_PER_MM
        elif c in (0x32, 0x40):  # ESC 2 (default spacing); ESC @ resets it too
            self.line_mm = LINE_MM
        elif c == 0x64:  # ESC d n: print and feed n lines
            return size, Print(buf[i:i + size], n * self.line_mm)
        elif c == 0x4A:  # ESC J n: print and feed n dots
            return size, Print(buf[i:i + size], n / DOTS_PER_MM)
        return size, None

    def _gs(self, buf: bytes, i: int, c: int) -> tuple[int, Piece | None]:
        if c == 0x28:  # GS ( X pL pH ...
            if i + 5 > len(buf):
                return 0, None
            size = 5 + buf[i + 3] + 256 * buf[i + 4]
            if i + size > len(buf):
                return 0, None
            body = buf[i:i + size]
            if buf[i + 2] == 0x48 and size == 11 and body[5] == 0x30:  # GS ( H fn 48
                return size, Request("process_id", body[7:11], body)
            return size, None
        if c == 0x76:  # GS v 0 m xL xH yL yH d...: a raster image
            if i + 8 > len(buf):
                return 0, None
            m = buf[i + 3]
            x, y = buf[i + 4] + 256 * buf[i + 5], buf[i + 6] + 256 * buf[i + 7]
            size = 8 + x * y
            if i + size > len(buf):
                return 0, None
            return size, Print(buf[i:i + size], y * (2 if m in (2, 3, 50, 51) else 1)
                               / DOTS_PER_MM)
        if c == 0x56:  # GS V m [n]: cut (with a feed of n dots for m >= 65)
            if i + 3 > len(buf):
                return 0, None
            if buf[i + 2] < 65:
                return 3, None
            if i + 4 > len(buf):
                return 0, None
            return 4, Print(buf[i:i + 4], buf[i + 3] / DOTS_PER_MM)
        if c == 0x6B:  # GS k m ...: a barcode
            return _barcode(buf, i)
        if c == 0x38 and buf[i + 2:i + 3] in (b"", b"L"):  # GS 8 L p1..p4 m fn: graphics
            if i + 7 > len(buf):       # the header cut by the read: wait for it
                return 0, None
            return _fixed(buf, i, 7 + int.from_bytes(buf[i + 3:i + 7], "little"))
        if c == 0x2A:  # GS * x y d...: a downloaded bit image
            if i + 4 > len(buf):
                return 0, None
            return _fixed(buf, i, 4 + buf[i + 2] * buf[i + 3] * 8)
        size = 2 + _GS_FIXED.get(c, 1)
        if i + size > len(buf):
            return 0, None
        if c == 0x72:  # GS r n
            return size, Request("gs_r", buf[i + 2:i + 3], buf[i:i + size])
        if c == 0x61:  # GS a n
            return size, Request("asb", buf[i + 2:i + 3], buf[i:i + size])
        return size, None


def _fixed(buf: bytes, i: int, size: int) -> tuple[int, Piece | None]:
    return (0, None) if i + size > len(buf) else (size, None)


def _barcode(buf: bytes, i: int) -> tuple[int, Piece | None]:
    if i + 3 > len(buf):
        return 0, None
    m = buf[i + 2]
    if m <= 6:  # data ends with NUL
        end = buf.find(b"\x00", i + 3)
        return (0, None) if end < 0 else (end + 1 - i, None)
    if i + 4 > len(buf):
        return 0, None
    return _fixed(buf, i, 4 + buf[i + 3])
