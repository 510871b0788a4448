"""``ESC t n`` character code tables (Epson numbering) and their Python codecs."""
from __future__ import annotations

import functools

#: ESC t n -> (name, Python codec)
TABLES: dict[int, tuple[str, str]] = {
    0: ("PC437", "cp437"),
    2: ("PC850", "cp850"),
    3: ("PC860", "cp860"),
    4: ("PC863", "cp863"),
    5: ("PC865", "cp865"),
    13: ("PC857", "cp857"),
    14: ("PC737", "cp737"),
    15: ("ISO8859-7", "iso8859_7"),
    16: ("WPC1252", "cp1252"),
    17: ("PC866", "cp866"),
    18: ("PC852", "cp852"),
    19: ("PC858", "cp858"),
    32: ("PC720", "cp720"),
    33: ("WPC775", "cp775"),
    34: ("PC855", "cp855"),
    35: ("PC861", "cp861"),
    36: ("PC862", "cp862"),
    37: ("PC864", "cp864"),
    38: ("PC869", "cp869"),
    39: ("ISO8859-2", "iso8859_2"),
    40: ("ISO8859-15", "iso8859_15"),
    44: ("PC1125", "cp1125"),
    45: ("WPC1250", "cp1250"),
    46: ("WPC1251", "cp1251"),
    47: ("WPC1253", "cp1253"),
    48: ("WPC1254", "cp1254"),
    49: ("WPC1255", "cp1255"),
    50: ("WPC1256", "cp1256"),
    51: ("WPC1257", "cp1257"),
    52: ("WPC1258", "cp1258"),
    53: ("KZ1048", "kz1048"),
    255: ("PC437", "cp437"),
}

DEFAULT = 0  # PC437, what a printer selects at power on and after ESC @

_BY_NAME = {name: n for n, (name, _) in TABLES.items() if n != 255}


def table_number(name: str | None) -> int | None:
    """``ESC t`` number for a name like "WPC1252", "PC850", "cp1252", "CP858"."""
    if name is None:
        return None
    up = name.strip().upper().replace("_", "").replace("WINDOWS-", "WPC")
    if up in _BY_NAME:
        return _BY_NAME[up]
    if up.startswith("CP"):
        for cand in ("PC" + up[2:], "WPC" + up[2:]):
            if cand in _BY_NAME:
                return _BY_NAME[cand]
    if up.startswith("ISO-"):
        return _BY_NAME.get("ISO" + up[4:])
    return None


@functools.lru_cache(maxsize=64)
def decoding_table(n: int) -> str:
    """256 characters: byte value -> character in table ``n`` (U+FFFD if none)."""
    codec = TABLES.get(n, TABLES[DEFAULT])[1]
    chars = []
    for b in range(256):
        try:
            ch = bytes((b,)).decode(codec)
        except UnicodeDecodeError:
            ch = "\ufffd"
        chars.append(ch)
    return "".join(chars)
