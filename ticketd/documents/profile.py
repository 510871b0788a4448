"""Printer geometry from a document's ``profile``: dots and characters per line.

Printable widths follow common thermal heads (8 dots/mm at 203 dpi):
58 mm paper -> 48 mm printable, 72 -> 64, 80 -> 72, 100 -> 92, 112 -> 104,
120 -> 112. Font A is 12 dots wide and font B 9 dots at 203 dpi, scaled with
the dpi, so characters per line do not depend on the dpi.
"""
from __future__ import annotations

from typing import Any

import attrs

from .codepages import DEFAULT_CODE_TABLE, canonical_table
from .errors import DocumentError, fmt

PAPER_WIDTHS = (58, 72, 80, 100, 112, 120)
DPIS = (203, 300, 600)
_PRINTABLE_MM = {58: 48, 72: 64, 80: 72, 100: 92, 112: 104, 120: 112}
_DOTS_PER_MM = {203: 8, 300: 12, 600: 24}


@attrs.frozen
class Profile:
    """Printer geometry and capabilities used for layout and rendering."""

    paper_width_mm: int = 80
    dpi: int = 203
    dots: int = 576
    chars_a: int = 48
    chars_b: int = 64
    code_table: str = DEFAULT_CODE_TABLE
    has_qr: bool = False
    model: str = ""

    @property
    def font_a_dots(self) -> int:
        """Width of one font A character in dots."""
        return 12 * _DOTS_PER_MM[self.dpi] // 8

    @property
    def font_b_dots(self) -> int:
        """Width of one font B character in dots."""
        return 9 * _DOTS_PER_MM[self.dpi] // 8

    def font_dots(self, font: str) -> int:
        """Width in dots of one character of ``font`` ('A' or 'B')."""
        return self.font_b_dots if font == "B" else self.font_a_dots


def profile_errors(profile: Any) -> list[str]:
    """Semantic problems of a profile object (the schema checks types)."""
    if not isinstance(profile, dict):
        return []
    table = profile.get("code_table")
    if isinstance(table, str) and canonical_table(table) is None:
        return [fmt("VALIDATION", "profile.code_table",
                    f"unknown code table {table!r}")]
    return []


def profile_for(profile: Any) -> Profile:
    """Build a :class:`Profile` from a document's ``profile`` dict (or None).

    Raises :class:`DocumentError` (VALIDATION) for values we cannot honour.
    """
    if profile is None:
        profile = {}
    if not isinstance(profile, dict):
        raise DocumentError.single("VALIDATION", "profile", "must be an object")
    width = profile.get("paper_width", 80)
    dpi = profile.get("dpi", 203)
    if width not in PAPER_WIDTHS or isinstance(width, bool):
        raise DocumentError.single("VALIDATION", "profile.paper_width",
                                   f"{width!r} is not one of {list(PAPER_WIDTHS)}")
    if dpi not in DPIS or isinstance(dpi, bool):
        raise DocumentError.single("VALIDATION", "profile.dpi",
                                   f"{dpi!r} is not one of {list(DPIS)}")
    table_name = profile.get("code_table", DEFAULT_CODE_TABLE)
    table = canonical_table(table_name) if isinstance(table_name, str) else None
    if table is None:
        raise DocumentError.single("VALIDATION", "profile.code_table",
                                   f"unknown code table {table_name!r}")
    dots = _PRINTABLE_MM[width] * _DOTS_PER_MM[dpi]
    scale = _DOTS_PER_MM[dpi] / 8
    model = profile.get("model", "")
    return Profile(
        paper_width_mm=width, dpi=dpi, dots=dots,
        chars_a=int(dots // (12 * scale)), chars_b=int(dots // (9 * scale)),
        code_table=table, has_qr=profile.get("has_qr") is True,
        model=model if isinstance(model, str) else "",
    )
