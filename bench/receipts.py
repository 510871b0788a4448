"""The "typical receipt" the benchmarks share: about 40 printed lines (header, 34 items,
a table, the total), a barcode, a QR, a drawer pulse and a cut; a logo on request."""

from __future__ import annotations

from typing import Any


def typical_receipt(logo: str | None = None) -> dict[str, Any]:
    """``logo``: a base64 PNG printed 576 dots wide at the top."""
    cmds: list[dict[str, Any]] = []
    if logo is not None:
        cmds.append({"type": "image", "data": {"code": logo, "pixel_width": 576}})
    cmds.append({"type": "text", "data": {"content": {
        "text": "MI TIENDA", "align": "center", "content_style": {"bold": True, "size": "2x2"}}}})
    for i in range(34):
        cmds.append({"type": "text", "data": {"label": {"text": f"Artículo {i}"},
                                              "content": {"text": f"{i * 1.5:.2f} €"}}})
    cmds += [{"type": "separator", "data": {}},
             {"type": "table", "data": {"definition": {"columns": [
                 {"name": "Cant", "width": 5}, {"name": "Producto", "width": 30},
                 {"name": "Total", "width": 11, "align": "right"}]},
                 "rows": [["1", "Café con leche", "1,50"], ["2", "Tostada", "3,00"]]}},
             {"type": "text", "data": {"content": {"text": "TOTAL 4,50 €", "align": "right"}}},
             {"type": "barcode", "data": {"symbology": "ean13", "data": "4006381333931"}},
             {"type": "qr", "data": {"data": "https://example.com/r/123456", "pixel_width": 200}},
             {"type": "text", "data": {"content": {"text": "¡Gracias!", "align": "center"}}},
             {"type": "pulse", "data": {}}, {"type": "cut", "data": {"mode": "partial"}}]
    return {"version": "1.0", "profile": {"model": "bench", "paper_width": 80, "has_qr": True},
            "commands": cmds}
