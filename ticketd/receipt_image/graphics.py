"""Images on the receipt: raster (``GS v 0``, ``GS Q 0``, ``GS ( L``) and ``ESC *``.

Raster images are blocks of their own, placed by the alignment and cut to the
print area; ``ESC *`` bit images are column data that sit in the text line
like characters. Black pixels are 0 in the Pillow images (mode "1").
Pillow is imported only when an image is met.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import Raster

if TYPE_CHECKING:
    from .interpreter import Interpreter

_INVERT = bytes(255 - b for b in range(256))


class Graphics:
    """The :class:`~.interpreter.Interpreter`'s image commands (a mixin).

    The methods work on the interpreter's state (line buffer, area, height
    left), hence ``self: Interpreter``.
    """

    def _image_from_bits(self: Interpreter, bits: bytes, width: int, rows: int) -> Any:
        """ESC/POS bits (1 = black) as a Pillow mode "1" image (0 = black)."""
        from PIL import Image

        return Image.frombytes("1", (width, rows), bits.translate(_INVERT))

    def raster(self: Interpreter, bits: bytes, width: int, rows: int, m: int, source: str) -> None:
        """A raster block; ``m`` bit 0/1 double width/height; cut to paper and height."""
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

    def inline_image(self: Interpreter, bits: bytes, m: int, cols: int, rows: int) -> None:
        """ESC * column data: an image in the text line (wraps like a character)."""
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

    def graphics(self: Interpreter, body: bytes) -> None:
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
