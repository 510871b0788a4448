"""A printer on a raw TCP port (JetDirect / "port 9100"), the commonest Ethernet receipt printer.

The socket stays open between jobs and status polls: many printers accept one client at a
time and take a moment to accept a new one, so reconnecting per call would slow every job and
could lose a status poll to a half-closed previous connection. Any I/O error closes it; the
next call reconnects.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Callable

from twisted.logger import Logger

from ticketd.config import PrinterConfig
from ticketd.printers import _query, status
from ticketd.printers.connection import PrinterIOError, WriteTimeout
from ticketd.printers.status import PrinterStatus

SocketFactory = Callable[[tuple[str, int], float], socket.socket]


class NetworkConnection:
    """:class:`~ticketd.printers.connection.PrinterConnection` over TCP."""

    log = Logger()

    def __init__(self, host: str, port: int = 9100, *, connect_timeout: float = 5.0,
                 write_timeout: float = 10.0, status_timeout: float = 1.0,
                 send_buffer: int | None = 32 * 1024,
                 socket_factory: SocketFactory = socket.create_connection,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self.status_timeout = status_timeout
        self.send_buffer = send_buffer
        self._socket_factory = socket_factory
        self._clock = clock
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()  # guards _sock against abort() from another thread

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "NetworkConnection":
        if not config.host:
            raise PrinterIOError(f"printer {config.name}: no host configured")
        return cls(config.host, config.port, connect_timeout=config.connect_timeout,
                   write_timeout=config.write_timeout, status_timeout=config.status_timeout)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"<NetworkConnection {self.address}>"

    # --- PrinterConnection ------------------------------------------------------------

    def open(self) -> None:
        if self._sock is not None and not self._peer_closed(self._sock):
            return
        self.close()
        try:
            sock = self._socket_factory((self.host, self.port), self.connect_timeout)
        except socket.timeout:
            raise PrinterIOError(f"cannot connect to {self.address}: no answer within "
                                 f"{self.connect_timeout:g} s") from None
        except (OSError, ValueError) as e:  # ValueError: e.g. a host name IDNA refuses
            raise PrinterIOError(f"cannot connect to {self.address}: {_why(e)}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if self.send_buffer:
            # A small send buffer keeps "write() returned" close to "the printer took the
            # bytes" (its own buffer is a few KB): write_timeout then measures the printer,
            # and a printer that drops the connection mid-job fails the write instead of
            # the kernel silently swallowing megabytes.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        with self._lock:
            self._sock = sock
        self.log.debug("connected to printer at {address}", address=self.address)

    def write(self, data: bytes, job_id: str | None = None) -> None:
        self.open()
        sock = self._sock
        assert sock is not None
        deadline = self._clock() + self.write_timeout
        view = memoryview(data)
        try:
            while view:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise socket.timeout()
                sock.settimeout(remaining)
                sent = sock.send(view)
                view = view[sent:]
        except socket.timeout:
            self.close()
            raise WriteTimeout(f"printer at {self.address} did not take the job within "
                               f"{self.write_timeout:g} s ({len(data) - len(view)} of "
                               f"{len(data)} bytes sent)") from None
        except (OSError, ValueError) as e:
            self.close()
            raise PrinterIOError(f"writing to printer at {self.address} failed: "
                                 f"{_why(e)}") from None

    def query_status(self) -> PrinterStatus:
        try:
            self.open()
        except PrinterIOError as e:
            return status.not_connected(str(e))
        return self.confirm()

    def confirm(self) -> PrinterStatus:
        """Status over the connection as it is, never a new one: right after a job, a link
        the printer dropped meanwhile must read "Printer not connected" (the job may not
        have arrived whole), not the Ready of a fresh reconnect."""
        sock = self._sock
        if sock is None or self._peer_closed(sock):
            self.close()
            return status.not_connected(f"printer at {self.address} closed the connection")
        try:
            self._drain(sock)
            result = _query.exchange(lambda b: self._send(sock, b),
                                     lambda t: self._recv(sock, t),
                                     self.status_timeout, self._clock)
        except (OSError, ValueError) as e:
            self.close()
            return status.not_connected(f"printer at {self.address}: {_why(e)}")
        return result

    def close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def abort(self) -> None:
        """Shut the socket down (not close: the fd stays valid for the blocked thread),
        which makes a blocked send()/recv() in the I/O thread return an error at once."""
        with self._lock:
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # --- helpers ------------------------------------------------------------------------

    def _send(self, sock: socket.socket, data: bytes) -> None:
        sock.settimeout(self.status_timeout)
        sock.sendall(data)

    @staticmethod
    def _recv(sock: socket.socket, timeout: float) -> bytes:
        sock.settimeout(timeout)
        try:
            chunk = sock.recv(64)
        except socket.timeout:
            return b""
        if not chunk:
            raise ConnectionResetError(0, "connection closed by the printer")
        return chunk

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        """Discard bytes already waiting (e.g. a reply that came after its timeout), so
        that a late answer is never read as the answer to the next query."""
        while _readable(sock):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionResetError(0, "connection closed by the printer")

    @staticmethod
    def _peer_closed(sock: socket.socket) -> bool:
        """True if the printer closed or reset the idle connection since we last used it."""
        try:
            if not _readable(sock):
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


def _readable(sock: socket.socket) -> bool:
    """Bytes (or EOF, or an error) wait on ``sock``, without blocking. poll(), not
    select(): select() refuses descriptors >= 1024, which a busy daemon can reach."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _why(e: Exception) -> str:
    return str(getattr(e, "strerror", None) or e)
