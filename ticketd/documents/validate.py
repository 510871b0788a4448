"""validate(doc): every problem of a document, categorized, never raising.

Intake (:mod:`.intake`) reads the document first, so that every dialect a POS page sends is
checked as the v1 document it means; what it had to interpret are warnings, errors in strict
mode. Schema errors (VALIDATION) come from ``document.schema.json``, with the category Ticket
Daemon reports for the same defect where it has one (QR, BARCODE, RAW); then the semantic
checks a schema cannot express: sizes, table shapes (VALIDATION/TABLE), barcode data
(BARCODE), QR capacity (QR) and raw bytes (RAW). Paths are those of the document as sent.
"""
from __future__ import annotations

import json
import re
from typing import Any

import attrs

from . import checks
from .errors import MAX_ERRORS, fmt
from .intake import intake
from .schema import fast_check, json_path, schema_errors


@attrs.frozen
class Checked:
    """A document read and checked: the v1 document, its warnings and its errors."""

    document: Any
    warnings: tuple[str, ...]
    errors: tuple[str, ...]
    #: ``origin[k]``: index in the document as sent of the command now at ``k``.
    origin: tuple[int, ...] = ()


def coerce(doc: Any) -> tuple[Any, list[str]]:
    """Accept JSON text as well as parsed objects; JSON errors are reported."""
    if isinstance(doc, (bytes, bytearray)):
        try:
            doc = bytes(doc).decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, [fmt("JSON", "document", f"not UTF-8: {exc}")]
    if isinstance(doc, str):
        try:
            return json.loads(doc), []
        except (ValueError, RecursionError) as exc:
            return None, [fmt("JSON", "document", f"invalid JSON: {exc}")]
    return doc, []


def validate(doc: Any, *, strict: bool = False) -> list[str]:
    """All errors of ``doc`` (at most MAX_ERRORS), ``[]`` if printable. ``strict``: what
    intake had to interpret is an error too (``VALIDATION:``)."""
    return list(check(doc, strict=strict).errors)


def check(doc: Any, *, strict: bool = False) -> Checked:
    """``doc`` read by intake and validated; never raises."""
    try:
        doc, errors = coerce(doc)
        if errors:
            return Checked(None, (), tuple(errors))
        valid = bool(fast_check()(doc)) if isinstance(doc, dict) else False
        read = intake(doc, valid=valid)
        errors = [fmt("VALIDATION", *w.split(": ", 1)) for w in read.warnings] if strict else []
        sent = doc.get("commands") if isinstance(doc, dict) else None
        if not (isinstance(sent, list) and sent and not read.document["commands"]):
            errors += _validate(read.document, read.origin, valid and read.untouched)
        else:
            errors.append(fmt("VALIDATION", "commands", "nothing left to print: every "
                                                        "command was left out"))
        return Checked(read.document, read.warnings, tuple(errors[:MAX_ERRORS]), read.origin)
    except RecursionError:
        return Checked(None, (), (fmt("VALIDATION", "document", "document nested too deeply"),))
    except Exception as exc:  # a bug here must not crash a worker
        return Checked(None, (), (fmt("ERROR", "document", f"validation failed: {exc!r}"),))


#: Schema errors in these command fields have Ticket Daemon's category, not VALIDATION.
_FIELD_CATEGORY = {("qr", "data"): "QR", ("qr", "correction"): "QR",
                   ("barcode", "symbology"): "BARCODE", ("barcode", "data"): "BARCODE",
                   ("raw", "hex"): "RAW", ("raw", "format"): "RAW"}
_REQUIRED = re.compile(r"^'([^']+)' is a required property$")


def _schema_error(doc: dict, path: Any, msg: str, origin: tuple[int, ...]) -> str:
    parts = list(path)
    category = "VALIDATION"
    if len(parts) >= 3 and parts[0] == "commands" and isinstance(parts[1], int) \
            and parts[2] == "data":
        cmd = doc["commands"][parts[1]]
        field = parts[3] if len(parts) > 3 else None
        if field is None and (m := _REQUIRED.match(msg)):
            field = m.group(1)
        category = _FIELD_CATEGORY.get((cmd.get("type"), field), category)
    if len(parts) >= 2 and parts[0] == "commands" and isinstance(parts[1], int) and origin:
        parts[1] = origin[parts[1]]
    return fmt(category, json_path(parts), msg)


def _validate(doc: Any, origin: tuple[int, ...], schema_ok: bool) -> list[str]:
    from .profile import profile_errors, profile_for

    errors = [] if schema_ok else [_schema_error(doc, path, msg, origin)
                                   for path, msg in schema_errors(doc)]
    if not isinstance(doc, dict):
        return errors
    errors += profile_errors(doc.get("profile"))
    try:
        profile = profile_for(doc.get("profile"))
    except Exception:
        profile = None
    commands = doc.get("commands")
    if isinstance(commands, list):
        for k, cmd in enumerate(commands):
            if len(errors) >= MAX_ERRORS:
                break
            if isinstance(cmd, dict):
                errors += command_errors(origin[k] if origin else k, cmd, profile)
    return errors


def _style_errors(i: int, where: str, style: Any) -> list[str]:
    """``where``: the style's path in the command's data; paths are built for errors only
    (a receipt has dozens of text commands and hardly ever an error)."""
    if isinstance(style, dict):
        size = style.get("size")
        if isinstance(size, str) and checks.parse_size(size) is None:
            return [fmt("VALIDATION", f"commands[{i}].data{where}.size",
                        f"{size!r} is not WxH with 1-8")]
    return []


def _d(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def command_errors(i: int, cmd: dict, profile: Any) -> list[str]:
    """Semantic errors of command ``i`` (the schema already checked types)."""
    ctype = cmd.get("type")
    data = cmd.get("data")
    if not isinstance(ctype, str) or not isinstance(data, dict):
        return []
    checker = _CHECKERS.get(ctype)
    return checker(i, data, profile) if checker is not None else []


def _text_errors(i: int, data: dict, profile: Any) -> list[str]:
    content, label = data.get("content"), data.get("label")
    cstyle = content.get("content_style") if isinstance(content, dict) else None
    lstyle = label.get("label_style") if isinstance(label, dict) else None
    if cstyle is None and lstyle is None:
        return []
    return (_style_errors(i, ".content.content_style", cstyle)
            + _style_errors(i, ".label.label_style", lstyle))


def _barcode_errors(i: int, data: dict, profile: Any) -> list[str]:
    sym, value = data.get("symbology"), data.get("data")
    if isinstance(sym, str) and isinstance(value, str) and value:
        problem = checks.barcode_problem(sym, value)
        if problem:
            return [fmt("BARCODE", f"commands[{i}].data.data", problem)]
    return []


def _qr_errors(i: int, data: dict, profile: Any) -> list[str]:
    p = f"commands[{i}].data"
    errors = _style_errors(i, ".content_style", data.get("content_style"))
    value, corr = data.get("data"), data.get("correction", "M")
    if isinstance(value, str) and value and corr in ("L", "M", "Q", "H"):
        problem = checks.qr_problem(value, corr)
        if problem:
            errors.append(fmt("QR", f"{p}.data", problem))
    return errors


def _table_errors(i: int, data: dict, profile: Any) -> list[str]:
    from .layout import fit_widths

    p = f"commands[{i}].data"
    columns = _d(data.get("definition"), "columns")
    rows = data.get("rows")
    if not isinstance(columns, list) or not columns:
        return []
    errors = []
    n = len(columns)
    if isinstance(rows, list):
        for r, row in enumerate(rows):
            if isinstance(row, list) and len(row) != n:
                errors.append(fmt("VALIDATION", f"{p}.rows[{r}]",
                                  f"{len(row)} cells, table has {n} columns"))
    widths = [_d(c, "width") for c in columns]
    opts = data.get("options") if isinstance(data.get("options"), dict) else {}
    spacing = opts.get("column_spacing", 1)
    if profile is not None and all(type(w) is int and w > 0 for w in widths) \
            and type(spacing) is int and spacing >= 0:
        fitted = fit_widths(widths, spacing, profile.chars_a,
                            opts.get("auto_reduce", True) is not False)
        if isinstance(fitted, str):
            errors.append(fmt("TABLE", f"{p}.definition.columns", fitted))
    return errors


def _raw_errors(i: int, data: dict, profile: Any) -> list[str]:
    p = f"commands[{i}].data"
    text, form = data.get("hex"), data.get("format", "hex")
    if not isinstance(text, str) or form not in ("hex", "base64"):
        return []
    try:
        raw = checks.parse_raw(text, form)
    except ValueError as exc:
        return [fmt("RAW", f"{p}.hex", str(exc))]
    if data.get("safe_mode") is True:
        blocked = checks.raw_blocked(raw)
        if blocked:
            return [fmt("RAW", f"{p}.hex", "blocked by safe_mode: " + ", ".join(blocked))]
    return []


#: The semantic checks of each command type that has some.
_CHECKERS = {"text": _text_errors, "qr": _qr_errors, "barcode": _barcode_errors,
             "table": _table_errors, "raw": _raw_errors}
