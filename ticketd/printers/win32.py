"""A Windows spooler queue used raw (``win32print``, from pywin32).

Imports cleanly anywhere; only :meth:`Win32Connection.open` needs Windows. The spooler
cannot give ESC/POS status, so status is the queue's own flags (offline, paper out, door open).
"""

from __future__ import annotations

import sys
from typing import Any

from ticketd.config import PrinterConfig
from ticketd.printers import status
from ticketd.printers.connection import PrinterIOError, SpooledConnection, required
from ticketd.printers.status import PrinterStatus

# winspool.h PRINTER_STATUS_* bits
_ERROR = 0x2
_PAPER_OUT = 0x10
_OFFLINE = 0x80
_NOT_AVAILABLE = 0x1000
_DOOR_OPEN = 0x400000


def _win32print() -> Any:
    if sys.platform != "win32":
        raise PrinterIOError("the win32 connection is Windows-only; on this system use a "
                             "network, usb, file, serial or cups printer")
    try:
        import win32print  # type: ignore[import-not-found]  # noqa: PLC0415
    except ImportError:
        raise PrinterIOError("the win32 connection needs pywin32: pip install pywin32") from None
    return win32print


class Win32Connection(SpooledConnection):
    """:class:`~ticketd.printers.connection.PrinterConnection` to a Windows printer queue."""

    def __init__(self, queue: str, *, module: Any = None) -> None:
        self.queue = queue
        self._module = module
        self._w: Any = None

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "Win32Connection":
        return cls(required(config, config.queue, "no Windows printer queue configured"))

    def open(self) -> None:
        if self._w is None:
            self._w = self._module if self._module is not None else _win32print()

    def write(self, data: bytes, job_id: str | None = None) -> None:
        self.open()
        w = self._w
        try:
            h = w.OpenPrinter(self.queue)
            try:
                w.StartDocPrinter(h, 1, (job_id or "ticketd", None, "RAW"))
                try:
                    w.StartPagePrinter(h)
                    w.WritePrinter(h, data)
                    w.EndPagePrinter(h)
                finally:
                    w.EndDocPrinter(h)
            finally:
                w.ClosePrinter(h)
        except Exception as e:  # noqa: BLE001 - pywintypes.error
            raise PrinterIOError(f"Windows printer {self.queue}: {e}") from None

    def query_status(self) -> PrinterStatus:
        try:
            self.open()
            w = self._w
            h = w.OpenPrinter(self.queue)
            try:
                flags = w.GetPrinter(h, 2)["Status"]
            finally:
                w.ClosePrinter(h)
        except PrinterIOError as e:
            return status.not_connected(str(e))
        except Exception as e:  # noqa: BLE001
            return status.not_connected(f"Windows printer {self.queue}: {e}")
        if flags & _NOT_AVAILABLE:
            return status.not_connected(f"Windows printer {self.queue} is not available")
        return PrinterStatus(online=not flags & (_OFFLINE | _PAPER_OUT | _DOOR_OPEN),
                             paper_out=bool(flags & _PAPER_OUT),
                             cover_open=bool(flags & _DOOR_OPEN),
                             error="error" if flags & _ERROR else None)
