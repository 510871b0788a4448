"""For printers that never answer real-time status (``status_query = false``).

Many cheap receipt printers, and some spoolers, ignore ``DLE EOT``: asking would read
"No response from printer" forever and hold every job until ``hold_timeout`` failed it.
With this wrapper nothing is asked: the printer counts as Ready whenever it can be
opened, and I/O errors still fail or hold jobs as usual. Paper out and cover open then go
unnoticed by ticketd, as with a plain raw queue.
"""

from __future__ import annotations

from ticketd.printers import status
from ticketd.printers.connection import PrinterConnection, PrinterIOError
from ticketd.printers.status import PrinterStatus


class WithoutStatus:
    """A :class:`PrinterConnection` that never sends DLE EOT to ``inner``."""

    def __init__(self, inner: PrinterConnection) -> None:
        self.inner = inner

    def __repr__(self) -> str:
        return f"<WithoutStatus {self.inner!r}>"

    def open(self) -> None:
        self.inner.open()

    def write(self, data: bytes, job_id: str | None = None) -> None:
        self.inner.write(data, job_id)

    def query_status(self) -> PrinterStatus:
        try:
            self.inner.open()
        except PrinterIOError as e:
            return status.not_connected(str(e))
        return status.READY

    def confirm(self) -> PrinterStatus:
        """Right after a job: Ready (nothing to ask; a failed write already raised)."""
        return status.READY

    def close(self) -> None:
        self.inner.close()

    def abort(self) -> None:
        self.inner.abort()
