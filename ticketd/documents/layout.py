"""Pure text layout: styles, word wrapping in dots, tables and separators.

Rendering and the text preview both consume the same operations, so the
preview shows what the paper shows. Widths are measured in dots: a character
is ``font_dots * width_multiplier`` wide, so double width text takes twice
the room and font B fits more characters.
"""
from __future__ import annotations

import re
from typing import Any

import attrs

from .checks import parse_size
from .profile import Profile

_UNDERLINE = {"0pt": 0, "1pt": 1, "2pt": 2}
_TOKENS = re.compile(r"\S+|\s+")


@attrs.frozen
class Style:
    """Character style of a run of text."""

    bold: bool = False
    underline: int = 0
    inverse: bool = False
    font: str = "A"
    width: int = 1
    height: int = 1


PLAIN = Style()
BOLD = Style(bold=True)


def style_from(d: Any) -> Style:
    """Style of a validated ``content_style``/``label_style`` dict."""
    if not isinstance(d, dict) or not d:
        return PLAIN
    w, h = parse_size(d.get("size", "1x1")) or (1, 1)
    return Style(bold=d.get("bold") is True,
                 underline=_UNDERLINE.get(d.get("underline"), 0),
                 inverse=d.get("inverse") is True,
                 font=d.get("font", "A"), width=w, height=h)


class TextFlow:
    """Turn styled text into line operations, tracking the open line.

    Operations: ``("start", align)``, ``("seg", text, style)``, ``("nl",)``.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.dots = profile.dots
        #: Character width in dots per font: asked for every run of text.
        self.font_dots = {"A": profile.font_a_dots, "B": profile.font_b_dots}
        self.open = False
        self.used = 0
        self.ops: list[tuple] = []

    def _start(self, align: str) -> None:
        self.ops.append(("start", align))
        self.open = True
        self.used = 0

    def newline(self) -> None:
        """End the current line (printing an empty one if none is open)."""
        if not self.open:
            self._start("left")
        self.ops.append(("nl",))
        self.open = False

    def flush(self) -> None:
        """End an open line before a non-text command."""
        if self.open:
            self.newline()

    def add(self, pieces: list[tuple[str, Style]], align: str,
            new_line: bool = True) -> None:
        """Append styled pieces with word wrapping; ``new_line`` ends the line."""
        for text, style in pieces:
            if "\r" in text or "\n" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
                for i, part in enumerate(text.split("\n")):
                    if i:
                        self.newline()
                    self._add_part(part, style, align)
            else:
                self._add_part(text, style, align)
        if new_line:
            self.newline()

    def _add_part(self, part: str, style: Style, align: str) -> None:
        if not part:
            return
        cw = self.font_dots.get(style.font, self.font_dots["A"]) * style.width
        dots = self.dots
        if not self.open:
            self._start(align)
        if self.used + len(part) * cw <= dots:
            # all of it fits: the words below would make this one segment
            self.ops.append(("seg", part, style))
            self.used += len(part) * cw
            return
        buf: list[str] = []
        ops = self.ops

        def emit() -> None:
            if buf:
                ops.append(("seg", "".join(buf), style))
                buf.clear()

        for token in _TOKENS.findall(part):
            if not self.open:
                self._start(align)
            tw = len(token) * cw
            if self.used + tw <= dots:
                buf.append(token)
                self.used += tw
                continue
            if token[0].isspace():           # spaces at a wrap point vanish
                emit()
                self.newline()
                continue
            if tw <= dots and self.used:
                emit()
                self.newline()
                self._start(align)
                buf.append(token)
                self.used = tw
                continue
            while token:                     # a word longer than the line
                room = (dots - self.used) // cw
                if room <= 0:
                    emit()
                    self.newline()
                    self._start(align)
                    room = max(1, dots // cw)
                buf.append(token[:room])
                self.used += len(token[:room]) * cw
                token = token[room:]
        emit()

    def line(self, text: str, style: Style, align: str) -> None:
        """A whole pre-laid-out line (tables, separators)."""
        self.flush()
        self._start(align)
        if text:
            self.ops.append(("seg", text, style))
        self.newline()


def fit_widths(widths: list[int], spacing: int, chars: int,
               auto_reduce: bool) -> list[int] | str:
    """Column widths that fit ``chars``, or an error message.

    Too wide: shrink the widest column one character at a time, never below
    3 (``auto_reduce``), else fail.
    """
    widths = list(widths)
    total = sum(widths) + spacing * (len(widths) - 1)
    if total <= chars:
        return widths
    if not auto_reduce:
        return (f"table is {total} characters wide, the line has {chars} "
                f"(auto_reduce is off)")
    excess = total - chars
    while excess > 0:
        i = max(range(len(widths)), key=lambda k: widths[k])
        if widths[i] <= 3:
            now = sum(widths) + spacing * (len(widths) - 1)
            return (f"table is {now} characters wide even with columns shrunk "
                    f"to 3, the line has {chars}")
        widths[i] -= 1
        excess -= 1
    return widths


def wrap_cell(text: str, width: int, wrap: bool) -> list[str]:
    """Cell text as lines of at most ``width`` characters."""
    text = " ".join(text.replace("\r", " ").replace("\n", " ").split(" "))
    if len(text) <= width:
        return [text]
    if not wrap:
        return [text[:width]]
    lines: list[str] = []
    cur = ""
    body = text.lstrip(" ")
    words = body.split(" ")
    words[0] = " " * (len(text) - len(body)) + words[0]   # keep the indent
    for word in words:
        while len(word) > width:
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(word[:width])
            word = word[width:]
        if not cur:
            cur = word
        elif len(cur) + 1 + len(word) <= width:
            cur += " " + word
        else:
            lines.append(cur)
            cur = word
    if cur or not lines:
        lines.append(cur)
    return lines


def _pad(text: str, width: int, align: str) -> str:
    if align == "right":
        return text.rjust(width)
    if align == "center":
        return text.center(width)
    return text.ljust(width)


def table_lines(data: dict, profile: Profile) -> list[tuple[str, Style]]:
    """Physical lines of a validated table command (header first if shown).

    Raises ValueError with a TABLE message if it cannot fit.
    """
    columns = data["definition"]["columns"]
    opts = data.get("options") or {}
    spacing = int(opts.get("column_spacing", 1))
    widths = fit_widths([int(c["width"]) for c in columns], spacing,
                        profile.chars_a, opts.get("auto_reduce", True) is not False)
    if isinstance(widths, str):
        raise ValueError(widths)
    aligns = [c.get("align", "center") for c in columns]
    wrap = opts.get("word_wrap", True) is not False
    gap = " " * spacing
    out: list[tuple[str, Style]] = []

    def add_row(cells: list[str], style: Style) -> None:
        cols = [wrap_cell(c, w, wrap) for c, w in zip(cells, widths)]
        for k in range(max(len(c) for c in cols)):
            parts = [_pad(col[k] if k < len(col) else "", w, a)
                     for col, w, a in zip(cols, widths, aligns)]
            out.append((gap.join(parts), style))

    if data.get("show_headers", True) is not False:
        bold = opts.get("header_bold", True) is not False
        add_row([c["name"] for c in columns], BOLD if bold else PLAIN)
    for row in data.get("rows", []):
        add_row([str(c) for c in row], PLAIN)
    return out


def text_pieces(d: dict[str, Any]) -> tuple[list[tuple[str, Style]], str, bool]:
    """A ``text`` command as (styled pieces, alignment, new line?): the optional label
    (with its separator, default ": ") then the content. Shared by the renderer and the
    text preview so that both lay a line out the same way."""
    content = d["content"]
    cstyle = content.get("content_style") or {}
    label = d.get("label")
    align = content.get("align") or cstyle.get("align")
    pieces = []
    if isinstance(label, dict):
        align = align or label.get("align")
        pieces.append((str(label.get("text", "")) + label.get("separator", ": "),
                       style_from(label.get("label_style"))))
    pieces.append((content["text"], style_from(cstyle)))
    return pieces, align or "left", d.get("new_line", True) is not False


def separator_line(data: dict, profile: Profile) -> str:
    """The separator text: ``char`` repeated to ``length`` (max one line)."""
    char = data.get("char") or "-"
    length = min(int(data.get("length", profile.chars_a)), profile.chars_a)
    return (char * (length // len(char) + 1))[:length]
