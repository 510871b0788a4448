"""Draw a :class:`~ticketd.receipt_image.model.Receipt` as a Pillow image (mode "1").

Characters are drawn one per cell (font A 12x24, font B 9x17 at 203 dpi), so
a line holds exactly as many characters as on the printer. The glyphs come
from DejaVu Sans Mono when the system has it, else Pillow's built-in font
(scalable since Pillow 10.1), squeezed into the cell when wider.
"""
from __future__ import annotations

import functools
import io
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFont

from ticketd import paper

from .model import Barcode, Cut, Feed, Glyph, InlineImage, Marker, QRCode, Raster, Receipt
from .model import TextLine

_MONO_FONTS = ("DejaVuSansMono.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
               "LiberationMono-Regular.ttf", "FreeMono.ttf")


@functools.lru_cache(maxsize=16)
def _font(size: int) -> Any:
    for name in _MONO_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except Exception:  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _font_for(cell_h: int) -> tuple[Any, int]:
    """A font whose ascent + descent fits ``cell_h``, and its baseline."""
    size = cell_h
    while size > 4:
        font = _font(size)
        try:
            ascent, descent = font.getmetrics()
        except Exception:
            return font, cell_h - 2
        if ascent + descent <= cell_h:
            return font, cell_h - descent
        size -= 1
    font = _font(4)
    return font, cell_h - 1


@functools.lru_cache(maxsize=4096)
def _base_glyph(char: str, cw: int, ch: int, bold: bool) -> Image.Image:
    """Mask (mode "1", 255 = ink) of ``char`` in a ``cw`` x ``ch`` cell."""
    font, baseline = _font_for(ch)
    canvas = Image.new("L", (ch * 3 + cw, ch), 0)
    draw = ImageDraw.Draw(canvas)
    x0 = ch
    try:
        draw.text((x0, baseline), char, fill=255, font=font, anchor="ls")
        adv = font.getlength(char)
    except Exception:
        draw.text((x0, 0), char, fill=255, font=font)
        adv = cw
    if adv <= cw:
        left = int(round(x0 + adv / 2 - cw / 2))
        cell = canvas.crop((left, 0, left + cw, ch))
    else:
        cell = canvas.crop((x0, 0, int(x0 + adv + 0.5), ch)).resize((cw, ch),
                                                                   Image.BILINEAR)
    if bold:
        shifted = ImageChops.offset(cell, 1, 0)
        shifted.paste(0, (0, 0, 1, ch))
        cell = ImageChops.lighter(cell, shifted)
    return cell.point(lambda v: 255 if v >= 100 else 0).convert("1")


@functools.lru_cache(maxsize=4096)
def glyph_mask(char: str, cw: int, ch: int, bold: bool, wmul: int, hmul: int) -> Image.Image:
    base = _base_glyph(char, cw, ch, bold)
    if wmul == 1 and hmul == 1:
        return base
    return base.resize((cw * wmul, ch * hmul), Image.NEAREST)


def _draw_glyph(img: Image.Image, g: Glyph, top: int, ink: int) -> None:
    st = g.style
    w, h = g.cell_w * st.width, g.cell_h * st.height
    y = top + ink - h
    if st.inverse:
        img.paste(0, (g.x, y, g.x + g.advance, y + h))
        fill = 255
    else:
        fill = 0
    if g.char != " ":
        mask = glyph_mask(g.char, g.cell_w, g.cell_h, st.bold, st.width, st.height)
        img.paste(fill, (g.x, y, g.x + w, y + h), mask)
    if st.underline:
        thick = st.underline * max(1, st.height // 2 + (1 if st.height > 1 else 0))
        img.paste(fill, (g.x, y + h - thick, g.x + g.advance, y + h))


def _label(img: Image.Image, text: str, x: int, y: int, cw: int, ch: int,
           fill: int = 0) -> int:
    """Draw ``text`` in cells of ``cw`` x ``ch`` at (x, y); returns its width."""
    for k, c in enumerate(text):
        if c != " ":
            img.paste(fill, (x + k * cw, y, x + (k + 1) * cw, y + ch),
                      glyph_mask(c, cw, ch, False, 1, 1))
    return len(text) * cw


class _Painter:
    def __init__(self, receipt: Receipt) -> None:
        self.r = receipt
        self.cell_a = paper.font_cell("A", receipt.dpi)
        self.cell_b = paper.font_cell("B", receipt.dpi)
        self.img = Image.new("1", (receipt.dots, max(1, receipt.height)), 255)
        self.draw = ImageDraw.Draw(self.img)

    def paint(self) -> Image.Image:
        y = 0
        for block in self.r.blocks:
            try:
                self.block(block, y)
            except Exception as exc:   # never lose the whole picture
                self.boxed(f"[! {type(exc).__name__}]", y, block.height)
            y += block.height
        return self.img

    def block(self, b: Any, y: int) -> None:
        if isinstance(b, TextLine):
            for item in b.items:
                if isinstance(item, Glyph):
                    _draw_glyph(self.img, item, y, b.ink_height)
                elif isinstance(item, InlineImage):
                    self.img.paste(item.image, (item.x, y + b.ink_height - item.image.size[1]))
        elif isinstance(b, Raster):
            self.img.paste(b.image, (b.x, y))
        elif isinstance(b, QRCode):
            self.img.paste(b.image, (b.x, y + b.module))
        elif isinstance(b, Barcode):
            self.barcode(b, y)
        elif isinstance(b, Cut):
            self.cut(b, y)
        elif isinstance(b, Marker):
            self.boxed(b.label, y, b.height)
        elif isinstance(b, Feed):
            pass

    def boxed(self, text: str, y: int, height: int) -> None:
        cw, ch = self.cell_b
        dots = self.r.dots
        room = max(1, (dots - 8) // cw)
        text = text if len(text) <= room else text[:room - 1] + "…"
        w = len(text) * cw + 6
        top = y + max(0, (height - ch - 4) // 2)
        self.draw.rectangle((1, top, min(dots - 2, w), top + ch + 3), outline=0)
        _label(self.img, text, 4, top + 2, cw, ch)

    def barcode(self, b: Barcode, y: int) -> None:
        if not b.modules:
            self.boxed(f"[barcode {b.symbology} {b.hri}: {b.problem}]", y, b.height)
            return
        cw, ch = self.cell_b if b.hri_font == "B" else self.cell_a
        hri_h = ch + 2
        width = len(b.modules) * b.module_width
        bars_top = y + (hri_h if b.hri_position & 1 else 0)
        row = bytes(0 if m == "1" else 255 for m in b.modules for _ in range(b.module_width))
        bars = Image.frombytes("L", (width, 1), row).resize((width, b.bar_height),
                                                            Image.NEAREST).convert("1")
        self.img.paste(bars, (b.x, bars_top))
        tw = len(b.hri) * cw
        tx = b.x + (width - tw) // 2
        if b.hri_position & 1:
            _label(self.img, b.hri, tx, y, cw, ch)
        if b.hri_position & 2:
            _label(self.img, b.hri, tx, bars_top + b.bar_height + 2, cw, ch)

    def cut(self, b: Cut, y: int) -> None:
        mid = y + b.height // 2
        dots = self.r.dots
        for x in range(0, dots, 12):
            self.draw.line((x, mid, x + 6, mid), fill=0)
        label = " partial cut " if b.partial else " cut "
        cw, ch = self.cell_b
        w = len(label) * cw
        x = (dots - w) // 2
        top = mid - ch // 2
        self.img.paste(255, (x, top, x + w, top + ch))
        _label(self.img, label, x, top, cw, ch)


def draw(receipt: Receipt) -> Image.Image:
    """The receipt as a mode "1" image, ``receipt.dots`` wide."""
    return _Painter(receipt).paint()


def to_png(image: Image.Image) -> bytes:
    """Encode ``image`` as PNG bytes."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
