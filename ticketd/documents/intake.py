"""Intake: whatever a POS page sends, read as the v1 document the renderer knows.

Be liberal in what we accept: Ticket Daemon ignores unknown keys, matches enum values in any
case and without hyphens, and skips what it cannot make; Poster's older documents write text
as a plain string with a ``style``, table columns with ``header``, widths in dots. Each thing
read that way is recorded as a warning starting with its JSON path in the document as sent
(``commands[3].data.style.colour: unknown key, ignored``), so that strict mode can refuse it.
What would print the wrong content is left alone, for validation to refuse.

A document that already matches the schema (the common case, checked by the compiled
validator) only gets the checks a schema cannot make: command types, images that decode.
"""
from __future__ import annotations

import functools
from typing import Any

import attrs

from ticketd import paper

from . import images
from .schema import COMMAND_TYPES, load_schema

#: Other names clients give to enum values (after case and separators are folded).
_SYNONYMS = {"jan13": "ean13", "jan8": "ean8", "nw7": "codabar", "centre": "center",
             "qrcode": "qr"}
_SKIP = object()  # a command left out


@attrs.frozen
class Intake:
    """The v1 document, what had to be interpreted, and where each command came from."""

    document: Any
    warnings: tuple[str, ...]
    #: ``origin[k]``: index in the document as sent of the command now at ``k``.
    origin: tuple[int, ...]
    #: True when ``document`` is the input itself (nothing was rewritten).
    untouched: bool


def fold(value: str) -> str:
    """The spelling used to match enum values: lower case, no ``-``, ``_`` or spaces."""
    folded = value.lower().replace("-", "").replace("_", "").replace(" ", "")
    return _SYNONYMS.get(folded, folded)


@functools.lru_cache(maxsize=1)
def _defs() -> dict[str, Any]:
    return load_schema()["$defs"]


@functools.lru_cache(maxsize=None)
def _enum_map(members: tuple) -> dict[str, Any]:
    return {fold(m): m for m in members if isinstance(m, str)}


_TYPES = {fold(t): t for t in COMMAND_TYPES}


def _resolve(schema: dict) -> dict:
    ref = schema.get("$ref")
    return _defs()[ref.rsplit("/", 1)[1]] if ref else schema


def intake(doc: Any, *, valid: bool = False) -> Intake:
    """Read ``doc`` (parsed JSON) as a v1 document. ``valid``: it already matches the
    schema, so only the checks a schema cannot make are needed."""
    reader = _Reader()
    if not isinstance(doc, dict):
        return Intake(doc, (), (), True)
    out = reader.document(doc, valid)
    return Intake(out, tuple(reader.warnings), tuple(reader.origin),
                  out is doc and not reader.warnings)


class _Reader:
    """One intake: the warnings so far and the origin of each command kept."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.origin: list[int] = []

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{path}: {message}")

    # --- generic, schema driven ----------------------------------------------------------

    def value(self, path: str, value: Any, schema: dict) -> Any:
        """``value`` read against ``schema``: enums folded, objects and arrays walked."""
        schema = _resolve(schema)
        enum = schema.get("enum")
        if enum is not None:
            if isinstance(value, str) and value not in enum:
                canon = _enum_map(tuple(enum)).get(fold(value))
                if canon is not None:
                    self.warn(path, f"{value!r} read as {canon!r}")
                    return canon
            return value
        if isinstance(value, dict) and "properties" in schema:
            return self.object(path, value, schema)
        items = schema.get("items")
        if isinstance(value, list) and items is not None and (
                "$ref" in items or "properties" in items):
            return [self.value(f"{path}[{k}]", v, items) for k, v in enumerate(value)]
        return value

    def object(self, path: str, obj: dict, schema: dict, done: frozenset = frozenset()) -> dict:
        """Known keys read against their schemas; unknown keys dropped with a warning.
        Keys in ``done`` were read already (by a dialect rule, at their original path)."""
        props = schema["properties"]
        out = {}
        for key, v in obj.items():
            if key in done:
                out[key] = v
            elif key in props:
                out[key] = self.value(f"{path}.{key}", v, props[key])
            else:
                self.warn(f"{path}.{key}", "unknown key, ignored")
        size = out.get("size") if schema is _defs()["TextStyle"] else None
        if isinstance(size, str) and size != size.strip().lower():
            self.warn(f"{path}.size", f"{size!r} read as {size.strip().lower()!r}")
            out["size"] = size.strip().lower()
        return out

    # --- the document --------------------------------------------------------------------

    def document(self, doc: dict, valid: bool) -> dict:
        top = load_schema()["properties"]
        out: dict[str, Any] = {}
        changed = False
        for key, v in doc.items():
            if key == "commands":
                new = self.commands(v, valid)
            elif key == "profile":
                new = self.profile(v) if isinstance(v, dict) else v
            elif key in top:
                new = v
            else:
                self.warn(key, "unknown key, ignored")
                changed = True
                continue
            changed = changed or new is not v
            out[key] = new
        return out if changed else doc

    def profile(self, sent: dict) -> dict:
        """The profile read; ``sent`` itself when nothing had to be interpreted (every
        change below warns), so that a v1 document stays untouched."""
        before = len(self.warnings)
        p = dict(sent)
        if "supports_qr" in p and "has_qr" not in p:
            self.warn("profile.supports_qr", "read as has_qr")
            p["has_qr"] = p.pop("supports_qr")
        if "width" in p and "paper_width" not in p:
            self.warn("profile.width", "read as paper_width")
            p["paper_width"] = p.pop("width")
        width = p.get("paper_width")
        if type(width) is int and width not in paper.PAPER_WIDTHS and width > max(
                paper.PAPER_WIDTHS):
            dpi = p.get("dpi") if p.get("dpi") in paper.DPIS else paper.DEFAULT_DPI
            mm = paper_for_dots(width, dpi)
            if mm is not None:
                self.warn("profile.paper_width", f"{width} dots read as {mm} mm")
                p["paper_width"] = mm
        read = self.object("profile", p, load_schema()["properties"]["profile"])
        return sent if len(self.warnings) == before else read

    def commands(self, commands: Any, valid: bool) -> Any:
        if not isinstance(commands, list):
            return commands
        out = []
        changed = False
        as_is = _AS_IS if valid else ()
        for i, cmd in enumerate(commands):
            # v1 as it is (the common case: every text line); valid: a dict with a str type
            new = cmd if as_is and cmd["type"] in as_is else self.command(i, cmd, valid)
            if new is _SKIP:
                changed = True
                continue
            changed = changed or new is not cmd
            out.append(new)
            self.origin.append(i)
        return out if changed else commands

    def command(self, i: int, cmd: Any, valid: bool) -> Any:
        if not isinstance(cmd, dict) or not isinstance(cmd.get("type"), str):
            return cmd                      # the schema says what is wrong
        ctype = cmd["type"]
        if valid and ctype in _AS_IS:
            return cmd
        base = f"commands[{i}]"
        if ctype not in COMMAND_TYPES:
            canon = _TYPES.get(fold(ctype))
            if canon is None:
                self.warn(f"{base}.type", f"unknown command type {ctype!r}, skipped")
                return _SKIP
            self.warn(f"{base}.type", f"{ctype!r} read as {canon!r}")
        else:
            canon = ctype
        data = cmd.get("data")
        path = f"{base}.data"
        if isinstance(data, dict):
            if not valid or canon != ctype:
                data = _DIALECTS.get(canon, _Reader.body)(self, path, data, canon)
            data = _COSMETIC.get(canon, _keep)(self, path, data)
            if data is _SKIP:
                return _SKIP
        out = {"type": canon}
        for key, v in cmd.items():
            if key == "data":
                out["data"] = data
            elif key != "type":
                self.warn(f"{base}.{key}", "unknown key, ignored")
        return cmd if out == cmd and data is cmd.get("data") else out

    def body(self, path: str, data: dict, ctype: str, done: frozenset = frozenset()) -> dict:
        return self.object(path, data, _defs()[ctype], done)

    # --- dialects: older forms of a command body -----------------------------------------

    def text(self, path: str, data: dict, ctype: str) -> dict:
        data = dict(data)
        done = set()
        if "newline" in data and "new_line" not in data:
            self.warn(f"{path}.newline", "read as new_line")
            data["new_line"] = data.pop("newline")
        content = data.get("content")
        if isinstance(content, str):
            self.warn(f"{path}.content", "a plain string, read as content.text")
            new: dict[str, Any] = {"text": content}
            style = data.pop("style", None)
            if isinstance(style, dict):
                self.warn(f"{path}.style", "read as content.content_style")
                new["content_style"] = self.value(f"{path}.style", style, _defs()["TextStyle"])
            elif style is not None:
                data["style"] = style       # reported as an unknown key
            data["content"] = new
            done.add("content")
        elif isinstance(content, dict) and "new_line" in content:
            content = dict(content)
            moved = content.pop("new_line")
            if "new_line" not in data:
                self.warn(f"{path}.content.new_line", "read as new_line")
                data["new_line"] = moved
            else:
                self.warn(f"{path}.content.new_line", "unknown key, ignored")
            data["content"] = content
        label = data.get("label")
        if isinstance(label, str):
            self.warn(f"{path}.label", "a plain string, read as label.text")
            data["label"] = {"text": label}
        return self.body(path, data, ctype, frozenset(done))

    def image(self, path: str, data: dict, ctype: str) -> dict:
        if "width" in data and "pixel_width" not in data:
            data = dict(data)
            self.warn(f"{path}.width", "read as pixel_width")
            data["pixel_width"] = data.pop("width")
        out = self.body(path, data, ctype)
        fmt = out.get("format")
        if fmt is not None and fmt not in _defs()["image"]["properties"]["format"]["enum"]:
            self.warn(f"{path}.format", f"{fmt!r} ignored, the format is read from the data")
            del out["format"]
        return out

    def table(self, path: str, data: dict, ctype: str) -> dict:
        data = dict(data)
        if "columns" in data and "definition" not in data:
            self.warn(f"{path}.columns", "read as definition.columns")
            data["definition"] = {"columns": data.pop("columns")}
        definition = data.get("definition")
        columns = definition.get("columns") if isinstance(definition, dict) else None
        if isinstance(columns, list):
            named = False
            fixed = []
            for k, col in enumerate(columns):
                if isinstance(col, dict) and "name" not in col:
                    col = dict(col)
                    cpath = f"{path}.definition.columns[{k}]"
                    if "header" in col:
                        self.warn(f"{cpath}.header", "read as name")
                        col["name"] = col.pop("header")
                    else:
                        self.warn(cpath, "no name, read as ''")
                        col["name"] = ""
                named = named or bool(isinstance(col, dict) and col.get("name"))
                fixed.append(col)
            data["definition"] = dict(definition, columns=fixed)
            if not named and "show_headers" not in data:
                self.warn(f"{path}.show_headers", "no column has a name: read as false")
                data["show_headers"] = False
            data["rows"] = self.rows(f"{path}.rows", data.get("rows"), len(fixed))
        return self.body(path, data, ctype)

    def rows(self, path: str, rows: Any, n: int) -> Any:
        """Rows read unambiguously: numbers as text, empty cells past the last column
        dropped, an empty row as a row of empty cells."""
        if not isinstance(rows, list):
            return rows
        out = []
        for r, row in enumerate(rows):
            if isinstance(row, list):
                if any(type(c) in (int, float) for c in row):
                    self.warn(f"{path}[{r}]", "numbers read as text")
                    row = [str(c) if type(c) in (int, float) else c for c in row]
                if not row and n:
                    self.warn(f"{path}[{r}]", "an empty row, read as empty cells")
                    row = [""] * n
                elif len(row) > n and all(c == "" for c in row[n:] if isinstance(c, str)) \
                        and all(isinstance(c, str) for c in row[n:]):
                    self.warn(f"{path}[{r}]", f"{len(row) - n} empty cells past the last "
                                              f"column, ignored")
                    row = row[:n]
            out.append(row)
        return out

    # --- cosmetic elements that cannot be made -------------------------------------------

    def image_code(self, path: str, data: dict) -> Any:
        code = data.get("code")
        problem = _image_problem(code) if isinstance(code, str) and code else "no image data"
        if problem is None:
            return data
        self.warn(f"{path}.code", f"{problem}; the image is left out")
        return _SKIP

    def qr_logo(self, path: str, data: dict) -> Any:
        if "logo" not in data:
            return data
        logo = data["logo"]
        problem = _image_problem(logo) if isinstance(logo, str) and logo else "no image data"
        if problem is None:
            return data
        self.warn(f"{path}.logo", f"{problem}; the QR code is printed without it")
        return {k: v for k, v in data.items() if k != "logo"}

    def definition_width(self, path: str, data: dict) -> Any:
        definition = data.get("definition")
        if isinstance(definition, dict) and "paper_width" in definition:
            self.warn(f"{path}.definition.paper_width",
                      "ignored, the line width comes from the profile")
            return dict(data, definition={k: v for k, v in definition.items()
                                          if k != "paper_width"})
        return data


def _keep(reader: _Reader, path: str, data: dict) -> dict:
    return data


_DIALECTS = {"text": _Reader.text, "image": _Reader.image, "table": _Reader.table}
_COSMETIC = {"image": _Reader.image_code, "qr": _Reader.qr_logo,
             "table": _Reader.definition_width}
#: Types whose valid commands intake takes as they are.
_AS_IS = frozenset(COMMAND_TYPES) - _COSMETIC.keys()


def _image_problem(code: str) -> str | None:
    """Why the base64 image cannot be made, or None (header only: no pixel decoded)."""
    try:
        images.probe(code)
    except images.ImageProblem as exc:
        return str(exc)
    return None


def paper_for_dots(dots: int, dpi: int) -> int | None:
    """The widest paper (mm) whose printable width at ``dpi`` fits in ``dots``."""
    fits = [w for w in paper.PAPER_WIDTHS if paper.printable_dots(w, dpi) <= dots]
    return max(fits, key=lambda w: paper.printable_dots(w, dpi)) if fits else None
