"""Render a v1 document to ESC/POS bytes with python-escpos' ``Dummy``.

Imported lazily (python-escpos and Pillow are heavy, and python-escpos calls
``logging.basicConfig()`` on import). Every call builds its own Dummy, flow
and encoder: the only shared mutable state is the lock-protected ImageCache.
python-escpos emits the commands; we do layout, code pages and bookkeeping.
"""
from __future__ import annotations

import copy
import threading
from typing import Any

from escpos import constants as C
from escpos.capabilities import Profile as _EscposProfile
from escpos.printer import Dummy

from . import checks, images
from .encoding import Encoder, select_command
from .errors import DocumentError, fmt
from .layout import (PLAIN, Style, TextFlow, separator_line, style_from, table_lines,
                     text_pieces)
from .profile import Profile, profile_for
from .results import Raster, Rendered
from .qrcodes import native_module_size, qr_bitmap
from .validate import Checked, check

_BARCODE_NAMES = {"upca": "UPC-A", "upce": "UPC-E", "ean13": "EAN13", "ean8": "EAN8",
                  "code39": "CODE39", "code128": "CODE128", "itf": "ITF",
                  "codabar": "NW7"}
_HRI = {"none": "OFF", "above": "ABOVE", "below": "BELOW", "both": "BOTH"}
_QR_EC = {"L": C.QR_ECLEVEL_L, "M": C.QR_ECLEVEL_M, "Q": C.QR_ECLEVEL_Q,
          "H": C.QR_ECLEVEL_H}
_PROFILE_CLASSES: dict[int, type] = {}
_PROFILE_LOCK = threading.Lock()


def _escpos_profile(dots: int) -> Any:
    """A python-escpos profile whose media width is our printable width.

    One class per width, created once; python-escpos' own profile classes
    are shared, so we never mutate them.
    """
    with _PROFILE_LOCK:
        cls = _PROFILE_CLASSES.get(dots)
        if cls is None:
            data = copy.deepcopy(_EscposProfile.profile_data)
            data["media"] = {"dpi": "Unknown", "width": {"mm": "Unknown", "pixels": dots}}
            cls = type(f"Ticketd{dots}Profile", (_EscposProfile,), {"profile_data": data})
            _PROFILE_CLASSES[dots] = cls
    return cls(features=dict(cls.profile_data["features"]))


#: Byte inversion: PIL's mode '1' bit is 1 for white, ``GS v 0``'s is 1 for ink.
_INVERT = bytes(255 - b for b in range(256))
#: python-escpos sends images taller than this as several ``GS v 0``.
_FRAGMENT_ROWS = 960


def image_bytes(bitmap: Any, dots: int) -> bytes:
    """Raster (``GS v 0``) bytes of a mode '1' bitmap, as python-escpos' ``image()`` makes
    them. Whole bytes per row are written directly (the inverted packed rows): escpos
    converts the bitmap five times on the way (RGBA, RGB, L, inverted, 1), a millisecond
    for a logo. A row with padding bits goes through escpos, which leaves them 0."""
    w, h = bitmap.size
    if w % 8:
        p = Dummy(profile=_escpos_profile(dots))
        p.image(bitmap, impl="bitImageRaster")
        return p.output
    ink = bitmap.tobytes().translate(_INVERT)
    row = w // 8
    out = []
    for top in range(0, h, _FRAGMENT_ROWS):
        n = min(_FRAGMENT_ROWS, h - top)
        out += [b"\x1dv0\x00", row.to_bytes(2, "little"), n.to_bytes(2, "little"),
                ink[top * row:(top + n) * row]]
    return b"".join(out)


class _Job:
    """State of one rendering: printer buffer, text flow, current style."""

    def __init__(self, profile: Profile, cache: images.ImageCache | None) -> None:
        self.profile = profile
        self.cache = cache
        self.p = Dummy(profile=_escpos_profile(profile.dots))
        self.raw = self.p._raw
        self.enc = Encoder(profile.code_table)
        self.select = select_command(profile.code_table)
        self.flow = TextFlow(profile)
        self.style: Style | None = PLAIN
        self.align: str | None = "left"
        self.warnings: list[str] = []

    # -- text ---------------------------------------------------------------
    def set_align(self, align: str) -> None:
        if align != self.align:
            self.p.set(align=align)
            self.align = align

    def set_style(self, s: Style) -> None:
        cur = self.style
        kw: dict[str, Any] = {}
        if cur is None or cur.bold != s.bold:
            kw["bold"] = s.bold
        if cur is None or cur.underline != s.underline:
            kw["underline"] = s.underline
        if cur is None or cur.font != s.font:
            kw["font"] = s.font.lower()
        if cur is None or (cur.width, cur.height) != (s.width, s.height):
            kw.update(custom_size=True, width=s.width, height=s.height)
        if cur is None or cur.inverse != s.inverse:
            kw["invert"] = s.inverse
        if kw:
            self.p.set(**kw)
        self.style = s

    def drain(self) -> None:
        """Emit the flow's pending operations: the text of a run of segments in one
        style and alignment is encoded and written at once."""
        ops = self.flow.ops
        text: list[str] = []          # the run's text, "\n" for each line end
        for op in ops:
            kind = op[0]
            if kind == "seg":
                style = op[2]
                if style is not self.style and style != self.style:   # mostly the same
                    self._write_text(text)
                    self.set_style(style)
                text.append(op[1])
            elif kind == "nl":
                text.append("\n")
            elif op[1] != self.align:
                self._write_text(text)
                self.set_align(op[1])
        self._write_text(text)
        ops.clear()

    def _write_text(self, text: list[str]) -> None:
        if text:
            self.raw(self.enc.encode("".join(text)))
            text.clear()

    def block(self) -> None:
        """End any open text line before a non-text command."""
        self.flow.flush()
        self.drain()

    # -- commands -----------------------------------------------------------
    def cmd_text(self, i: int, d: dict) -> None:
        self.flow.add(*text_pieces(d))
        self.drain()

    def cmd_separator(self, i: int, d: dict) -> None:
        self.flow.line(separator_line(d, self.profile), PLAIN, "left")
        self.drain()

    def cmd_table(self, i: int, d: dict) -> None:
        try:
            lines = table_lines(d, self.profile)
        except ValueError as exc:
            raise DocumentError.single("TABLE", f"commands[{i}].data", str(exc)) from None
        align = (d.get("options") or {}).get("align", "center")
        for text, style in lines:
            self.flow.line(text, style, align)
        self.drain()

    def cmd_feed(self, i: int, d: dict) -> None:
        self.block()
        self.p.print_and_feed(int(d["lines"]))

    def cmd_cut(self, i: int, d: dict) -> None:
        self.block()
        feed = int(d.get("feed", 2))
        if feed:
            self.p.print_and_feed(feed)
        self.raw(C.PAPER_PART_CUT if d.get("mode") == "partial" else C.PAPER_FULL_CUT)

    def cmd_pulse(self, i: int, d: dict) -> None:
        self.block()
        t1 = min(255, max(1, int(d.get("on_time", 50)) // 2))
        t2 = min(255, max(1, int(d.get("off_time", 100)) // 2))
        self.p.cashdraw([27, 112, int(d.get("pin", 0)), t1, t2])

    def cmd_beep(self, i: int, d: dict) -> None:
        self.block()
        self.p.buzzer(int(d.get("times", 1)), int(d.get("lapse", 1)))

    def cmd_raw(self, i: int, d: dict) -> None:
        self.block()
        data = checks.parse_raw(d["hex"], d.get("format", "hex"))
        if d.get("safe_mode") is True and checks.raw_blocked(data):
            raise DocumentError.single("RAW", f"commands[{i}].data.hex", "blocked by safe_mode")
        # a reset forgets the code page: select it again right after it
        self.raw(data.replace(b"\x1b@", b"\x1b@" + self.select))
        self.style = None          # unknown now: the next text sets everything
        self.align = None

    def cmd_barcode(self, i: int, d: dict) -> None:
        self.block()
        sym, value = d["symbology"], d["data"]
        if sym == "code128":
            value = checks.code128_payload(value)
        self.set_align(d.get("align", "center"))
        self.p._hw_barcode(  # barcode() would print() to stdout; same encoder
            value, _BARCODE_NAMES[sym], int(d.get("height", 64)), int(d.get("width", 3)),
            _HRI[d.get("hri_position", "below")], d.get("hri_font", "A"),
            align_ct=False, function_type=None, check=False)

    def cmd_image(self, i: int, d: dict) -> None:
        self.block()
        dots = self.profile.dots
        pw = d.get("pixel_width")
        if pw is not None and pw > dots:
            self.warnings.append(f"commands[{i}].data.pixel_width: {pw} is wider than "
                                 f"{dots} printable dots, printed {dots} wide")
        dither = d.get("dithering", "atkinson")
        level = int(d.get("threshold", 128))
        align = d.get("align", "center")
        nearest = d.get("scaling") == "nns"
        key = ("image", images.content_key(d["code"]), pw, dither, level, align,
               nearest, dots)

        def build() -> Raster:
            im = images.open_image(images.decode_base64(d["code"]))
            size = images.target_size(im.size, pw, dots)
            gray = images.to_gray(im, size, nearest)
            bitmap = (images.threshold(gray, level) if dither == "threshold"
                      else images.atkinson(gray, level))
            return Raster(image_bytes(images.place(bitmap, dots, align), dots), *size)

        try:
            self.raw(self._cached(key, build).data)
        except images.ImageProblem as exc:   # the header read, the pixels did not
            self.warnings.append(f"commands[{i}].data.code: {exc}; the image is left out")

    def cmd_qr(self, i: int, d: dict) -> None:
        self.block()
        data, corr = d["data"], d.get("correction", "M")
        align = d.get("align", "center")
        dots = self.profile.dots
        pw = min(int(d.get("pixel_width", 256)), dots)
        logo, circle = d.get("logo"), d.get("circle_shape") is True
        if self.profile.has_qr and not logo and not circle:
            self.set_align(align)
            self.p.qr(data, ec=_QR_EC[corr], size=native_module_size(data, corr, pw),
                      native=True)
        else:
            key = ("qr", images.content_key(data), corr, pw, align, circle,
                   images.content_key(logo) if logo else None, dots)

            def build() -> Raster:
                try:
                    bm = qr_bitmap(data, corr, pw, circle, logo)
                except images.ImageProblem as exc:  # the logo's pixels did not decode
                    self.warnings.append(f"commands[{i}].data.logo: {exc}; the QR code is "
                                         f"printed without it")
                    bm = qr_bitmap(data, corr, pw, circle, None)
                return Raster(image_bytes(images.place(bm, dots, align), dots), *bm.size)

            self.raw(self._cached(key, build).data)
        human = d.get("human_text")
        if human:
            self.flow.add([(human, style_from(d.get("content_style")))], align)
            self.drain()

    def _cached(self, key: tuple, build: Any) -> Raster:
        cache = self.cache
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            hit = build()
            if cache is not None:
                cache.put(key, hit, len(hit.data) + 200)
        return hit


def render(doc: Any, *, image_cache: images.ImageCache | None = None,
           strict: bool = False) -> Rendered:
    """Read, validate and render ``doc``; raises DocumentError, nothing else, for bad
    input. The warnings are intake's, then the code table's, then the renderer's."""
    checked = check(doc, strict=strict)
    if checked.errors:
        raise DocumentError(checked.errors)
    return render_checked(checked, image_cache=image_cache)


def render_checked(checked: Checked, *, image_cache: images.ImageCache | None = None
                   ) -> Rendered:
    """Render a document that :func:`check` read and found good (no errors): the document
    a job keeps once it was accepted, rendered without reading and validating it again.
    Raises DocumentError for what only rendering finds (an image that does not decode)."""
    doc = checked.document
    profile = profile_for(doc.get("profile"))
    job = _Job(profile, image_cache)
    job.raw(C.HW_INIT + job.select)
    origin = checked.origin or range(len(doc["commands"]))
    for i, cmd in zip(origin, doc["commands"]):
        ctype = cmd["type"]
        try:
            getattr(job, f"cmd_{ctype}")(i, cmd.get("data") or {})
        except DocumentError:
            raise
        except images.ImageProblem as exc:
            raise DocumentError.single("IMAGE", f"commands[{i}].data", str(exc)) from None
        except RecursionError:
            raise DocumentError.single("EXECUTION", f"commands[{i}]", "too deep") from None
        except Exception as exc:
            raise DocumentError([fmt("EXECUTION", f"commands[{i}]",
                                     f"{ctype} failed: {type(exc).__name__}: {exc}")]) from None
    job.block()
    return Rendered(data=job.p.output,
                    warnings=checked.warnings + tuple(job.enc.warnings + job.warnings),
                    profile=profile)
