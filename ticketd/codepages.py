"""ESC/POS character code tables: each one's ``ESC t n`` number, name and Python codec.

One table for both directions, so that they cannot drift apart: documents encode their text
into a table and select it by number (:mod:`ticketd.documents.encoding`), and the receipt
picture decodes a job's bytes with the table the job selected. Numbers are Epson's (and
python-escpos' default profile ``codePages``).
"""
from __future__ import annotations

import functools

import attrs


@attrs.frozen
class CodeTable:
    """One character code table as ``ESC t`` selects it."""

    number: int  # n of ESC t n
    name: str    # "WPC1252", as Epson and documents name it
    codec: str   # the Python codec with the same 256 characters


TABLES: dict[int, CodeTable] = {t.number: t for t in (
    CodeTable(0, "PC437", "cp437"),
    CodeTable(2, "PC850", "cp850"),
    CodeTable(3, "PC860", "cp860"),
    CodeTable(4, "PC863", "cp863"),
    CodeTable(5, "PC865", "cp865"),
    CodeTable(13, "PC857", "cp857"),
    CodeTable(14, "PC737", "cp737"),
    CodeTable(15, "ISO8859-7", "iso8859_7"),
    CodeTable(16, "WPC1252", "cp1252"),
    CodeTable(17, "PC866", "cp866"),
    CodeTable(18, "PC852", "cp852"),
    CodeTable(19, "PC858", "cp858"),
    CodeTable(32, "PC720", "cp720"),
    CodeTable(33, "WPC775", "cp775"),
    CodeTable(34, "PC855", "cp855"),
    CodeTable(35, "PC861", "cp861"),
    CodeTable(36, "PC862", "cp862"),
    CodeTable(37, "PC864", "cp864"),
    CodeTable(38, "PC869", "cp869"),
    CodeTable(39, "ISO8859-2", "iso8859_2"),
    CodeTable(40, "ISO8859-15", "iso8859_15"),
    CodeTable(44, "PC1125", "cp1125"),
    CodeTable(45, "WPC1250", "cp1250"),
    CodeTable(46, "WPC1251", "cp1251"),
    CodeTable(47, "WPC1253", "cp1253"),
    CodeTable(48, "WPC1254", "cp1254"),
    CodeTable(49, "WPC1255", "cp1255"),
    CodeTable(50, "WPC1256", "cp1256"),
    CodeTable(51, "WPC1257", "cp1257"),
    CodeTable(52, "WPC1258", "cp1258"),
    CodeTable(53, "KZ1048", "kz1048"),
)}

BY_NAME: dict[str, CodeTable] = {t.name: t for t in TABLES.values()}

POWER_ON = 0  # PC437, what a printer selects at power on and after ESC @
USER_DEFINED = 255  # a page of the user's own glyphs; read as PC437
TABLES[USER_DEFINED] = attrs.evolve(TABLES[POWER_ON], number=USER_DEFINED)


def table_number(name: str | None) -> int | None:
    """``ESC t`` number for a name like "WPC1252", "PC850", "cp1252", "CP858"."""
    if name is None:
        return None
    up = name.strip().upper().replace("_", "").replace("WINDOWS-", "WPC")
    if up in BY_NAME:
        return BY_NAME[up].number
    if up.startswith("CP"):
        for cand in ("PC" + up[2:], "WPC" + up[2:]):
            if cand in BY_NAME:
                return BY_NAME[cand].number
    if up.startswith("ISO-"):
        table = BY_NAME.get("ISO" + up[4:])
        return None if table is None else table.number
    return None


@functools.lru_cache(maxsize=64)
def decoding_table(n: int) -> str:
    """256 characters: byte value -> character in table ``n`` (U+FFFD if none); a table
    ticketd does not know reads as the power-on table."""
    codec = TABLES.get(n, TABLES[POWER_ON]).codec
    chars = []
    for b in range(256):
        try:
            ch = bytes((b,)).decode(codec)
        except UnicodeDecodeError:
            ch = "\ufffd"
        chars.append(ch)
    return "".join(chars)
