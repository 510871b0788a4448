"""The project's JSON Schema for v1 documents and a shared validator.

``document.schema.json`` dispatches on ``type`` with ``allOf`` of ``if/then``
(upstream's ``oneOf`` matches several command bodies at once). The validator
is built once, lazily (jsonschema validators are read-only, so sharing one
between worker threads is safe).
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
    """A ``Draft202012Validator`` for the schema (checked once)."""
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


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
    from .fastcheck import compiled

    if compiled()(doc):        # fast yes; jsonschema only to explain a no
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
