"""A compiled yes/no checker for document.schema.json (happy path only).

jsonschema takes ~0.4 ms per command with the if/then dispatch; a receipt
must render in about 2 ms. We compile the subset of keywords our schema uses
into closures that answer "valid?" fast; only when they say no does
validation ask jsonschema for the error messages. Unknown keywords make the
checker answer no, so it can never accept what jsonschema would refuse.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

Check = Callable[[Any], bool]

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}
_HANDLED = {"type", "enum", "const", "minimum", "maximum", "minLength", "maxLength",
            "pattern", "required", "properties", "additionalProperties", "items",
            "minItems", "maxItems", "$ref", "allOf", "if", "then", "$schema", "$id",
            "$defs", "title", "description"}


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _compile(schema: dict, root: dict, refs: dict[str, Check]) -> Check:
    if set(schema) - _HANDLED:
        return lambda v: False
    checks: list[Check] = []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        checks.append(lambda v, name=name: refs[name](v))
    if "type" in schema:
        checks.append(_TYPES[schema["type"]])
    if "enum" in schema:
        options = schema["enum"]
        checks.append(lambda v: any(_same(v, o) for o in options))
    if "const" in schema:
        c = schema["const"]
        checks.append(lambda v: _same(v, c))
    num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    if "minimum" in schema:
        lo = schema["minimum"]
        checks.append(lambda v, lo=lo: not num(v) or v >= lo)
    if "maximum" in schema:
        hi = schema["maximum"]
        checks.append(lambda v, hi=hi: not num(v) or v <= hi)
    if "minLength" in schema:
        n = schema["minLength"]
        checks.append(lambda v, n=n: not isinstance(v, str) or len(v) >= n)
    if "maxLength" in schema:
        n = schema["maxLength"]
        checks.append(lambda v, n=n: not isinstance(v, str) or len(v) <= n)
    if "pattern" in schema:
        rx = re.compile(schema["pattern"])
        checks.append(lambda v: not isinstance(v, str) or rx.search(v) is not None)
    if "required" in schema:
        req = schema["required"]
        checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in req))
    if "properties" in schema or "additionalProperties" in schema:
        props = {k: _compile(s, root, refs) for k, s in schema.get("properties", {}).items()}
        closed = schema.get("additionalProperties") is False

        def check_props(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for k, item in v.items():
                c = props.get(k)
                if c is None:
                    if closed:
                        return False
                elif not c(item):
                    return False
            return True
        checks.append(check_props)
    if "items" in schema:
        item = _compile(schema["items"], root, refs)
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    if "minItems" in schema:
        n = schema["minItems"]
        checks.append(lambda v, n=n: not isinstance(v, list) or len(v) >= n)
    if "maxItems" in schema:
        n = schema["maxItems"]
        checks.append(lambda v, n=n: not isinstance(v, list) or len(v) <= n)
    if "allOf" in schema:
        dispatch = _dispatch(schema["allOf"], root, refs)
        if dispatch is not None:
            checks.append(dispatch)
        else:
            subs = [_compile(s, root, refs) for s in schema["allOf"]]
            checks.append(lambda v: all(s(v) for s in subs))
    if "if" in schema:
        cond = _compile(schema["if"], root, refs)
        then = _compile(schema.get("then", {}), root, refs)
        checks.append(lambda v: not cond(v) or then(v))
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(c(v) for c in checks)


def _dispatch(branches: list, root: dict, refs: dict[str, Check]) -> Check | None:
    """``allOf`` of ``if type == X then ...`` as one dict lookup on ``type``."""
    table: dict[str, Check] = {}
    for b in branches:
        cond = b.get("if", {})
        if set(b) != {"if", "then"} or set(cond) != {"properties", "required"} \
                or cond["required"] != ["type"] or list(cond["properties"]) != ["type"] \
                or set(cond["properties"]["type"]) != {"const"} \
                or not isinstance(cond["properties"]["type"]["const"], str):
            return None
        table[cond["properties"]["type"]["const"]] = _compile(b["then"], root, refs)
    ok: Check = lambda v: True  # noqa: E731

    def check(v: Any) -> bool:
        if not isinstance(v, dict) or not isinstance(v.get("type"), str):
            return True
        return table.get(v["type"], ok)(v)
    return check


@functools.lru_cache(maxsize=1)
def compiled() -> Check:
    """The checker for the whole document schema."""
    from .schema import load_schema

    root = load_schema()
    refs: dict[str, Check] = {}
    for name, sub in root.get("$defs", {}).items():
        refs[name] = _compile(sub, root, refs)
    return _compile(root, root, refs)
