"""Paper geometry: how many dots a receipt is wide and how wide a character is, at a dpi.

One home for what the document layout, the receipt picture and the printers all need to
agree on: a document laid out for 80 mm paper must be drawn, and previewed, as wide.

Printable widths follow common thermal heads (8 dots/mm at 203 dpi): 58 mm paper -> 48 mm
printable, 72 -> 64, 80 -> 72, 100 -> 92, 112 -> 104, 120 -> 112. Font A is 12 x 24 dots
and font B 9 x 17 at 203 dpi, scaled with the dpi (300 dpi: 18 x 36 and 13 x 25), so that
characters per line do not depend on the dpi.
"""

from __future__ import annotations

import functools

PAPER_WIDTHS = (58, 72, 80, 100, 112, 120)
DPIS = (203, 300, 600)
DEFAULT_PAPER_WIDTH = 80
DEFAULT_DPI = 203

#: paper width (mm) -> printable width (mm)
PRINTABLE_MM = {58: 48, 72: 64, 80: 72, 100: 92, 112: 104, 120: 112}
#: dpi -> dots per mm
DOTS_PER_MM = {203: 8, 300: 12, 600: 24}
#: font -> (width, height) of one character cell in dots at 203 dpi
FONT_CELLS = {"A": (12, 24), "B": (9, 17)}


def dots_per_mm(dpi: int) -> int:
    """8, 12 or 24; a dpi ticketd does not know is drawn as 203 (a printer's commonest)."""
    return DOTS_PER_MM.get(dpi, 8)


def printable_dots(paper_width_mm: int, dpi: int) -> int:
    """The printable width in dots of ``paper_width_mm`` paper (one of PAPER_WIDTHS)."""
    return PRINTABLE_MM[paper_width_mm] * dots_per_mm(dpi)


DEFAULT_DOTS = printable_dots(DEFAULT_PAPER_WIDTH, DEFAULT_DPI)  # 576


def scaled(dots_at_203: int, dpi: int) -> int:
    """A length given in dots at 203 dpi, in dots at ``dpi`` (rounded down)."""
    return dots_at_203 * dots_per_mm(dpi) // 8


@functools.lru_cache(maxsize=64)  # the layout asks for every run of text
def font_cell(font: str, dpi: int) -> tuple[int, int]:
    """Width and height in dots of one character of ``font`` ("A" or "B") at ``dpi``."""
    width, height = FONT_CELLS[font]
    return scaled(width, dpi), scaled(height, dpi)


def chars_per_line(dots: int, font: str, dpi: int) -> int:
    """How many characters of ``font`` a line ``dots`` wide holds, counted with the unrounded
    scaled width (13.5 dots for font B at 300 dpi): the same count at every dpi."""
    return dots * 8 // (FONT_CELLS[font][0] * dots_per_mm(dpi))
