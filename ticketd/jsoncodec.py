"""JSON on a job's path, read and written with orjson where it gives what ``json`` gives.

Every document is parsed when it arrives, written once to the journal as compact UTF-8 and
parsed again for rendering: with the standard ``json`` module that was a tenth of a
receipt's CPU (docs/benchmarks.rst). orjson does it several times faster, but reads and
writes a few things differently; for those the ``json`` module is used, so that no result
(and no error message) changes:

- an integer of 19 digits or more: orjson reads one past 64 bits (or below -2**63) as a
  float, losing digits (a barcode sent as a number);
- what orjson refuses to read (``NaN``, ``1e400``, a lone surrogate escape, a byte order
  mark): ``json`` reads it, or raises its own error;
- a text with more than 512 ``[`` and ``{``, which may nest deeper than ``json`` (and the
  code that walks a document) goes: orjson reads 1,024 levels, ``json`` gives up where
  the interpreter's recursion limit says;
- what orjson refuses to write (integers past 64 bits, lone surrogates, keys that are not
  strings), what it writes as ``null`` (NaN and infinities) and what ``json`` refuses
  (dates, dataclasses: passed through to it): written by ``json``, or its error.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import orjson

# 19 digits in a row, found by a byte translation and a find: ten times faster than a regex
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"0" * 9)
_NINETEEN_DIGITS = b"0" * 19
_MAX_BRACKETS = 512
_WRITE = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def no_constant(name: str) -> Any:
    """``parse_constant`` for ``json.loads``: ``NaN`` and ``Infinity`` are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes, fallback: Callable[[bytes], Any] = json.loads) -> Any:
    """``fallback(data)``'s value, faster: ``fallback`` is the caller's own ``json.loads``
    (how it decodes the bytes, what it does with ``NaN``), used where orjson would read the
    text otherwise or refuses it, so that its value or its error is the result."""
    if data.count(b"[") + data.count(b"{") <= _MAX_BRACKETS and \
            data.translate(_DIGITS_AS_ZERO).find(_NINETEEN_DIGITS) < 0:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # json says what is wrong, in its own words, or reads what orjson refuses
    return fallback(data)


def dumps_compact(value: Any) -> bytes:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()``: read back
    by :func:`loads` to an equal value (floats may be spelled differently: ``1e-7``)."""
    try:
        data = orjson.dumps(value, option=_WRITE)
    except TypeError:  # orjson.JSONEncodeError: json has rules for these, or raises
        data = None
    if data is None or b"null" in data:  # null may be NaN or an infinity: json keeps those
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return data
