"""Bar patterns of 1D barcodes and QR matrices, as printers make them.

Patterns are strings of modules ("1" = bar, "0" = space) built from the
character tables of python-barcode (a python-escpos dependency); the ESC/POS
rules (Code128 ``{A``/``{B``/``{C`` code set prefixes, Code C as byte values,
check digits computed by the printer) are applied here. Each function returns
``(modules, hri)`` or raises ValueError with a short reason.
"""
from __future__ import annotations

from typing import Any

# python-barcode's tables (pure data modules)
from barcode.charsets import codabar as _codabar
from barcode.charsets import code39 as _code39
from barcode.charsets import code128 as _code128
from barcode.charsets import ean as _ean
from barcode.charsets import itf as _itf

#: GS k function A (m 0-6) and B (m 65-73) symbologies
SYMBOLOGIES = {0: "upca", 1: "upce", 2: "ean13", 3: "ean8", 4: "code39", 5: "itf",
               6: "codabar", 65: "upca", 66: "upce", 67: "ean13", 68: "ean8",
               69: "code39", 70: "itf", 71: "codabar", 72: "code93", 73: "code128",
               74: "gs1-databar-omni", 75: "gs1-databar-truncated",
               76: "gs1-databar-limited", 77: "gs1-databar-expanded",
               78: "code128-auto"}


def _digits(data: bytes) -> str:
    text = data.decode("latin-1")
    if not text.isdigit() or not text.isascii():
        raise ValueError("digits only")
    return text


def _ean_check(digits: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def ean13(data: bytes) -> tuple[str, str]:
    d = _digits(data)
    if len(d) == 12:
        d += _ean_check(d)
    elif len(d) != 13:
        raise ValueError("EAN13 needs 12 or 13 digits")
    codes = _ean.CODES
    parity = _ean.LEFT_PATTERN[int(d[0])]
    left = "".join(codes[p][int(c)] for p, c in zip(parity, d[1:7]))
    right = "".join(codes["C"][int(c)] for c in d[7:])
    return _ean.EDGE + left + _ean.MIDDLE + right + _ean.EDGE, d


def upca(data: bytes) -> tuple[str, str]:
    d = _digits(data)
    if len(d) == 11:
        d += _ean_check(d)
    elif len(d) != 12:
        raise ValueError("UPC-A needs 11 or 12 digits")
    modules, _ = ean13(("0" + d).encode())
    return modules, d


def ean8(data: bytes) -> tuple[str, str]:
    d = _digits(data)
    if len(d) == 7:
        d += _ean_check(d)
    elif len(d) != 8:
        raise ValueError("EAN8 needs 7 or 8 digits")
    codes = _ean.CODES
    left = "".join(codes["A"][int(c)] for c in d[:4])
    right = "".join(codes["C"][int(c)] for c in d[4:])
    return _ean.EDGE + left + _ean.MIDDLE + right + _ean.EDGE, d


_UPCE_PARITY = ("BBBAAA", "BBABAA", "BBAABA", "BBAAAB", "BABBAA",
                "BAABBA", "BAAABB", "BABABA", "BABAAB", "BAABAB")


def _upce_to_upca(six: str) -> str:
    d = six
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return "0" + body


def upce(data: bytes) -> tuple[str, str]:
    """UPC-E from 6, 7 (0 + 6) or 8 (0 + 6 + check) digits, number system 0."""
    d = _digits(data)
    if len(d) == 6:
        d = "0" + d
    if len(d) == 8:
        d = d[:7]
    if len(d) != 7 or d[0] != "0":
        raise ValueError("UPC-E needs 6-8 digits, number system 0")
    check = _ean_check(_upce_to_upca(d[1:]))
    parity = _UPCE_PARITY[int(check)]
    codes = _ean.CODES
    body = "".join(codes[p][int(c)] for p, c in zip(parity, d[1:]))
    return "101" + body + "010101", d + check


def code39(data: bytes) -> tuple[str, str]:
    text = data.decode("latin-1")
    if text.startswith("*") and text.endswith("*") and len(text) >= 2:
        text = text[1:-1]
    parts = [_code39.EDGE]
    for ch in text:
        hit = _code39.MAP.get(ch)
        if hit is None:
            raise ValueError(f"{ch!r} not in Code39")
        parts.append(hit[1])
    parts.append(_code39.EDGE)
    return "0".join(parts), f"*{text}*"


def _wide_narrow(pattern: str) -> str:
    """W/N = wide/narrow bar, w/n = wide/narrow space (ratio 3:1... printers use 2.5)."""
    out = []
    for c in pattern:
        out.append({"N": "1", "W": "111", "n": "0", "w": "000"}[c])
    return "".join(out)


def itf(data: bytes) -> tuple[str, str]:
    d = _digits(data)
    if len(d) < 2 or len(d) % 2:
        raise ValueError("ITF needs an even number of digits")
    parts = [_wide_narrow(_itf.START)]
    for a, b in zip(d[::2], d[1::2]):
        bars, spaces = _itf.CODES[int(a)], _itf.CODES[int(b)]
        parts.append(_wide_narrow("".join(x + y.lower() for x, y in zip(bars, spaces))))
    parts.append(_wide_narrow(_itf.STOP))
    return "".join(parts), d


def codabar(data: bytes) -> tuple[str, str]:
    text = data.decode("latin-1").upper()
    if len(text) < 2 or text[0] not in "ABCD" or text[-1] not in "ABCD":
        raise ValueError("Codabar starts and ends with A-D")
    parts = [_wide_narrow(_codabar.STARTSTOP[text[0]])]
    for ch in text[1:-1]:
        code = _codabar.CODES.get(ch)
        if code is None:
            raise ValueError(f"{ch!r} not in Codabar")
        parts.append(_wide_narrow(code))
    parts.append(_wide_narrow(_codabar.STARTSTOP[text[-1]]))
    return "0".join(parts), text


# Code 128 values
_SHIFT, _CODE_C, _CODE_B, _CODE_A = 98, 99, 100, 101
_FNC = {ord("1"): 102, ord("2"): 97, ord("3"): 96}


def code128(data: bytes) -> tuple[str, str]:
    """ESC/POS Code128: data starts with ``{A``, ``{B`` or ``{C``; in code set C each
    byte is a value 0-99 (Epson), or ASCII digit pairs (accepted as well)."""
    if len(data) < 2 or data[0] != 0x7B or data[1] not in b"ABC":
        raise ValueError("Code128 data must start with {A, {B or {C")
    A = _code128.A
    setname = chr(data[1])
    values = [{"A": 103, "B": 104, "C": 105}[setname]]
    hri: list[str] = []
    i = 2
    n = len(data)
    while i < n:
        b = data[i]
        if b == 0x7B:                     # "{" escape
            if i + 1 >= n:
                raise ValueError("lone { at the end")
            c = data[i + 1]
            i += 2
            if c == 0x7B:
                if setname == "C":
                    raise ValueError("{{ in code set C")
                values.append(A["{"] if setname == "A" and "{" in A else 91)
                hri.append("{")
            elif c in b"ABC":
                newset = chr(c)
                if newset != setname:
                    values.append({"A": _CODE_A, "B": _CODE_B, "C": _CODE_C}[newset])
                    setname = newset
            elif c == ord("S"):
                values.append(_SHIFT)
            elif c in _FNC:
                values.append(_FNC[c])
            elif c == ord("4"):
                values.append(_CODE_A if setname == "A" else _CODE_B)
            else:
                raise ValueError(f"unknown Code128 escape {{{chr(c)}")
            continue
        if setname == "C":
            if b <= 99:
                values.append(b)
                hri.append(f"{b:02d}")
                i += 1
            elif 0x30 <= b <= 0x39 and i + 1 < n and 0x30 <= data[i + 1] <= 0x39:
                values.append((b - 0x30) * 10 + data[i + 1] - 0x30)
                hri.append(chr(b) + chr(data[i + 1]))
                i += 2
            else:
                raise ValueError("code set C takes values 0-99")
            continue
        if setname == "A":
            if b < 0x20:
                values.append(b + 64)
            elif b < 0x60:
                values.append(b - 32)
            else:
                raise ValueError(f"byte {b:#04x} not in code set A")
            hri.append(chr(b) if b >= 0x20 else " ")
        else:
            if not 0x20 <= b <= 0x7F:
                raise ValueError(f"byte {b:#04x} not in code set B")
            values.append(b - 32)
            hri.append(chr(b))
        i += 1
    if len(values) < 2:
        raise ValueError("no data")
    check = (values[0] + sum(k * v for k, v in enumerate(values[1:], 1))) % 103
    values.append(check)
    return ("".join(_code128.CODES[v] for v in values) + _code128.STOP + "11",
            "".join(hri))


_PATTERNS = {"upca": upca, "upce": upce, "ean13": ean13, "ean8": ean8,
             "code39": code39, "itf": itf, "codabar": codabar, "code128": code128}


def barcode_modules(symbology: str, data: bytes) -> tuple[str, str]:
    """``(modules, hri)`` of a GS k barcode; ValueError if it cannot be made."""
    make = _PATTERNS.get(symbology)
    if make is None:
        raise ValueError("symbology not drawn by the preview")
    return make(data)


_QR_EC = {"L": 1, "M": 0, "Q": 3, "H": 2}   # qrcode.constants


def qr_matrix(data: bytes, correction: str) -> list[list[bool]]:
    """The QR symbol (no quiet zone) as rows of booleans; ValueError if too long."""
    import qrcode
    from qrcode.exceptions import DataOverflowError

    qr = qrcode.QRCode(version=None, box_size=1, border=0,
                       error_correction=_QR_EC.get(correction, 1))
    qr.add_data(data)
    try:
        qr.make(fit=True)
    except (DataOverflowError, ValueError) as exc:
        raise ValueError(f"QR data does not fit: {exc}") from None
    matrix: Any = qr.get_matrix()
    return matrix
