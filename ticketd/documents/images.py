"""Images: base64 decode under limits, scaling, dithering and the raster cache.

Pillow is imported inside the functions so that ``import ticketd.documents``
stays cheap. Limits are checked per call from the image header, before any
pixel is decoded (we never touch ``PIL.Image.MAX_IMAGE_PIXELS``).
Atkinson dithering works on whole wavefronts of pixels at once (see atkinson).
"""
from __future__ import annotations

import array
import base64
import binascii
import hashlib
import io
import sys
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


#: Atkinson on whole wavefronts: one lane of _LANE bits per image row, the lane holding
#: the value + _BIAS (every value the recurrence makes stays within 0 .. 2**10).
_LANE = 16
_BIAS = 512
#: Rows done together: the integers, and the skewed copy, grow with the band's height.
_BAND = 256
#: Flat rows dithered after the last gray one before a band stops: its error has died out
#: by then in most images (and where not, the next band carries it on). At least 2: the
#: rows an error from above reaches.
_TAIL = 8
_FLAT = b"\x00\xff"


def atkinson(gray: Any, level: int = 128) -> Any:
    """Atkinson dithering (6 neighbours, 1/8 each truncated, 3/4 of the error kept).

    Error diffusion is a recurrence: a pixel needs the errors of its two left neighbours
    and of the rows above, so no array operation does a row at once. The pixels of one
    wavefront ``t = x + 2y`` do not depend on each other, though: they are done at once,
    each row a 16-bit lane of one Python integer (SWAR), in ``w + 2h`` steps of some
    twenty-five integer operations, whatever the image shows. A 576x160 logo or photo
    takes 2.3 ms, where the per-pixel loop took 6.5 and 26 ms; numpy would need as many
    steps, of small-array operations that cost more each (its wavefront form took 6 ms).
    Bands of at most _BAND rows keep the integers small; the error of a band's last two
    rows is carried into the next band's first two.

    Logos are mostly flat: rows of only black and white. Such a row that no error reaches
    passes none on (at levels 1-255), so it is its own threshold, which Pillow makes; only
    the runs of rows with gray in them, and the rows their error reaches, are dithered.

    The output is the per-pixel loop's, bit for bit, at every level from 1 to 255. At
    level 0 a flat row (only black and white) that no error reaches is dithered like any
    other row: the loop copied it as it was, which differed from dithering only there.
    """
    from PIL import Image

    if not 0 <= level <= 255:
        raise ValueError(f"level {level} is not 0-255")
    w, h = gray.size
    data = gray.tobytes()
    flat = [not data[y * w:(y + 1) * w].translate(None, _FLAT) for y in range(h)] \
        if level else [False] * h
    chunks: list[bytes] = []
    carry: tuple[list[int], list[int]] | None = None   # None: no error reaches row top
    top = 0
    while top < h:
        if carry is None and flat[top]:
            end = top
            while end < h and flat[end]:
                end += 1
            # 0 stays black and 255 white, with no error: Pillow's threshold at 128
            chunks.append(Image.frombytes("L", (w, end - top), data[top * w:end * w])
                          .convert("1", dither=Image.Dither.NONE).tobytes())
            top = end
            continue
        end = top
        while end < h and end - top < _BAND and not flat[end]:
            end += 1
        end = min(h, end + _TAIL, top + _BAND)     # at least the two rows a carry reaches
        band, carry = _atkinson_band(data[top * w:end * w], w, end - top, level, carry,
                                     end < h)
        if carry is not None and carry[0].count(_BIAS) + carry[1].count(_BIAS) == 2 * w:
            carry = None                           # no error below the band
        chunks += band
        top = end
    return Image.frombytes("1", (w, h), b"".join(chunks))


def _atkinson_band(data: bytes, w: int, h: int, level: int,
                   carry: tuple[list[int], list[int]] | None, more: bool
                   ) -> tuple[list[bytes], tuple[list[int], list[int]] | None]:
    """Rows ``data`` (``h`` of ``w`` pixels) dithered, as packed mode '1' rows. ``carry``:
    the error (+ _BIAS) the band above left to rows 0 and 1; ``more``: return the error
    this band leaves below itself (lanes h and h + 1, two more wavefronts for them)."""
    lanes = h + 2                      # two more: the error that falls below the band
    steps = w + 2 * lanes - 2 if more else w + 2 * h
    size = 2 * lanes                   # bytes of one wavefront
    # Skewed copy of the pixels: wavefront t, lane y holds pixel (t - 2y, y) + _BIAS
    # (little endian: low byte the pixel, high byte 2); outside the image, 0 + _BIAS.
    skew = bytearray(_BIAS.to_bytes(2, "little") * (steps * lanes))
    for y in range(h):
        at = (2 * y * lanes + y) * 2
        row = data[y * w:(y + 1) * w]
        if carry is not None and y < 2:          # pixel + error from the band above
            values = array.array("H", [g + e for g, e in zip(row, carry[y])])
            if sys.byteorder == "big":
                values.byteswap()
            row16 = values.tobytes()
            skew[at:at + size * w:size] = row16[0::2]
            skew[at + 1:at + 1 + size * w:size] = row16[1::2]
        else:
            skew[at:at + size * w:size] = row
    wavefront = memoryview(skew)
    ones = int.from_bytes(b"\x01\x00" * lanes, "little")   # 1 in every lane
    white_at = ((1 << 15) - (level + _BIAS)) * ones       # bit 15 set: value >= level
    sevens = 7 * ones
    below = [(1 << (_LANE * k)) - 1 for k in range(lanes + 1)]   # the lanes under k
    keep = [m & (0x1FF * ones) for m in below]                     # a q's 9 bits there
    bias = [m & ((_BIAS >> 3) * ones) for m in below]              # its bias there
    c0 = c1 = c2 = c3 = 0              # error for wavefronts t .. t + 3
    packed: list[bytes] = []
    left: list[int] = []               # lanes h and h + 1 at every wavefront
    for first in range(0, steps, 8):   # 8 wavefronts give a byte per lane
        whites = 0
        for t in range(first, min(first + 8, steps)):
            v = int.from_bytes(wavefront[t * size:(t + 1) * size], "little") + c0
            if more:
                left.append(v >> (_LANE * h))
            white = ((v + white_at) >> 15) & ones
            err = v - 255 * white      # error + _BIAS, 257 .. 766
            # trunc(err / 8) + _BIAS / 8: add 7 where negative (bit 9 clear), then floor;
            # only the lanes of pixels in the band, y in [lo, hi), pass an error on
            hi, lo = t // 2 + 1, (t - w + 2) // 2
            if hi > h:
                hi = h
            if lo < 0:
                lo = 0
            elif lo > h:               # the two more wavefronts: no pixel of the band
                lo = h
            q = (((err + sevens - ((err >> 9) & ones) * 7) >> 3) & (keep[hi] - keep[lo])) \
                - (bias[hi] - bias[lo])
            down = q << _LANE          # the same to x - 1, x, x + 1 a row down
            pair = q + down
            c0, c1, c2, c3 = c1 + pair, c2 + pair, c3 + down, down << _LANE
            whites |= white << (first + 7 - t)
        packed.append(whites.to_bytes(size + 2, "little")[0:size:2])
    # Row y's bits are lane y's bytes; pixel x is bit 2y + x, most significant first.
    bits = b"".join(packed)
    total = 8 * len(packed)
    row_bytes = (w + 7) // 8
    rows = []
    for y in range(h):
        row_bits = int.from_bytes(bits[y::lanes], "big") >> (total - 2 * y - w)
        rows.append(((row_bits & ((1 << w) - 1)) << (8 * row_bytes - w))
                    .to_bytes(row_bytes, "big"))
    if not more:
        return rows, None
    return rows, ([lane & 0xFFFF for lane in left[2 * h:2 * h + w]],
                  [lane >> _LANE for lane in left[2 * h + 2:2 * h + 2 + w]])


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
