"""The one interface every printer connection offers, whatever the wire.

All methods block and are called from the printer's own one-thread pool, never from the
reactor, one at a time: the printer service never interleaves a status query with a job's
bytes. The one exception is :meth:`PrinterConnection.abort`, which the service calls from
the reactor thread when a write outlives its timeout, to break the blocked call.

Besides the interface: its errors, and what every adapter shares however it reaches the
printer (how its class is declared, its required settings, the base of the spooled ones).
The adapters with a link of their own share more: :mod:`ticketd.printers.stream`.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import attrs

from ticketd.config import PrinterConfig
from ticketd.printers.status import PrinterStatus

T = TypeVar("T")


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


#: How a connection class is declared: its fields make the constructor (keyword-only
#: unless a field says ``kw_only=False``); equality is identity, as each instance is one
#: printer's own link, and ``__repr__`` is the class's own.
connection_class = attrs.define(eq=False, repr=False, slots=False, kw_only=True)


class SpooledConnection:
    """Base for connections that hand each job to a spooler (CUPS, Windows, a spool
    directory) and keep no link of their own: nothing stays open, so nothing to close or
    break. Kinds override :meth:`open` when there is something to check first."""

    def open(self) -> None:
        """Nothing to connect to ahead of a job."""

    def close(self) -> None:
        """Nothing held open."""

    def abort(self) -> None:
        """A job's call ends by itself or at its own timeout; nothing to break."""


def required(config: PrinterConfig, value: T | None, missing: str) -> T:
    """``value`` if set, else the error that names the printer and what it lacks."""
    if not value:
        raise PrinterIOError(f"printer {config.name}: {missing}")
    return value


def timeouts(config: PrinterConfig) -> dict[str, float]:
    """The printer's write and status timeouts, as the adapters' keyword arguments."""
    return {"write_timeout": config.write_timeout, "status_timeout": config.status_timeout}


def reason(e: BaseException) -> str:
    """An OS error's own words ("Connection refused"), without the ``[Errno n]``."""
    return str(getattr(e, "strerror", None) or e)
