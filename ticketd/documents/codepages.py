"""Code tables: ``ESC t n`` numbers, Python codecs and our own encoder.

We never let python-escpos' MagicEncode pick a code page: the document names
one, we select it with ``ESC t`` and encode every character ourselves,
replacing what the table lacks (transliteration, else ``?``) with a warning.
Numbers are Epson's (and python-escpos' default profile ``codePages``).
"""
from __future__ import annotations

import functools
import unicodedata

#: name -> (ESC t n, Python codec)
CODE_TABLES: dict[str, tuple[int, str]] = {
    "PC437": (0, "cp437"),
    "PC850": (2, "cp850"),
    "PC860": (3, "cp860"),
    "PC863": (4, "cp863"),
    "PC865": (5, "cp865"),
    "PC857": (13, "cp857"),
    "PC737": (14, "cp737"),
    "WPC1252": (16, "cp1252"),
    "PC866": (17, "cp866"),
    "PC852": (18, "cp852"),
    "PC858": (19, "cp858"),
    "ISO8859-2": (39, "iso8859_2"),
    "ISO8859-15": (40, "iso8859_15"),
    "WPC1250": (45, "cp1250"),
    "WPC1251": (46, "cp1251"),
    "WPC1253": (47, "cp1253"),
    "WPC1254": (48, "cp1254"),
    "WPC1257": (51, "cp1257"),
}

DEFAULT_CODE_TABLE = "WPC1252"

#: Common aliases clients send (CP850, cp1252, ...).
_ALIASES = {f"CP{k[2:]}": k for k in CODE_TABLES if k.startswith("PC")}
_ALIASES.update({f"CP{k[3:]}": k for k in CODE_TABLES if k.startswith("WPC")})
_ALIASES.update({"ISO-8859-2": "ISO8859-2", "ISO-8859-15": "ISO8859-15",
                 "WINDOWS-1252": "WPC1252", "PC1252": "WPC1252"})

#: Transliterations tried before the NFKD fallback.
_TRANSLIT = {
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u20ac": "EUR", "\u00a0": " ", "\u2022": "*",
    "\u00d7": "x", "\u0152": "OE", "\u0153": "oe", "\u00c6": "AE",
    "\u00e6": "ae", "\u00df": "ss", "\u0141": "L", "\u0142": "l",
    "\u0110": "D", "\u0111": "d", "\u00d8": "O", "\u00f8": "o",
    "\u2122": "TM", "\u00a9": "(C)", "\u00ae": "(R)", "\u00b7": ".",
    "\t": " ",
}


def canonical_table(name: str) -> str | None:
    """Return the canonical table name for ``name``, or None if unknown."""
    up = name.strip().upper()
    if up in CODE_TABLES:
        return up
    return _ALIASES.get(up)


def select_command(table: str) -> bytes:
    """``ESC t n`` selecting ``table``."""
    return b"\x1bt" + bytes((CODE_TABLES[table][0],))


@functools.lru_cache(maxsize=4096)
def _replacement(ch: str, codec: str) -> tuple[str, bytes]:
    """Best printable stand-in for a character the codec lacks."""
    candidates = []
    if ch in _TRANSLIT:
        candidates.append(_TRANSLIT[ch])
    decomposed = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and base != ch:
        candidates.append(base)
    for cand in candidates:
        try:
            return cand, cand.encode(codec)
        except UnicodeEncodeError:
            continue
    return "?", b"?"


class Encoder:
    """Encode text for one job in one table, collecting replacement warnings.

    One instance per render (not shared between threads).
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self.codec = CODE_TABLES[table][1]
        self.warnings: list[str] = []
        self._seen: set[str] = set()

    def encode(self, text: str) -> bytes:
        """Encode ``text``; unknown characters are replaced and reported once."""
        try:
            return text.encode(self.codec)
        except UnicodeEncodeError:
            pass
        out = bytearray()
        codec = self.codec
        for ch in text:
            try:
                out += ch.encode(codec)
            except UnicodeEncodeError:
                shown, data = _replacement(ch, codec)
                out += data
                if ch not in self._seen:
                    self._seen.add(ch)
                    self.warnings.append(
                        f"text: {ch!r} not in {self.table}, printed as {shown!r}")
        return bytes(out)

    def printable(self, text: str) -> str:
        """The text as it will appear on paper (for previews)."""
        try:
            text.encode(self.codec)
            return text
        except UnicodeEncodeError:
            pass
        parts = []
        for ch in text:
            try:
                ch.encode(self.codec)
                parts.append(ch)
            except UnicodeEncodeError:
                parts.append(_replacement(ch, self.codec)[0])
        return "".join(parts)
