"""Images: base64 decode under limits, scaling, dithering and the raster cache.

Pillow is imported inside the functions so that ``import ticketd.documents``
stays cheap. Limits are checked per call from the image header, before any
pixel is decoded (we never touch ``PIL.Image.MAX_IMAGE_PIXELS``).
Atkinson dithering is a loop over the pixels that carry an error (see atkinson).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import threading
from collections import OrderedDict
from typing import Any, Hashable

#: Largest base64 text accepted for one image (characters).
MAX_BASE64_CHARS = 4 * 1024 * 1024
#: Largest decoded image accepted (width x height).
MAX_PIXELS = 4_000_000
_FORMATS = ("PNG", "JPEG", "BMP", "GIF")


class ImageProblem(ValueError):
    """The image cannot be used; the message is shown after ``IMAGE:``."""


def content_key(code: str) -> str:
    """Hash of the base64 text: cache key part that needs no decoding."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def decode_base64(code: str) -> bytes:
    """Decode base64 (an optional ``data:...;base64,`` prefix is allowed)."""
    if len(code) > MAX_BASE64_CHARS:
        raise ImageProblem(f"base64 data larger than {MAX_BASE64_CHARS} bytes")
    if code.startswith("data:") and "," in code:
        code = code.split(",", 1)[1]
    text = "".join(code.split())
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageProblem(f"invalid base64: {exc}") from None


def open_image(raw: bytes) -> Any:
    """Open (header only) and check format and size; returns a PIL image."""
    from PIL import Image

    try:
        im = Image.open(io.BytesIO(raw), formats=_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageProblem(f"refused, decompression bomb: {exc}") from None
    except Exception:  # UnidentifiedImageError, OSError, SyntaxError...
        raise ImageProblem("not a PNG, JPEG, BMP or GIF image") from None
    w, h = im.size
    if w < 1 or h < 1:
        raise ImageProblem("empty image")
    if w * h > MAX_PIXELS:
        raise ImageProblem(
            f"{w}x{h} image refused, more than {MAX_PIXELS} pixels")
    return im


def probe(code: str) -> tuple[int, int]:
    """Decode base64 and header; return (width, height) or raise ImageProblem."""
    return open_image(decode_base64(code)).size


def target_size(size: tuple[int, int], pixel_width: int | None,
                dots: int) -> tuple[int, int]:
    """Printed size: ``pixel_width`` (default: natural) capped at ``dots``."""
    w, h = size
    tw = max(1, min(int(pixel_width or w), dots))
    th = max(1, round(h * tw / w))
    return tw, th


def to_gray(im: Any, size: tuple[int, int], nearest: bool) -> Any:
    """Load, flatten alpha onto white, convert to L and resize."""
    from PIL import Image

    if im.format == "JPEG":
        im.draft("L", size)
    try:
        im.load()
    except Exception as exc:
        raise ImageProblem(f"cannot decode image: {exc}") from None
    if im.mode in ("RGBA", "LA", "PA") or (
            im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        bg.alpha_composite(rgba)
        gray = bg.convert("L")
    else:
        gray = im.convert("L")
    if gray.size != size:
        gray = gray.resize(size, Image.NEAREST if nearest else Image.BILINEAR)
    return gray


def threshold(gray: Any, level: int) -> Any:
    """Black where the gray value is below ``level``; returns mode '1'."""
    from PIL import Image

    lut = [0] * level + [255] * (256 - level)
    return gray.point(lut).convert("1", dither=Image.Dither.NONE)


def _busy_runs(data: bytes, w: int, h: int, level: int) -> list[list[tuple[int, int]]]:
    """Per row, the runs ``(start, stop)`` of pixels that make an error by themselves.

    Black (0) and white (255) pixels without incoming error print as they are and pass no
    error on, at any level from 1 to 255; every other value is busy. Found with
    ``bytes.translate`` and ``bytes.find`` (memchr), not a look at each pixel.
    """
    flat = [0 < level, 255 >= level]
    mask = data.translate(bytes([0 if flat[0] else 1] + [1] * 254 + [0 if flat[1] else 1]))
    rows: list[list[tuple[int, int]]] = [[] for _ in range(h)]
    start = mask.find(1)
    while start >= 0:
        stop = mask.find(0, start)
        if stop < 0:
            stop = len(mask)
        y, x = divmod(start, w)
        while start < stop:                 # a run may go on into the next rows
            end = min(stop, (y + 1) * w)
            rows[y].append((x, end - y * w))
            start, y, x = end, y + 1, 0
        start = mask.find(1, stop)
    return rows


def atkinson(gray: Any, level: int = 128) -> Any:
    """Atkinson dithering (6 neighbours, 1/8 each, 3/4 of the error kept).

    Error diffusion is a recurrence (each pixel's error moves its right neighbours), so
    it cannot be vectorized exactly: its wavefront form in numpy took as long as the loop
    (900 steps of small array operations for a 576x160 logo). It is the loop, then, but
    one that visits only the pixels that can carry an error: the runs of gray pixels,
    the pixels below one that passed an error on, and the two after it. A logo is mostly
    flat black and white: about one pixel in eight is visited. The result is the full
    loop's, byte for byte (a flat row without incoming error is copied, as the full loop
    did, even at level 0).
    """
    from PIL import Image

    w, h = gray.size
    data = gray.tobytes()
    out = bytearray(data)               # pixels not visited print as they are
    busy = _busy_runs(data, w, h, level)
    quirky = not 0 < level <= 255       # where copying a flat row differs from the loop
    e0 = [0] * (w + 3)                  # error from the rows above, at x + 1
    e1 = [0] * (w + 3)
    e2 = [0] * (w + 3)
    zero_row = [0] * (w + 3)
    near1: list[tuple[int, int]] = []   # around the pixels that passed an error on, a row up
    near2: list[tuple[int, int]] = []   # ... two rows up
    for y in range(h):
        base = y * w
        spans = busy[y] + near1 + near2
        near: list[tuple[int, int]] = []
        if quirky and e0 == zero_row and not data[base:base + w].translate(None, b"\x00\xff"):
            spans = []
        elif len(spans) > 1:
            spans.sort()
        lo = hi = -9
        x = ca = cb = 0                 # ca, cb: error this row passes to x, to x + 1
        for start, stop in spans:
            if stop <= x:
                continue
            if start > x:               # nothing is passed on across a gap
                x, ca, cb = start, 0, 0
            while x < stop:
                v = data[base + x] + e0[x + 1] + ca
                if v < level:
                    err = v
                    out[base + x] = 0
                else:
                    err = v - 255
                    out[base + x] = 255
                if -8 < err < 8:
                    ca, cb = cb, 0
                    x += 1
                    continue
                q = err >> 3 if err > 0 else -((-err) >> 3)
                ca, cb = cb + q, q
                e1[x] += q
                e1[x + 1] += q
                e1[x + 2] += q
                e2[x + 1] += q
                if x - 1 > hi:              # x - 1 .. x + 1 of the next rows get error
                    if hi >= 0:
                        near.append((lo, hi))
                    lo = x - 1 if x else 0
                hi = x + 2
                x += 1
                if stop < x + 2:            # and the next two pixels of this row
                    stop = x + 2 if x + 2 < w else w
        if hi >= 0:
            near.append((lo, hi if hi < w else w))
        near1, near2 = near, near1
        e0, e1, e2 = e1, e2, e0
        e2[:] = zero_row
    return Image.frombytes("L", (w, h), bytes(out)).convert(
        "1", dither=Image.Dither.NONE)


def place(bitmap: Any, dots: int, align: str) -> Any:
    """Pad a mode '1' bitmap to the full printable width at ``align``."""
    from PIL import Image

    w, h = bitmap.size
    if w >= dots:
        return bitmap
    x = {"left": 0, "right": dots - w}.get(align, (dots - w) // 2)
    canvas = Image.new("1", (dots, h), 1)
    canvas.paste(bitmap, (x, 0))
    return canvas


class ImageCache:
    """Thread-safe LRU of converted rasters, bounded by bytes and entries.

    Keys are content hash + conversion parameters; values are immutable
    (bytes or frozen objects) and are given their size by the caller.
    """

    def __init__(self, max_bytes: int = 32 * 1024 * 1024,
                 max_entries: int = 512) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        """The cached value or None; a hit makes the entry most recent."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Store ``value`` (``size`` bytes), evicting least recently used."""
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._data[key] = (value, size)
            self._bytes += size
            while self._data and (self._bytes > self.max_bytes
                                  or len(self._data) > self.max_entries):
                _, (_, s) = self._data.popitem(last=False)
                self._bytes -= s

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """Bytes held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)
