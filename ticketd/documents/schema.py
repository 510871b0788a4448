"""The project's JSON Schema for v1 documents and a shared validator.

``document.schema.json`` (draft-07) dispatches on ``type`` with ``allOf`` of
``if/then`` (upstream's ``oneOf`` matches several command bodies at once).

Two validators share the one schema: jsonschema-rs (compiled, Rust) gives the verdict on
the happy path (a 40-command receipt in about 25 us; the Python code fastjsonschema
generated took 130 us, jsonschema ~18 ms), and jsonschema is asked only to explain a
document that failed, since its errors carry the paths and messages we report. Both are
built once, lazily, and are read-only, so worker threads share them safely.
"""
from __future__ import annotations

import functools
import json
from collections import deque
from pathlib import Path
from typing import Any, Iterable

SCHEMA_PATH = Path(__file__).with_name("document.schema.json")

#: Command types the schema knows (the ``allOf`` branches).
COMMAND_TYPES = ("text", "image", "separator", "feed", "cut", "qr", "table",
                 "barcode", "raw", "pulse", "beep")


@functools.lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The parsed schema document."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def validator() -> Any:
    """A ``Draft7Validator`` for the schema (checked once): explains failures."""
    from jsonschema import Draft7Validator

    schema = load_schema()
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@functools.lru_cache(maxsize=1)
def fast_check() -> Any:
    """``check(doc) -> bool``, the schema's verdict, from jsonschema-rs.

    What jsonschema-rs cannot convert (a non-str key, an object that is not JSON) gets
    jsonschema's verdict: never a guess, only slower.
    """
    import jsonschema_rs

    is_valid = jsonschema_rs.Draft7Validator(load_schema()).is_valid

    def check(doc: Any) -> bool:
        try:
            return is_valid(doc)
        except ValueError:
            return validator().is_valid(doc)

    return check


def json_path(parts: Iterable[Any]) -> str:
    """``['commands', 4, 'data']`` -> ``commands[4].data``; root -> ``document``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "document"


def schema_errors(doc: Any) -> list[tuple[deque, str]]:
    """All schema violations as (absolute path, message), in document order."""
    if fast_check()(doc):      # fast yes; jsonschema only to explain a no
        return []
    errors = []
    for err in validator().iter_errors(doc):
        msg = err.message
        if len(msg) > 200:
            msg = msg[:197] + "..."
        errors.append((err.absolute_path, msg))
    errors.sort(key=lambda e: [(0, p) if isinstance(p, int) else (1, str(p))
                               for p in e[0]])
    return errors
