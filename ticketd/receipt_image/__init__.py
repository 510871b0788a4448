"""Receipt preview: ESC/POS bytes -> a picture (PNG) and text, sans-IO.

``interpret`` parses the bytes ticketd sends into a :class:`Receipt` (lines,
images, QR codes, barcodes, cuts, drawer pulses, markers for unknown or
truncated commands); ``render_png`` and ``render_text`` are its two views.
Nothing here raises for bad input: any byte string gives a receipt.
Pillow (and ``qrcode``/``python-barcode`` tables) are imported lazily.
"""
from __future__ import annotations

from typing import Any

from ticketd.paper import DEFAULT_DOTS, DEFAULT_DPI

from .model import (Barcode, Cut, Feed, Glyph, InlineImage, Marker, QRCode, Raster,
                    Receipt, Style, TextLine)

__all__ = ["interpret", "render_image", "render_png", "render_text", "to_png", "Receipt",
           "Style", "Glyph", "InlineImage", "TextLine", "Feed", "Raster", "QRCode",
           "Barcode", "Cut", "Marker", "MAX_HEIGHT"]

MAX_HEIGHT = 20000


def interpret(data: bytes, *, dots: int = DEFAULT_DOTS, code_table: str | None = None,
              dpi: int = DEFAULT_DPI, max_height: int = MAX_HEIGHT) -> Receipt:
    """Interpret ESC/POS ``data`` for paper ``dots`` wide.

    ``code_table`` (e.g. "WPC1252", "PC850", "cp858") is the table the printer
    uses until the job selects one with ``ESC t`` (default PC437, like a
    printer after power-on; ``ESC @`` goes back to it). ``dpi`` scales the
    fonts (203, 300 or 600). The receipt stops at ``max_height`` dots.
    """
    from .interpreter import Interpreter

    return Interpreter(dots, dpi=dpi, code_table=code_table, max_height=max_height).run(data)


def render_image(data: bytes | Receipt, dots: int = DEFAULT_DOTS, **kw: Any) -> Any:
    """The receipt as a Pillow image (mode "1", ``dots`` wide)."""
    from .draw import draw

    receipt = data if isinstance(data, Receipt) else interpret(data, dots=dots, **kw)
    return draw(receipt)


def render_png(data: bytes | Receipt, dots: int = DEFAULT_DOTS, **kw: Any) -> bytes:
    """The receipt as PNG bytes (``dots`` wide, height grows with the content)."""
    return to_png(render_image(data, dots, **kw))


def render_text(data: bytes | Receipt, dots: int = DEFAULT_DOTS, **kw: Any) -> list[str]:
    """The receipt as text lines (markers for what is not text)."""
    receipt = data if isinstance(data, Receipt) else interpret(data, dots=dots, **kw)
    return receipt.text_lines()


def to_png(image: Any) -> bytes:
    """Encode a Pillow image as PNG bytes."""
    from .draw import to_png as _to_png

    return _to_png(image)
