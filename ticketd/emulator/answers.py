"""What the emulated printer answers, byte for byte, in each status fault (Epson's layout:
docs/protocol.rst, "Printer status"): DLE EOT n, GS r n, Automatic Status Back and the
process ID response."""

from __future__ import annotations

#: Status faults: the printer keeps accepting bytes; they change the DLE EOT answers.
STATUS_FAULTS = ("ready", "paper_near_end", "paper_out", "cover_open", "offline", "silent",
                 "feeding", "autocutter_error", "unrecoverable_error", "recoverable_error")
_FIXED = 0x12
# n -> extra bits, per status fault (Epson layout; docs/protocol.rst, "Printer status").
_BITS: dict[str, dict[int, int]] = {
    "ready": {},
    "paper_near_end": {4: 0x0C},
    "paper_out": {1: 0x08, 2: 0x20, 4: 0x0C | 0x60},
    "cover_open": {1: 0x08, 2: 0x04},
    "offline": {1: 0x08},
    "silent": {},
    "feeding": {1: 0x08, 2: 0x08},
    "autocutter_error": {1: 0x08, 2: 0x40, 3: 0x08},
    "unrecoverable_error": {1: 0x08, 2: 0x40, 3: 0x20},
    "recoverable_error": {1: 0x08, 2: 0x40, 3: 0x40},
}


def status_byte(fault: str, n: int) -> int | None:
    """The reply to ``DLE EOT n`` in status fault ``fault``; None when the printer is silent."""
    if fault == "silent":
        return None
    return _FIXED | _BITS[fault].get(n, 0)


def stops_printing(fault: str) -> bool:
    """The faults in which the mechanism stands still: those that put the printer offline."""
    return bool(_BITS[fault].get(1, 0) & 0x08)


def transmit_status(fault: str, n: int) -> int:
    """The answer to ``GS r n``: n = 1 or 49, the paper sensor (bits 0-1 near end, 2-3 roll
    end); n = 2 or 50, the drawer kick connector (bit 0: pin 3, low here); bit 4 is 0,
    which tells it from a DLE EOT answer."""
    if n in (2, 50):
        return 0x00
    return {"paper_near_end": 0x03, "paper_out": 0x0F}.get(fault, 0x00)


def asb_status(fault: str) -> bytes:
    """The 4 bytes of Automatic Status Back: the first has bit 4 set and bits 0-1 clear,
    the three others bit 4 clear (Epson's layout)."""
    first = 0x10 | (0x08 if stops_printing(fault) else 0) \
        | (0x20 if fault == "cover_open" else 0) | (0x40 if fault == "feeding" else 0)
    second = {"autocutter_error": 0x08, "unrecoverable_error": 0x20,
              "recoverable_error": 0x40}.get(fault, 0x00)
    third = {"paper_near_end": 0x03, "paper_out": 0x0F}.get(fault, 0x00)
    return bytes((first, second, third, 0x00))


def process_id_answer(ident: bytes) -> bytes:
    """``GS ( H`` fn 48's response: header 0x37, 0x22, the four id bytes, NUL."""
    return b"\x37\x22" + ident + b"\x00"
