"""The one interface every printer connection offers, whatever the wire.

All methods block and are called from the printer's own one-thread pool, never from the
reactor, one at a time: the printer service never interleaves a status query with a job's
bytes. The one exception is :meth:`PrinterConnection.abort`, which the service calls from
the reactor thread when a write outlives its timeout, to break the blocked call.
"""

from __future__ import annotations

from typing import Protocol

from ticketd.printers.status import PrinterStatus


class PrinterIOError(Exception):
    """The printer could not be reached or the bytes could not be written.

    ``str()`` is a sentence a shop owner can act on, e.g.
    ``"cannot connect to 192.168.1.50:9100: Connection refused"``.
    """


class WriteTimeout(PrinterIOError):
    """A write did not complete within the printer's ``write_timeout``."""


class PrinterConnection(Protocol):
    """Open, write bytes, query status, close; reopened by the service after any error."""

    def open(self) -> None:
        """Connect if not connected (idempotent). Raises PrinterIOError."""

    def write(self, data: bytes, job_id: str | None = None) -> None:
        """Write all of ``data``; raises WriteTimeout or PrinterIOError (then closed)."""

    def query_status(self) -> PrinterStatus:
        """Ask DLE EOT 1-4 and parse; never raises: failures are statuses
        ("No response from printer", "Printer not connected")."""

    def confirm(self) -> PrinterStatus:
        """Optional: the status over the link the last job went out on, without reopening
        it (a dropped link reads "Printer not connected"). Connections without a link of
        their own may omit it; the printer queue then calls query_status."""

    def close(self) -> None:
        """Release the device; idempotent, never raises."""

    def abort(self) -> None:
        """Called from another thread: make a blocked write/read fail at once."""
