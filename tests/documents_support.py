"""Helpers for the documents tests: the example documents and small document builders."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The real documents from the field, shipped with the package (the dashboard's editor
# offers them).
EXAMPLES = ROOT / "ticketd" / "web" / "static" / "examples"


def examples() -> dict[str, dict]:
    """The example documents by file name (fails clearly if absent)."""
    files = sorted(EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []
    if not files:
        raise AssertionError(f"example documents not found in {EXAMPLES}")
    return {f.name: json.loads(f.read_text(encoding="utf-8")) for f in files}


def doc(*commands: dict, **profile) -> dict:
    """A document with the given commands and profile fields."""
    return {"version": "1.0", "profile": {"model": "test", **profile},
            "commands": list(commands)}


def text(t: str, **data) -> dict:
    """A text command."""
    content = {"text": t}
    for key in ("align", "content_style"):
        if key in data:
            content[key] = data.pop(key)
    return {"type": "text", "data": {"content": content, **data}}


def png(width: int, height: int, color: int = 0, mode: str = "L") -> str:
    """Base64 PNG of a plain image (Pillow)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, (width, height), color).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def logo_png(width: int = 576, height: int = 160) -> str:
    """A logo-like PNG: white background, black shapes, some gray text."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    d.rectangle((10, 10, width - 10, 40), fill="black")
    d.ellipse((20, 50, 120, 150), fill=(90, 90, 90))
    for k in range(8):
        d.text((140 + k * 50, 70), "LOGO", fill="black")
    d.rectangle((width - 120, 60, width - 20, 150), outline="black", width=4)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()
