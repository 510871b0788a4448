"""QR geometry and QR codes drawn as bitmaps (printers without ``GS ( k``).

Uses the ``qrcode`` package (a python-escpos dependency) for the symbol and
Pillow for drawing; imported lazily.
"""
from __future__ import annotations

from typing import Any

_QRCODE_EC = {"L": 1, "M": 0, "Q": 3, "H": 2}   # qrcode.constants values


def qr_version(data: str, correction: str) -> int:
    """Smallest version holding ``data`` in byte mode (an upper bound)."""
    from qrcode.util import BIT_LIMIT_TABLE

    n = len(data.encode("utf-8", "surrogatepass"))
    limits = BIT_LIMIT_TABLE[_QRCODE_EC[correction]]
    for version in range(1, 41):
        if 4 + (8 if version < 10 else 16) + 8 * n <= limits[version]:
            return version
    return 40


def native_module_size(data: str, correction: str, pixel_width: int) -> int:
    """Module size (1-16 dots) so the native code is at most ``pixel_width``."""
    modules = 17 + 4 * qr_version(data, correction)
    return max(1, min(16, pixel_width // modules))


def qr_bitmap(data: str, correction: str, pixel_width: int, circle: bool,
              logo: str | None) -> Any:
    """Mode '1' bitmap of the code, whole modules, at most ``pixel_width``."""
    import qrcode
    from PIL import Image, ImageDraw

    from . import images

    qr = qrcode.QRCode(version=None, box_size=1, border=0,
                       error_correction=_QRCODE_EC[correction])
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    box = max(1, pixel_width // n)
    side = n * box
    if circle and box >= 3:
        img = Image.new("1", (side, side), 1)
        draw = ImageDraw.Draw(img)
        for y, row in enumerate(matrix):
            for x, dark in enumerate(row):
                if dark:
                    draw.ellipse((x * box, y * box, x * box + box - 1,
                                  y * box + box - 1), fill=0)
    else:
        raw = bytes(0 if dark else 255 for row in matrix for dark in row)
        img = Image.frombytes("L", (n, n), raw).resize(
            (side, side), Image.NEAREST).convert("1", dither=Image.Dither.NONE)
    if logo:
        im = images.open_image(images.decode_base64(logo))
        lw = max(1, side // 4)
        size = images.target_size(im.size, lw, lw)
        mark = images.threshold(images.to_gray(im, size, False), 128)
        x, y = (side - size[0]) // 2, (side - size[1]) // 2
        img.paste(1, (x - box, y - box, x + size[0] + box, y + size[1] + box))
        img.paste(mark, (x, y))
    return img
