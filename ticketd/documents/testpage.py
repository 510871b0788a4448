"""ticketd's test page: a v1 document built in code, printed like any other document.

It answers what a person setting up a printer asks: which printer is this (its name),
when was it printed, does the paper width match (a ruler as wide as a line of font A,
digits counting the characters), and are accented letters and the euro sign right (a
sample in the code table the page is encoded in).
"""

from __future__ import annotations

import time
from typing import Any

from ticketd import paper
from ticketd.documents.profile import DEFAULT_CODE_TABLE

SAMPLE = ("Añejo café 1,50 €", "ÀÁÂÄ àáâä ÈÉÊË èéêë", "ÌÍÏ ìíï ÒÓÔÖ òóôö ÙÚÛÜ ùúûü",
          "Çç Ññ ß ¿? ¡! £ ¥ § ° ½")


def ruler(width: int) -> tuple[str, str]:
    """Two lines ``width`` characters wide: tens marks above, unit digits below."""
    tens = "".join(str(i // 10 % 10) if i % 10 == 0 else " " for i in range(1, width + 1))
    units = "".join(str(i % 10) for i in range(1, width + 1))
    return tens, units


def _text(text: str, **style: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"text": text}
    align = style.pop("align", None)
    if align is not None:
        content["align"] = align
    if style:
        content["content_style"] = style
    return {"type": "text", "data": {"content": content}}


def _field(label: str, value: str) -> dict[str, Any]:
    return {"type": "text", "data": {"label": {"text": label},
                                     "content": {"text": value}}}


def test_page(printer: str, *, paper_width: int = paper.DEFAULT_PAPER_WIDTH,
              dpi: int = paper.DEFAULT_DPI, code_table: str | None = None,
              now: float | None = None) -> dict[str, Any]:
    """The test page for ``printer``, as a v1 document; ``now``: unix time (the time
    printed, in the daemon's local time)."""
    table = code_table or DEFAULT_CODE_TABLE
    chars = paper.chars_per_line(paper.printable_dots(paper_width, dpi), "A", dpi)
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    tens, units = ruler(chars)
    return {
        "version": "1.0",
        "profile": {"model": printer, "paper_width": paper_width, "dpi": dpi,
                    "code_table": table},
        "commands": [
            _text("Test page", align="center", bold=True, size="2x2"),
            _text("ticketd", align="center"),
            {"type": "separator", "data": {}},
            _field("Printer", printer),
            _field("Time", at),
            _field("Paper", f"{paper_width} mm {dpi} dpi {chars} cols"),
            {"type": "separator", "data": {}},
            _text(tens), _text(units),
            _text("|" + "-" * max(chars - 2, 0) + "|"),
            {"type": "separator", "data": {}},
            _text(f"Code table {table}:", bold=True),
            *(_text(line) for line in SAMPLE),
            {"type": "cut", "data": {"mode": "partial"}},
        ],
    }


__all__ = ["test_page", "ruler"]
