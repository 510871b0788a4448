"""Epson ESC/POS real-time status (``DLE EOT n``), parsed without I/O.

A status query sends ``10 04 n`` for n = 1..4 one at a time and reads a one-byte reply to
each; the reply always has the fixed bit pattern ``0xx1xx10`` (``b & 0x93 == 0x12``), which
is how a stray byte is told apart from a status reply. :class:`StatusParser` folds the four
replies into one :class:`PrinterStatus`, whose ``text`` is the wording of the MQTT
print-server protocol (docs/protocol.rst, "MQTT print-server protocol") that till
software already shows to staff.
"""

from __future__ import annotations

import enum

import attrs

DLE_EOT = b"\x10\x04"
QUERIES = (1, 2, 3, 4)


def query(n: int) -> bytes:
    """The bytes that ask for status ``n`` (1 printer, 2 offline cause, 3 error, 4 paper)."""
    return DLE_EOT + bytes([n])


def is_status_byte(b: int) -> bool:
    return b & 0x93 == 0x12


class Condition(enum.Enum):
    """What the printer is doing, most serious first in :func:`PrinterStatus.condition`."""

    READY = "Ready"
    NOT_CONNECTED = "Printer not connected"
    NO_RESPONSE = "No response from printer"
    COVER_OPEN = "Cover is open"
    PAPER_OUT = "Out of paper"
    FEEDING = "Paper is being fed by the paper feed button"
    ERROR = "Error light is on"
    OFFLINE = "Offline"
    UNKNOWN = "Unknown"


@attrs.frozen
class PrinterStatus:
    """One reading of a printer's state; equal readings compare equal (change detection)."""

    online: bool = True
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    feeding: bool = False
    error: str | None = None  # "autocutter" | "unrecoverable" | "auto-recoverable" | "error"
    no_response: bool = False
    not_connected: bool = False
    detail: str | None = attrs.field(default=None, eq=False)  # e.g. the I/O error; shown, not compared

    @property
    def condition(self) -> Condition:
        for flag, condition in _BY_SERIOUSNESS:
            if getattr(self, flag):
                return condition
        return Condition.READY if self.online else Condition.OFFLINE

    @property
    def text(self) -> str:
        return self.condition.value

    @property
    def ok(self) -> bool:
        return self.condition is Condition.READY

    @property
    def holds_jobs(self) -> bool:
        """Faults that a person fixes (paper, cover, power): queue waits instead of failing."""
        return not self.ok

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"status": self.text, "ok": self.ok,
                                "paper_near_end": self.paper_near_end}
        if self.error:
            d["error"] = self.error
        if self.detail:
            d["detail"] = self.detail
        return d


#: The flags that name a condition, most serious first; none set: Ready, or Offline.
_BY_SERIOUSNESS = (
    ("not_connected", Condition.NOT_CONNECTED),
    ("no_response", Condition.NO_RESPONSE),
    ("cover_open", Condition.COVER_OPEN),
    ("paper_out", Condition.PAPER_OUT),
    ("feeding", Condition.FEEDING),
    ("error", Condition.ERROR),
)

READY = PrinterStatus()
UNKNOWN_YET = PrinterStatus(no_response=True, detail="not polled yet")


def no_response(detail: str | None = None) -> PrinterStatus:
    return PrinterStatus(online=False, no_response=True, detail=detail)


def not_connected(detail: str | None = None) -> PrinterStatus:
    return PrinterStatus(online=False, not_connected=True, detail=detail)


class StatusParser:
    """Collects the replies to DLE EOT 1..4 and builds a :class:`PrinterStatus`.

    Feed it ``(n, byte)`` pairs with :meth:`reply`; :meth:`result` may be called with only
    some replies (a printer that answers n=1 but not n=4 is still read as far as it went).
    """

    def __init__(self) -> None:
        self._replies: dict[int, int] = {}

    def reply(self, n: int, byte: int) -> None:
        if n not in QUERIES:
            raise ValueError(f"no DLE EOT query {n}")
        if not is_status_byte(byte):
            raise ValueError(f"0x{byte:02x} is not a status reply (pattern 0xx1xx10)")
        self._replies[n] = byte

    def result(self) -> PrinterStatus:
        r = self._replies
        if not r:
            return no_response()
        s1, s2, s3, s4 = (r.get(n, 0x12) for n in QUERIES)
        error = None
        if s3 & 0x08:
            error = "autocutter"
        elif s3 & 0x20:
            error = "unrecoverable"
        elif s3 & 0x40:
            error = "auto-recoverable"
        elif s2 & 0x40:
            error = "error"
        return PrinterStatus(
            online=not (s1 & 0x08),
            cover_open=bool(s2 & 0x04),
            feeding=bool(s2 & 0x08),
            paper_out=bool(s2 & 0x20) or (s4 & 0x60) == 0x60,
            paper_near_end=(s4 & 0x0C) == 0x0C,
            error=error,
        )


def parse(replies: dict[int, int]) -> PrinterStatus:
    """Convenience: the status for a mapping ``{n: reply byte}``."""
    p = StatusParser()
    for n, b in replies.items():
        p.reply(n, b)
    return p.result()
