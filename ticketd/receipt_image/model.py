"""The parsed receipt: what the printer would put on paper, block by block.

Every block knows the vertical space it takes (``height``, in dots) and the
plain-text lines it shows (``text()``), so the picture and the text preview
are two views of the same model. Sizes are dots of the printer's head.
"""
from __future__ import annotations

from typing import Any

import attrs

from ticketd import paper


@attrs.frozen
class Style:
    """Character style in effect for one character."""

    font: str = "A"          # "A" or "B"
    bold: bool = False
    underline: int = 0       # 0, 1 or 2 dots
    inverse: bool = False
    width: int = 1           # 1-8
    height: int = 1          # 1-8


PLAIN = Style()


@attrs.frozen
class Glyph:
    """One printed character at ``x`` (dots from the paper's left edge)."""

    char: str
    x: int
    style: Style
    cell_w: int              # base cell (before the width multiplier)
    cell_h: int
    advance: int             # dots the character takes, spacing included


@attrs.frozen
class InlineImage:
    """Bit image data (``ESC *``) inside a text line; black pixels are 0."""

    image: Any               # PIL mode "1"
    x: int


@attrs.frozen
class TextLine:
    """A printed line: characters (and inline bit images) on one baseline."""

    items: tuple             # Glyph | InlineImage, in printing order
    height: int              # paper advance in dots
    ink_height: int          # tallest item, drawn bottom-aligned in the line
    text_line: str           # the line as text (alignment padding included)
    image_sizes: tuple = ()  # (w, h) of inline images, shown as markers

    kind = "line"

    def text(self) -> list[str]:
        out = []
        if self.text_line or not self.image_sizes:
            out.append(self.text_line)
        out += [f"[image {w}x{h}]" for w, h in self.image_sizes]
        return out


@attrs.frozen
class Feed:
    """Paper fed without printing; ``lines`` empty text lines in the preview."""

    height: int
    lines: int

    kind = "feed"

    def text(self) -> list[str]:
        return [""] * self.lines


@attrs.frozen
class Raster:
    """A raster image (``GS v 0``, ``GS ( L``) placed at ``x``."""

    image: Any               # PIL mode "1", black = printed
    x: int
    width: int               # printed size in dots
    height: int
    source: str = "GS v 0"

    kind = "image"

    def text(self) -> list[str]:
        return [f"[image {self.width}x{self.height}]"]


@attrs.frozen
class QRCode:
    """A native QR code (``GS ( k``) drawn from its stored data."""

    data: bytes
    module: int              # dots per module
    correction: str          # L, M, Q, H
    image: Any               # PIL mode "1" (no quiet zone), or None if not encodable
    x: int
    height: int

    kind = "qr"

    @property
    def data_text(self) -> str:
        return self.data.decode("utf-8", "replace")

    def text(self) -> list[str]:
        return [f"[QR: {self.data_text}]"]


@attrs.frozen
class Barcode:
    """A 1D barcode (``GS k``); ``modules`` is its bar pattern ("1" = bar)."""

    symbology: str           # upca, upce, ean13, ean8, code39, itf, codabar, code93, code128
    data: bytes
    hri: str                 # the human readable text
    modules: str             # "" when the pattern could not be made
    module_width: int
    bar_height: int
    hri_position: int        # 0 none, 1 above, 2 below, 3 both
    hri_font: str            # "A" or "B"
    x: int
    height: int
    problem: str = ""        # why it is not drawn ("" when it is)

    kind = "barcode"

    def text(self) -> list[str]:
        if self.problem:
            return [f"[BARCODE {self.symbology}: {self.hri} ({self.problem})]"]
        return [f"[BARCODE {self.symbology}: {self.hri}]"]


@attrs.frozen
class Cut:
    """A paper cut (``GS V``, ``ESC i``, ``ESC m``)."""

    partial: bool
    height: int

    kind = "cut"

    def text(self) -> list[str]:
        return ["--- partial cut ---" if self.partial else "--- cut ---"]


@attrs.frozen
class Marker:
    """Something not printed as such: drawer pulse, beep, unknown command...

    ``kind`` is one of "drawer", "beep", "unknown", "truncated", "limit",
    "notice"; ``label`` is drawn boxed in the picture, ``line`` is the text.
    """

    kind: str
    label: str
    line: str
    height: int

    def text(self) -> list[str]:
        return [self.line]


@attrs.define
class Receipt:
    """The interpreted job: blocks from top to bottom."""

    dots: int
    dpi: int = paper.DEFAULT_DPI
    blocks: list = attrs.Factory(list)
    warnings: list = attrs.Factory(list)
    truncated: bool = False      # stopped at the height limit

    @property
    def height(self) -> int:
        return sum(b.height for b in self.blocks)

    @property
    def chars_per_line(self) -> int:
        return paper.chars_per_line(self.dots, "A", self.dpi)

    def text_lines(self) -> list[str]:
        out: list[str] = []
        for block in self.blocks:
            out += block.text()
        return out

    def of_kind(self, kind: str) -> list:
        return [b for b in self.blocks if b.kind == kind]
