"""Text into a document's code table: the tables a document may name, ``ESC t`` to select
one, and our own encoder.

We never let python-escpos' MagicEncode pick a code page: the document names
one, we select it with ``ESC t`` and encode every character ourselves,
replacing what the table lacks (transliteration, else ``?``) with a warning.
Numbers and codecs are :mod:`ticketd.codepages`' (one table with the receipt picture's).
"""
from __future__ import annotations

import functools
import unicodedata

from ticketd.codepages import BY_NAME, CodeTable

#: The tables a document may name (of those :mod:`ticketd.codepages` knows), by name.
DOCUMENT_TABLES: dict[str, CodeTable] = {name: BY_NAME[name] for name in (
    "PC437", "PC850", "PC860", "PC863", "PC865", "PC857", "PC737", "WPC1252", "PC866",
    "PC852", "PC858", "ISO8859-2", "ISO8859-15", "WPC1250", "WPC1251", "WPC1253",
    "WPC1254", "WPC1257")}

DEFAULT_CODE_TABLE = "WPC1252"

#: Common aliases clients send (CP850, cp1252, ...).
_ALIASES = {f"CP{k[2:]}": k for k in DOCUMENT_TABLES if k.startswith("PC")}
_ALIASES.update({f"CP{k[3:]}": k for k in DOCUMENT_TABLES if k.startswith("WPC")})
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
    if up in DOCUMENT_TABLES:
        return up
    return _ALIASES.get(up)


def select_command(table: str) -> bytes:
    """``ESC t n`` selecting ``table``."""
    return b"\x1bt" + bytes((DOCUMENT_TABLES[table].number,))


@functools.lru_cache(maxsize=4096)
def _replacement(ch: str, codec: str) -> str | None:
    """Best printable stand-in for ``ch`` if the codec lacks it (None: it has it)."""
    try:
        ch.encode(codec)
        return None
    except UnicodeEncodeError:
        pass
    candidates = []
    if ch in _TRANSLIT:
        candidates.append(_TRANSLIT[ch])
    decomposed = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and base != ch:
        candidates.append(base)
    for cand in candidates:
        try:
            cand.encode(codec)
            return cand
        except UnicodeEncodeError:
            continue
    return "?"


def _stand_ins(text: str, codec: str) -> dict[str, str]:
    """The characters of ``text`` the codec lacks and their stand-ins, in the order they
    first appear (each distinct character is looked at once, not every occurrence)."""
    found = {}
    for ch in dict.fromkeys(text):
        shown = _replacement(ch, codec)
        if shown is not None:
            found[ch] = shown
    return found


class Encoder:
    """Encode text for one job in one table, collecting replacement warnings.

    One instance per render (not shared between threads).
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self.codec = DOCUMENT_TABLES[table].codec
        self.warnings: list[str] = []
        self._seen: set[str] = set()

    def encode(self, text: str) -> bytes:
        """Encode ``text``; unknown characters are replaced and reported once."""
        try:
            return text.encode(self.codec)
        except UnicodeEncodeError:
            pass
        stand_ins = _stand_ins(text, self.codec)
        for ch, shown in stand_ins.items():
            if ch not in self._seen:
                self._seen.add(ch)
                self.warnings.append(f"text: {ch!r} not in {self.table}, printed as {shown!r}")
        return text.translate(str.maketrans(stand_ins)).encode(self.codec)

    def printable(self, text: str) -> str:
        """The text as it will appear on paper (for previews)."""
        try:
            text.encode(self.codec)
            return text
        except UnicodeEncodeError:
            pass
        return text.translate(str.maketrans(_stand_ins(text, self.codec)))
