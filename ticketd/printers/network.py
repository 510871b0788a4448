"""A printer on a raw TCP port (JetDirect / "port 9100"), the commonest Ethernet receipt printer.

The socket stays open between jobs and status polls: many printers accept one client at a
time and take a moment to accept a new one, so reconnecting per call would slow every job and
could lose a status poll to a half-closed previous connection. Any I/O error closes it; the
next call reconnects.
"""

from __future__ import annotations

import select
import socket
from typing import Callable

import attrs

from ticketd.config import PrinterConfig
from ticketd.printers import status, status_exchange
from ticketd.printers.confirm import IN_ORDER, Confirmation, Confirmations
from ticketd.printers.connection import (PrinterIOError, connection_class, reason, required,
                                        timeouts)
from ticketd.printers.status import PrinterStatus
from ticketd.printers.stream import StreamConnection

SocketFactory = Callable[[tuple[str, int], float], socket.socket]


@connection_class
class NetworkConnection(StreamConnection[socket.socket]):
    """:class:`~ticketd.printers.connection.PrinterConnection` over TCP."""

    label_prefix = "printer at"
    io_errors = (OSError, ValueError)  # ValueError: e.g. a host name IDNA refuses
    progress_verb = "sent"

    host: str = attrs.field(kw_only=False)
    port: int = attrs.field(default=9100, kw_only=False)
    connect_timeout: float = 5.0
    send_buffer: int | None = 32 * 1024
    #: "process_id" or "gs_r": a job is confirmed by the printer's in-order answer
    #: (``confirm.py``); anything else: no in-order confirmation on this connection
    confirm_mode: str = "realtime"
    _socket_factory: SocketFactory = socket.create_connection
    _answers: Confirmations | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        if self.confirm_mode in IN_ORDER:
            self._answers = Confirmations(self.confirm_mode)

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "NetworkConnection":
        return cls(required(config, config.host, "no host configured"), config.port,
                   connect_timeout=config.connect_timeout, confirm_mode=config.confirm,
                   **timeouts(config))

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    target = address

    def confirm(self) -> PrinterStatus:
        """Status over the connection as it is, never a new one: right after a job, a link
        the printer dropped meanwhile must read "Printer not connected" (the job may not
        have arrived whole), not the Ready of a fresh reconnect."""
        sock = self._link
        if sock is None or not self._still_open(sock):
            self.close()
            return status.not_connected(f"printer at {self.address} closed the connection")
        return self._read_status()

    # --- the printer's in-order confirmation ----------------------------------------

    def ask_confirmation(self) -> tuple[str, bytes] | None:
        """(token, the request to send right after the job's bytes), or None when this
        printer has no in-order confirmation."""
        return self._answers.request() if self._answers is not None else None

    def await_confirmation(self, token: str, wait: float) -> Confirmation:
        """Read the printer's answers for up to ``wait`` seconds; not confirmed by then:
        the real-time status over the same link (never a new one: the answer can only
        come on the link the job went out on)."""
        answers = self._answers
        if answers is None:
            raise ValueError("no in-order confirmation on this connection")
        deadline = self._clock() + wait
        while answers.state(token) == "pending":
            sock = self._link
            remaining = deadline - self._clock()
            if sock is None or remaining <= 0:
                break
            try:
                self._recv(sock, remaining)
            except self.io_errors:
                self.close()
        found = answers.state(token)
        if found == "pending":
            after = self.confirm()
            found = answers.state(token)
            if found == "pending":
                return Confirmation(False, after)
        answers.forget(token)
        if found == "confirmed":
            return Confirmation(True)
        return Confirmation(False, status.not_connected(
            f"the connection to printer at {self.address} was lost"), lost=True)

    # --- the socket -----------------------------------------------------------------

    def _connect(self) -> socket.socket:
        try:
            sock = self._socket_factory((self.host, self.port), self.connect_timeout)
        except socket.timeout:
            raise PrinterIOError(f"cannot connect to {self.address}: no answer within "
                                 f"{self.connect_timeout:g} s") from None
        except self.io_errors as e:
            raise PrinterIOError(f"cannot connect to {self.address}: {reason(e)}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if self.send_buffer:
            # A small send buffer keeps "write() returned" close to "the printer took the
            # bytes" (its own buffer is a few KB): write_timeout then measures the printer,
            # and a printer that drops the connection mid-job fails the write instead of
            # the kernel silently swallowing megabytes.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        self.log.debug("connected to printer at {address}", address=self.address)
        return sock

    def _release(self, sock: socket.socket) -> None:
        sock.close()
        if self._answers is not None:
            self._answers.link_closed()

    def _interrupt(self, sock: socket.socket) -> None:
        """Shut the socket down (not close: the fd stays valid for the blocked thread),
        which makes a blocked send()/recv() in the I/O thread return an error at once."""
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _put(self, sock: socket.socket, data: memoryview, remaining: float) -> int:
        sock.settimeout(remaining)
        return sock.send(data)

    def _is_timeout(self, e: Exception) -> bool:
        return isinstance(e, socket.timeout)

    def _exchange(self, sock: socket.socket) -> PrinterStatus:
        self._drain(sock)
        return status_exchange.exchange(lambda b: self._send(sock, b),
                                        lambda t: self._recv(sock, t),
                                        self.status_timeout, self._clock)

    def _send(self, sock: socket.socket, data: bytes) -> None:
        sock.settimeout(self.status_timeout)
        sock.sendall(data)

    def _recv(self, sock: socket.socket, timeout: float) -> bytes:
        """What arrives within ``timeout``, less the in-order answers (kept for their jobs)."""
        sock.settimeout(timeout)
        try:
            chunk = sock.recv(64)
        except socket.timeout:
            return b""
        if not chunk:
            raise ConnectionResetError(0, "connection closed by the printer")
        return self._answers.feed(chunk) if self._answers is not None else chunk

    def _drain(self, sock: socket.socket) -> None:
        """Discard bytes already waiting (e.g. a reply that came after its timeout), so
        that a late answer is never read as the answer to the next query; an in-order
        answer among them is kept."""
        while _readable(sock):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionResetError(0, "connection closed by the printer")
            if self._answers is not None:
                self._answers.feed(chunk)

    def _still_open(self, sock: socket.socket) -> bool:
        """False if the printer closed or reset the idle connection since we last used it."""
        try:
            if not _readable(sock):
                return True
            return sock.recv(1, socket.MSG_PEEK) != b""
        except (OSError, ValueError):
            return False


def _readable(sock: socket.socket) -> bool:
    """Bytes (or EOF, or an error) wait on ``sock``, without blocking. poll(), not
    select(): select() refuses descriptors >= 1024, which a busy daemon can reach."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
