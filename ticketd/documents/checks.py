"""Pure checks a JSON Schema cannot express: sizes, barcodes, QR, raw bytes.

Shared by validation (to report errors) and rendering (to get the values).
"""
from __future__ import annotations

import base64
import binascii
import re

_SIZE = re.compile(r"^([1-8])x([1-8])$")


def parse_size(size: str) -> tuple[int, int] | None:
    """``"2x1"`` -> (2, 1); None unless W and H are 1-8."""
    m = _SIZE.match(size)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _check_digit_ok(digits: str) -> bool:
    """GS1 mod-10 check digit (EAN-13, EAN-8, UPC-A)."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1)
                for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


_CODE39 = re.compile(r"^(\*?)[0-9A-Z $%+\-./]+\1$")
_CODABAR = re.compile(r"^[A-Da-d][0-9$+\-./:]+[A-Da-d]$")


def barcode_problem(symbology: str, data: str) -> str | None:
    """Why ``data`` cannot be printed as ``symbology``, or None if it can."""
    digits = data.isascii() and data.isdigit()
    if symbology in ("upca", "ean13", "ean8"):
        lengths = {"upca": (11, 12), "ean13": (12, 13), "ean8": (7, 8)}[symbology]
        if not digits or len(data) not in lengths:
            return f"{symbology} needs {lengths[0]} or {lengths[1]} digits, got {data!r}"
        if len(data) == lengths[1] and not _check_digit_ok(data):
            return f"wrong check digit in {data!r}"
    elif symbology == "upce":
        if not digits or len(data) not in (6, 7, 8, 11, 12):
            return f"upce needs 6-8 or 11-12 digits, got {data!r}"
    elif symbology == "code39":
        if not _CODE39.match(data):
            return f"code39 allows 0-9 A-Z space $ % + - . / only, got {data!r}"
    elif symbology == "itf":
        if not digits or len(data) % 2:
            return f"itf needs an even number of digits, got {data!r}"
    elif symbology == "codabar":
        if not _CODABAR.match(data):
            return f"codabar needs start/stop A-D around 0-9 $ + - . / :, got {data!r}"
    elif symbology == "code128":
        if not data.isascii():
            return f"code128 allows ASCII only, got {data!r}"
        if data.startswith("{") and not re.match(r"^\{[A-C].", data, re.S):
            return "code128 data starting with '{' must start with {A, {B or {C"
        if len(code128_payload(data)) > 255:
            return "code128 data longer than 253 characters"
    else:
        return f"unknown symbology {symbology!r}"
    return None


def code128_payload(data: str) -> str:
    """Code set B unless the client chose one with ``{A``/``{B``/``{C``."""
    return data if re.match(r"^\{[A-C]", data) else "{B" + data


#: QR version 40 capacities per mode and correction level.
_QR_CAPACITY = {
    "numeric": {"L": 7089, "M": 5596, "Q": 3993, "H": 3057},
    "alphanumeric": {"L": 4296, "M": 3391, "Q": 2420, "H": 1852},
    "byte": {"L": 2953, "M": 2331, "Q": 1663, "H": 1273},
}
_ALNUM = re.compile(r"^[0-9A-Z $%*+\-./:]+$")


def qr_problem(data: str, correction: str) -> str | None:
    """Too much data for a QR code at ``correction``? Message or None."""
    if data.isascii() and data.isdigit():
        mode, n = "numeric", len(data)
    elif _ALNUM.match(data):
        mode, n = "alphanumeric", len(data)
    else:
        mode, n = "byte", len(data.encode("utf-8", "surrogatepass"))
    cap = _QR_CAPACITY[mode][correction]
    if n > cap:
        unit = "bytes" if mode == "byte" else "characters"
        return (f"{n} {unit} do not fit a QR code with correction {correction} "
                f"(max {cap} {unit} in {mode} mode)")
    return None


#: Commands refused in a raw command with safe_mode.
BLOCKED_RAW = {
    b"\x1b@": "ESC @ (reset)",
    b"\x1b=": "ESC = (disable printer)",
    b"\x1bc5": "ESC c 5 (disable panel buttons)",
    b"\x1bp": "ESC p (drawer pulse)",
    b"\x10\x14": "DLE DC4 (real-time pulse/reset)",
}


def parse_raw(text: str, fmt: str = "hex") -> bytes:
    """Raw bytes from hex (spaces, ``0x`` and commas allowed) or base64."""
    if fmt == "base64":
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"invalid base64: {exc}") from None
    cleaned = re.sub(r"0[xX]", "", text)
    cleaned = re.sub(r"[\s,:]", "", cleaned)
    if len(cleaned) % 2:
        raise ValueError("odd number of hex digits")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError(f"not hexadecimal: {text[:40]!r}") from None


def raw_blocked(data: bytes) -> list[str]:
    """Names of blocked commands found in ``data``."""
    return [name for seq, name in BLOCKED_RAW.items() if seq in data]
