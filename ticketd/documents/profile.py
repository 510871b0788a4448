"""Printer geometry from a document's ``profile``: dots and characters per line.

The geometry itself (printable widths, font cells at a dpi) is :mod:`ticketd.paper`'s;
this module checks a document's profile against it and keeps the result.
"""
from __future__ import annotations

from typing import Any

import attrs

from ticketd import paper
from ticketd.paper import DPIS, PAPER_WIDTHS

from .encoding import DEFAULT_CODE_TABLE, canonical_table
from .errors import DocumentError, fmt


@attrs.frozen
class Profile:
    """Printer geometry and capabilities used for layout and rendering."""

    paper_width_mm: int = paper.DEFAULT_PAPER_WIDTH
    dpi: int = paper.DEFAULT_DPI
    dots: int = paper.DEFAULT_DOTS
    chars_a: int = 48
    chars_b: int = 64
    code_table: str = DEFAULT_CODE_TABLE
    has_qr: bool = False
    model: str = ""

    @property
    def font_a_dots(self) -> int:
        """Width of one font A character in dots."""
        return paper.font_cell("A", self.dpi)[0]

    @property
    def font_b_dots(self) -> int:
        """Width of one font B character in dots."""
        return paper.font_cell("B", self.dpi)[0]

    def font_dots(self, font: str) -> int:
        """Width in dots of one character of ``font`` ('A' or 'B')."""
        return paper.font_cell("B" if font == "B" else "A", self.dpi)[0]


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
    width = profile.get("paper_width", paper.DEFAULT_PAPER_WIDTH)
    dpi = profile.get("dpi", paper.DEFAULT_DPI)
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
    dots = paper.printable_dots(width, dpi)
    model = profile.get("model", "")
    return Profile(
        paper_width_mm=width, dpi=dpi, dots=dots,
        chars_a=paper.chars_per_line(dots, "A", dpi),
        chars_b=paper.chars_per_line(dots, "B", dpi),
        code_table=table, has_qr=profile.get("has_qr") is True,
        model=model if isinstance(model, str) else "",
    )
