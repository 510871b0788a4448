"""validate(doc): every problem of a document, categorized, never raising.

Schema errors (VALIDATION) come from ``document.schema.json``; then the
semantic checks a schema cannot express: unknown command types (COMMAND),
sizes, table shapes (VALIDATION/TABLE), barcode data (BARCODE), QR capacity
(QR), raw bytes (RAW) and image decoding (IMAGE).
"""
from __future__ import annotations

import json
from typing import Any

from . import checks
from .errors import MAX_ERRORS, fmt
from .schema import COMMAND_TYPES, json_path, schema_errors


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


def validate(doc: Any) -> list[str]:
    """All errors of ``doc`` (at most MAX_ERRORS), ``[]`` if printable."""
    try:
        doc, errors = coerce(doc)
        if errors:
            return errors
        return _validate(doc)[:MAX_ERRORS]
    except RecursionError:
        return [fmt("VALIDATION", "document", "document nested too deeply")]
    except Exception as exc:  # a bug here must not crash a worker
        return [fmt("ERROR", "document", f"validation failed: {exc!r}")]


def _validate(doc: Any) -> list[str]:
    from .profile import profile_errors, profile_for

    errors = [fmt("VALIDATION", json_path(path), msg)
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
        for i, cmd in enumerate(commands):
            if len(errors) >= MAX_ERRORS:
                break
            if isinstance(cmd, dict):
                errors += command_errors(i, cmd, profile)
    return errors


def _style_errors(path: str, style: Any) -> list[str]:
    if isinstance(style, dict):
        size = style.get("size")
        if isinstance(size, str) and checks.parse_size(size) is None:
            return [fmt("VALIDATION", f"{path}.size", f"{size!r} is not WxH with 1-8")]
    return []


def _d(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def command_errors(i: int, cmd: dict, profile: Any) -> list[str]:
    """Semantic errors of command ``i`` (the schema already checked types)."""
    base = f"commands[{i}]"
    ctype = cmd.get("type")
    if not isinstance(ctype, str):
        return []
    if ctype not in COMMAND_TYPES:
        return [fmt("COMMAND", f"{base}.type", f"unknown command type {ctype!r}")]
    data = cmd.get("data")
    if not isinstance(data, dict):
        return []
    p = f"{base}.data"
    if ctype == "text":
        return (_style_errors(f"{p}.content.content_style",
                              _d(data.get("content"), "content_style"))
                + _style_errors(f"{p}.label.label_style",
                                _d(data.get("label"), "label_style")))
    if ctype == "qr":
        return _qr_errors(p, data)
    if ctype == "barcode":
        sym, value = data.get("symbology"), data.get("data")
        if isinstance(sym, str) and isinstance(value, str) and value:
            problem = checks.barcode_problem(sym, value)
            if problem:
                return [fmt("BARCODE", f"{p}.data", problem)]
        return []
    if ctype == "table":
        return _table_errors(p, data, profile)
    if ctype == "raw":
        return _raw_errors(p, data)
    if ctype == "image":
        return _image_errors(f"{p}.code", data.get("code"))
    return []


def _image_errors(path: str, code: Any) -> list[str]:
    if not isinstance(code, str) or not code:
        return []
    from .images import ImageProblem, probe

    try:
        probe(code)
    except ImageProblem as exc:
        return [fmt("IMAGE", path, str(exc))]
    return []


def _qr_errors(p: str, data: dict) -> list[str]:
    errors = _style_errors(f"{p}.content_style", data.get("content_style"))
    value, corr = data.get("data"), data.get("correction", "M")
    if isinstance(value, str) and value and corr in ("L", "M", "Q", "H"):
        problem = checks.qr_problem(value, corr)
        if problem:
            errors.append(fmt("QR", f"{p}.data", problem))
    return errors + _image_errors(f"{p}.logo", data.get("logo"))


def _table_errors(p: str, data: dict, profile: Any) -> list[str]:
    from .layout import fit_widths

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


def _raw_errors(p: str, data: dict) -> list[str]:
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
