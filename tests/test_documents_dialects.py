"""The dialect corpus: every shipped example rewritten into each older form a POS page sends.

Each rewrite prints the same receipt (the same text lines and the same bytes) as its v1
form, with the warnings that say what intake read, and fails in strict mode.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Callable

from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import render, text_lines, validate

from .documents_support import examples

_SYMBOLOGIES = {"upca": "UPC-A", "upce": "UPC-E", "ean13": "EAN-13", "ean8": "EAN8",
                "code39": "Code 39", "code128": "Code128", "itf": "ITF", "codabar": "CODABAR"}
_PATH = re.compile(r"^(profile|commands\[\d+\]|[a-z_]+)[.\[\w\]]*: ")


def plain_string_text(doc: dict) -> dict:
    """Poster's older text form: ``content`` a string, ``style`` beside it, ``newline``."""
    for cmd in doc["commands"]:
        if cmd["type"] != "text":
            continue
        d = cmd["data"]
        content = d.pop("content")
        style = dict(content.get("content_style") or {})
        if content.get("align"):
            style["align"] = content["align"]
        d["content"] = content["text"]
        if style:
            d["style"] = style
        if "new_line" in d:
            d["newline"] = d.pop("new_line")
    return doc


def header_columns(doc: dict) -> dict:
    """Table columns named with ``header``, a ``paper_width`` inside ``definition``."""
    for cmd in doc["commands"]:
        if cmd["type"] == "table":
            definition = cmd["data"]["definition"]
            for col in definition["columns"]:
                col["header"] = col.pop("name")
            definition["paper_width"] = 48
    return doc


def shouted_enums(doc: dict) -> dict:
    """Enum values in other cases and spellings: ``UPC-A``, ``CENTER``, ``Partial``."""
    for cmd in doc["commands"]:
        d = cmd["data"]
        if cmd["type"] == "barcode":
            d["symbology"] = _SYMBOLOGIES[d["symbology"]]
            if "hri_position" in d:
                d["hri_position"] = d["hri_position"].upper()
        if cmd["type"] == "cut" and "mode" in d:
            d["mode"] = d["mode"].capitalize()
        for holder in (d, d.get("content") if isinstance(d.get("content"), dict) else {}):
            if isinstance(holder.get("align"), str):
                holder["align"] = holder["align"].upper()
    return doc


def unknown_keys(doc: dict) -> dict:
    """Keys v1 does not know, everywhere: document, profile, command, data, styles."""
    doc["printer_id"] = 7
    doc["profile"]["vendor"] = "generic"
    for cmd in doc["commands"]:
        cmd["order"] = 1
        cmd["data"]["colour"] = "red"
        content = cmd["data"].get("content")
        if isinstance(content, dict):
            content.setdefault("content_style", {})["colour"] = "red"
    return doc


def unknown_command(doc: dict) -> dict:
    """A command type v1 does not know, in the middle."""
    doc["commands"].insert(1, {"type": "logo_nv", "data": {"key": 1}})
    return doc


def broken_logo(doc: dict) -> dict:
    """A QR logo that does not decode, and an image whose code is a placeholder."""
    for cmd in doc["commands"]:
        if cmd["type"] == "qr":
            cmd["data"]["logo"] = "not base64 at all!"
    doc["commands"].append({"type": "image", "data": {"code": "CODIGO_EN_BASE64"}})
    return doc


DIALECTS: dict[str, Callable[[dict], dict]] = {
    "plain string text": plain_string_text, "header columns": header_columns,
    "shouted enums": shouted_enums, "unknown keys": unknown_keys,
    "unknown command": unknown_command, "broken logo": broken_logo,
}


class DialectCorpusTests(SynchronousTestCase):
    def check(self, name: str, dialect: Callable[[dict], dict], original: dict) -> None:
        variant = dialect(copy.deepcopy(original))
        self.assertEqual(validate(variant), [], name)
        self.assertEqual(text_lines(variant), text_lines(original), name)
        ours, theirs = render(original), render(variant)
        self.assertEqual(theirs.data, ours.data, name)
        new = [w for w in theirs.warnings if w not in ours.warnings]
        self.assertTrue(new, name)
        for warning in new:
            self.assertRegex(warning, _PATH, name)
        strict = validate(variant, strict=True)
        self.assertTrue(strict and all(e.startswith("VALIDATION: ") for e in strict), name)

    def test_every_example_in_every_dialect(self) -> None:
        for file, original in examples().items():
            for label, dialect in DIALECTS.items():
                self.check(f"{file}: {label}", dialect, original)

    def test_all_dialects_at_once(self) -> None:
        for file, original in examples().items():
            variant = copy.deepcopy(original)
            for dialect in DIALECTS.values():
                variant = dialect(variant)
            self.assertEqual(text_lines(variant), text_lines(original), file)
            self.assertEqual(render(variant).data, render(original).data, file)

    def test_warnings_name_what_was_read(self) -> None:
        original = examples()["showcase.json"]
        warnings = render(shouted_enums(copy.deepcopy(original))).warnings
        self.assertIn("commands[14].data.symbology: 'Code128' read as 'code128'", warnings)
        self.assertIn("commands[20].data.mode: 'Partial' read as 'partial'", warnings)
        warnings = render(unknown_command(copy.deepcopy(original))).warnings
        self.assertIn("commands[1].type: unknown command type 'logo_nv', skipped", warnings)
        warnings: Any = render(unknown_keys(copy.deepcopy(original))).warnings
        self.assertIn("printer_id: unknown key, ignored", warnings)
        self.assertIn("profile.vendor: unknown key, ignored", warnings)
        self.assertIn("commands[4].data.content.content_style.colour: unknown key, ignored",
                      warnings)
