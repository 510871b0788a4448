"""A printer behind a device node (connection type ``file``), e.g. ``/dev/usb/lp0``.

The usblp kernel driver makes a USB printer a character device: writes go to the bulk-out
endpoint and reads come from the bulk-in endpoint, so DLE EOT status works by writing the
query and reading the reply. python-escpos' ``File`` printer cannot read, hence this module.

The node is opened ``O_RDWR | O_NONBLOCK`` and every wait is a ``poll()`` with a deadline,
so neither a write nor a status read can block past its timeout (a plain blocking write on
usblp can hang forever on a printer with its cover open). poll(), not select(): select()
refuses descriptors >= 1024.
"""

from __future__ import annotations

import math
import os
import select

import attrs

from ticketd.config import PrinterConfig
from ticketd.printers import status_exchange
from ticketd.printers.connection import PrinterIOError, connection_class, required, timeouts
from ticketd.printers.status import PrinterStatus
from ticketd.printers.stream import StreamConnection

REOPEN_MODES = ("auto", "always", "never")


@connection_class
class DeviceConnection(StreamConnection[int]):
    """:class:`~ticketd.printers.connection.PrinterConnection` on a device node.

    ``reopen`` decides whether the node is closed and reopened between writing a DLE EOT
    query and reading its reply. Some printers on usblp (the original MQTT print server met
    this on an Epson TM-U220) only deliver the reply to a fresh open of the node: the
    driver's read of the bulk-in endpoint is not retried on the descriptor that wrote.

    * ``"auto"`` (default): read on the same descriptor; if the first query of a
      connection gets nothing, reopen once and read again. If that produced the reply the
      connection keeps reopening for every query until it is closed. A printer that is
      really silent therefore takes twice ``status_timeout`` to be called "No response".
    * ``"always"``: reopen before every read (the TM-U220 behaviour, no first timeout).
    * ``"never"``: never reopen (ttys, ptys, printers that behave).
    """

    label_prefix = "printer device"
    progress_verb = "written"

    path: str = attrs.field(kw_only=False)
    reopen: str = attrs.field(default="auto")
    _reopen_learned: bool | None = attrs.field(default=None, init=False)  # what auto learned
    # Each write or status exchange is one operation; abort() aims at the one under
    # way. Its wake-up byte may outlive it (the write had just ended): a later
    # operation ignores it rather than failing with "aborted".
    _op: int = attrs.field(default=0, init=False)
    _aborted_op: int = attrs.field(default=-1, init=False)
    _abort_r: int = attrs.field(init=False)  # abort() writes to _abort_w: wakes a poll()
    _abort_w: int = attrs.field(init=False)

    @reopen.validator
    def _known_reopen(self, _: object, value: str) -> None:
        if value not in REOPEN_MODES:
            raise ValueError(f"reopen must be one of {REOPEN_MODES}, not {value!r}")

    def __attrs_post_init__(self) -> None:
        self._abort_r, self._abort_w = os.pipe()
        os.set_blocking(self._abort_r, False)
        os.set_blocking(self._abort_w, False)

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "DeviceConnection":
        return cls(required(config, config.device, "no device configured"), **timeouts(config))

    @property
    def target(self) -> str:
        return self.path

    def __del__(self) -> None:
        for fd in (getattr(self, "_abort_r", None), getattr(self, "_abort_w", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def close(self) -> None:
        super().close()
        self._reopen_learned = None

    def abort(self) -> None:
        """Wake the I/O thread's poll(); the operation under way (if any: otherwise this
        does nothing) fails with "aborted"."""
        with self._lock:
            self._aborted_op = self._op
            try:
                os.write(self._abort_w, b"!")
            except OSError:  # the pipe is full: a wake-up is already waiting
                pass

    # --- the node -------------------------------------------------------------------

    def _connect(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as e:
            raise PrinterIOError(f"cannot open printer device {self.path}: "
                                 f"{e.strerror or e}") from None

    def _release(self, fd: int) -> None:
        os.close(fd)

    def _put(self, fd: int, data: memoryview, remaining: float) -> int:
        if not self._wait(fd, write=True, timeout=remaining):
            return 0
        try:
            return os.write(fd, data)
        except BlockingIOError:
            return 0

    # --- helpers ------------------------------------------------------------------------

    def _begin(self) -> None:
        """A new operation: wake-ups left by aborts of earlier ones no longer count."""
        with self._lock:
            self._op += 1
            self._clear_abort()

    def _clear_abort(self) -> None:
        try:
            while os.read(self._abort_r, 512):
                pass
        except BlockingIOError:
            pass

    def _wait(self, fd: int, *, write: bool, timeout: float) -> bool:
        """poll() the node and the abort pipe; True if the node is ready (or in error,
        which the next read/write reports). Raises PrinterIOError if this operation was
        aborted."""
        poller = select.poll()
        poller.register(fd, select.POLLOUT if write else select.POLLIN)
        poller.register(self._abort_r, select.POLLIN)
        ready = dict(poller.poll(math.ceil(max(timeout, 0) * 1000)))
        if self._abort_r in ready:
            with self._lock:
                self._clear_abort()
                mine = self._aborted_op == self._op
            if mine:
                raise PrinterIOError(f"printer device {self.path}: aborted")
        return fd in ready

    def _read(self, timeout: float) -> bytes:
        fd = self._live_link()
        if not self._wait(fd, write=False, timeout=timeout):
            return b""
        try:
            return os.read(fd, 64)
        except BlockingIOError:
            return b""

    def _send(self, data: bytes) -> None:
        deadline = self._clock() + self.status_timeout
        view = memoryview(data)
        while view:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise PrinterIOError(f"printer device {self.path} does not take a status query")
            fd = self._live_link()
            if self._wait(fd, write=True, timeout=remaining):
                try:
                    view = view[os.write(fd, view):]
                except BlockingIOError:
                    pass

    def _reopen(self) -> None:
        """Close and reopen the node, keeping what ``auto`` mode has learned."""
        self._drop_link()
        self.open()

    def _drain(self) -> None:
        fd = self._live_link()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while poller.poll(0):
            try:
                if not os.read(fd, 4096):
                    return
            except BlockingIOError:
                return

    def _first_read(self, timeout: float) -> bytes:
        """The first read after a query, reopening the node as ``reopen`` says."""
        if self.reopen == "always" or self._reopen_learned:
            self._reopen()
            return self._read(timeout)
        chunk = self._read(timeout)
        if self.reopen == "never" or self._reopen_learned is not None:
            return chunk
        if chunk:
            self._reopen_learned = False
            return chunk
        self._reopen()  # auto, nothing came: try the TM-U220 way
        chunk = self._read(timeout)
        if chunk:
            self._reopen_learned = True
            self.log.info("printer device {path} answers status only after a reopen; "
                          "reopening for every status query", path=self.path)
        return chunk

    def _exchange(self, fd: int) -> PrinterStatus:
        """Reads and writes take the live descriptor, not ``fd``: a reopen replaces it."""
        self._drain()
        first = True

        def send(data: bytes) -> None:
            nonlocal first
            first = True
            self._send(data)

        def recv(timeout: float) -> bytes:
            nonlocal first
            if first:
                first = False
                return self._first_read(timeout)
            return self._read(timeout)

        return status_exchange.exchange(send, recv, self.status_timeout, self._clock)
