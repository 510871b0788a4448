"""text_lines(doc): the receipt as plain text lines, for tests and dashboards.

Lines are laid out exactly as rendering lays them out (same TextFlow, tables
and separators), ``chars_a`` columns wide. Double width characters are shown
followed by spaces (they take W columns); font B text keeps one column per
character, so a full font B line is longer than the preview width.
Markers for what is not text:

- image: ``[image WxH]`` (printed size in dots)
- QR: ``[QR: data]`` then the human text
- barcode: ``[BARCODE symbology: data]``
- feed n: n empty lines; cut: its feed lines then ``--- cut ---``
- raw, pulse, beep: nothing (not visible on paper)
"""
from __future__ import annotations

from typing import Any

from . import images
from .encoding import Encoder
from .errors import DocumentError
from .layout import PLAIN, TextFlow, separator_line, style_from, table_lines, text_pieces
from .profile import Profile, profile_for
from .validate import check


def _lines_from_ops(ops: list[tuple], profile: Profile, enc: Encoder) -> list[str]:
    out: list[str] = []
    align, parts, used = "left", [], 0
    col = profile.font_a_dots
    for op in ops:
        if op[0] == "marker":
            out.append(op[1])
        elif op[0] == "start":
            align, parts, used = op[1], [], 0
        elif op[0] == "seg":
            text, style = enc.printable(op[1]), op[2]
            used += len(text) * profile.font_dots(style.font) * style.width
            if style.width > 1:
                text = "".join(c + " " * (style.width - 1) for c in text)
            parts.append(text)
        else:
            free = max(0, profile.dots - used)
            pad = {"center": free // 2 // col, "right": free // col}.get(align, 0)
            out.append((" " * pad + "".join(parts)).rstrip())
    return out


def text_lines(doc: Any) -> list[str]:
    """Plain-text lines of ``doc``; raises DocumentError if it is invalid."""
    checked = check(doc)
    if checked.errors:
        raise DocumentError(checked.errors)
    doc = checked.document
    profile = profile_for(doc.get("profile"))
    enc = Encoder(profile.code_table)
    flow = TextFlow(profile)

    def marker(text: str) -> None:
        flow.flush()
        flow.ops.append(("marker", text))

    for cmd in doc["commands"]:
        ctype, d = cmd["type"], cmd.get("data") or {}
        if ctype == "text":
            flow.add(*text_pieces(d))
        elif ctype == "separator":
            flow.line(separator_line(d, profile), PLAIN, "left")
        elif ctype == "table":
            try:
                rows = table_lines(d, profile)
            except ValueError as exc:
                raise DocumentError.single("TABLE", "table", str(exc)) from None
            for text, style in rows:
                flow.line(text, style, (d.get("options") or {}).get("align", "center"))
        elif ctype == "image":
            w, h = images.target_size(images.probe(d["code"]), d.get("pixel_width"),
                                      profile.dots)
            marker(f"[image {w}x{h}]")
        elif ctype == "qr":
            marker(f"[QR: {d['data']}]")
            if d.get("human_text"):
                flow.add([(d["human_text"], style_from(d.get("content_style")))],
                         d.get("align", "center"))
        elif ctype == "barcode":
            marker(f"[BARCODE {d['symbology']}: {d['data']}]")
        elif ctype == "feed":
            flow.flush()
            for _ in range(int(d["lines"])):
                flow.newline()
        elif ctype == "cut":
            flow.flush()
            for _ in range(int(d.get("feed", 2))):
                flow.newline()
            marker("--- cut ---")
    flow.flush()
    return _lines_from_ops(flow.ops, profile, enc)
