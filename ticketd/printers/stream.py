"""What every connection over a link of its own shares (TCP socket, serial port, USB device,
device node), so that the rules hold the same on every wire.

The link is opened once and kept between jobs; it is swapped out under a lock, so that
``abort()`` from the reactor thread never meets a half-closed one; a write runs against
one deadline, however many pieces the wire takes it in; any I/O error closes the link, and
the next call reopens it. The messages ("writing to ... failed", "... did not take the job
within ...") are built here from each kind's :attr:`StreamConnection.label`, so that they
read alike whatever the wire.

Each kind supplies only what differs: how to open, release and interrupt its link, how to
put bytes on it, and how the status exchange reads from it.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, ClassVar, Generic, TypeVar

import attrs
from twisted.logger import Logger

from ticketd.printers import status
from ticketd.printers.connection import PrinterIOError, WriteTimeout, connection_class, reason
from ticketd.printers.status import PrinterStatus

Link = TypeVar("Link")


class _OutOfTime(Exception):
    """The write's deadline passed before all of the job went out."""


@connection_class
class StreamConnection(Generic[Link]):
    """Base of a :class:`~ticketd.printers.connection.PrinterConnection` on one link.

    Subclasses implement :meth:`_connect`, :meth:`_release`, :meth:`_put`,
    :meth:`_exchange` and :attr:`target`, and may refine the other ``_`` hooks.
    """

    log = Logger()

    #: How messages name this kind of printer, before its :attr:`target`.
    label_prefix: ClassVar[str] = "printer"
    #: What a call on the link raises when it fails (other exceptions are bugs).
    io_errors: ClassVar[tuple[type[Exception], ...]] = (OSError,)
    #: How a write timeout counts what went out ("sent", "written"), or None not to.
    progress_verb: ClassVar[str | None] = None

    write_timeout: float = 10.0
    status_timeout: float = 1.0
    _clock: Callable[[], float] = time.monotonic
    _link: Link | None = attrs.field(default=None, init=False)
    # guards _link against abort() from another thread
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    @property
    def target(self) -> str:
        """The printer's address as its config gives it (host:port, device, ids)."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        """The printer as messages name it, e.g. "printer at 10.0.0.9:9100"."""
        return f"{self.label_prefix} {self.target}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.target}>"

    # --- PrinterConnection ------------------------------------------------------------

    def open(self) -> None:
        link = self._link
        if link is not None:
            if self._still_open(link):
                return
            self.close()
        link = self._connect()
        with self._lock:
            self._link = link

    def write(self, data: bytes, job_id: str | None = None) -> None:
        self._begin()
        self.open()
        deadline = self._clock() + self.write_timeout
        view = memoryview(data)
        try:
            while view:
                link = self._live_link()
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise _OutOfTime()
                view = view[self._put(link, view, remaining):]
        except PrinterIOError:
            self.close()
            raise
        except Exception as e:
            self.close()
            if isinstance(e, _OutOfTime) or self._is_timeout(e):
                raise WriteTimeout(self._late(len(data) - len(view), len(data))) from None
            if isinstance(e, self.io_errors):
                raise PrinterIOError(f"writing to {self.label} failed: "
                                     f"{self._reason(e)}") from None
            raise

    def query_status(self) -> PrinterStatus:
        self._begin()
        try:
            self.open()
        except PrinterIOError as e:
            return status.not_connected(str(e))
        return self._read_status()

    def close(self) -> None:
        self._drop_link()

    def abort(self) -> None:
        with self._lock:
            link = self._link
        if link is not None:
            self._interrupt(link)

    # --- what every kind shares ---------------------------------------------------------

    def _read_status(self) -> PrinterStatus:
        """DLE EOT over the link as it is; a failure closes it: "Printer not connected"."""
        link = self._link
        if link is None:
            return status.not_connected(f"{self.label} was closed")
        try:
            return self._exchange(link)
        except PrinterIOError as e:
            self.close()
            return status.not_connected(str(e))
        except Exception as e:
            if not isinstance(e, self.io_errors):
                raise
            self.close()
            return status.not_connected(f"{self.label}: {self._reason(e)}")

    def _live_link(self) -> Link:
        """The open link, for the next piece of a write; closed meanwhile: an error."""
        link = self._link
        if link is None:
            raise PrinterIOError(f"{self.label} was closed")
        return link

    def _drop_link(self) -> None:
        """Take the link out of use, then release it; never raises."""
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            try:
                self._release(link)
            except Exception:  # noqa: BLE001 - close never raises
                pass

    def _late(self, done: int, total: int) -> str:
        late = f"{self.label} did not take the job within {self.write_timeout:g} s"
        if self.progress_verb is None:
            return late
        return f"{late} ({done} of {total} bytes {self.progress_verb})"

    # --- hooks --------------------------------------------------------------------------

    def _connect(self) -> Link:
        """Open a new link; raises PrinterIOError saying why it cannot."""
        raise NotImplementedError

    def _release(self, link: Link) -> None:
        """Close ``link`` (errors are ignored)."""
        raise NotImplementedError

    def _put(self, link: Link, data: memoryview, remaining: float) -> int:
        """Write some of ``data`` within ``remaining`` seconds; how many bytes went."""
        raise NotImplementedError

    def _exchange(self, link: Link) -> PrinterStatus:
        """The DLE EOT exchange on ``link``; raises what :attr:`io_errors` names."""
        raise NotImplementedError

    def _still_open(self, link: Link) -> bool:
        """Whether a kept link is still usable (a peer may have closed it meanwhile)."""
        return True

    def _interrupt(self, link: Link) -> None:
        """From another thread: make a call blocked on ``link`` fail at once."""

    def _begin(self) -> None:
        """A write or status exchange starts."""

    def _is_timeout(self, e: Exception) -> bool:
        """Whether ``e`` is the wire's own "too slow" (then a WriteTimeout)."""
        return False

    def _reason(self, e: Exception) -> str:
        return reason(e)
