"""paho's socket as a Twisted reader/writer descriptor, its batched reads and writes, and
the TCP quick-ACK nudge.

paho's external-loop API leaves the waiting to the caller: the reactor watches the socket
through :class:`PahoSocket`, whose ``doRead``/``doWrite`` call the ``on_read``/``on_write``
callables its owner (the MQTT link) passed in, to run paho's ``loop_read``/``loop_write``.

paho reads a packet a few bytes at a time (its type, then its length, then the rest) and
sends each packet on its own: three or four system calls for a PUBLISH in, one for every
PUBACK or PUBLISH out. :class:`BatchedSocket` stands between paho and the socket: one
``recv`` per readable event feeds every packet in it, and the packets paho writes during a
reactor turn leave in one ``send`` when the link flushes them.
"""

from __future__ import annotations

import errno
import socket
import ssl
from typing import Any, Callable

from twisted.internet.interfaces import IReadDescriptor, IWriteDescriptor
from zope.interface import implementer

READ_SIZE = 65536  # bytes asked of the socket per readable event


class BatchedSocket:
    """What paho reads from and writes to, in place of its socket.

    ``recv`` serves paho from what one real ``recv`` returned; it reads the socket again
    only after :meth:`readable` (a readable event), and says "would block" in between, so
    that draining paho's packets costs no extra system call. ``send`` only keeps the
    bytes (paho's packets stay in order); :meth:`flush` sends them. A failed send is kept
    in ``error`` and raised to paho at its next ``recv``/``send``: paho then drops the
    connection as it would have on its own send.
    """

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.error: OSError | None = None
        self._in = b""
        self._pos = 0
        self.taken = 0  # bytes paho has had: whether a read made progress
        self._may_read = False
        self._out = bytearray()
        self._retry = 0  # TLS: a send that would block is repeated with the same length

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)  # setsockopt, getpeername ... as the socket's

    def fileno(self) -> int:
        return int(self.sock.fileno())

    # --- reading ----------------------------------------------------------------------------

    def readable(self) -> None:
        """The reactor saw the socket readable: the next empty ``recv`` reads it."""
        self._may_read = True

    def pending(self) -> int:
        """Bytes received that paho has not had yet (with TLS, decrypted ones too)."""
        return len(self._in) - self._pos + self._tls_pending()

    def _tls_pending(self) -> int:
        pending = getattr(self.sock, "pending", None)
        return int(pending()) if pending is not None else 0

    def recv(self, size: int) -> bytes:
        if self.error is not None:
            raise self.error
        if self._pos >= len(self._in):
            if not self._may_read and not self._tls_pending():
                raise BlockingIOError(errno.EAGAIN, "nothing more received this turn")
            self._may_read = False
            self._in, self._pos = b"", 0
            data: bytes = self.sock.recv(max(size, READ_SIZE))
            if len(data) <= size:
                self.taken += len(data)
                return data
            self._in = data
        start = self._pos
        # never past the end: a packet cut by the end of this read asks for more than is
        # left, and pending() must then say 0, not less (the link reads while it is not 0)
        self._pos = min(start + size, len(self._in))
        self.taken += self._pos - start
        return self._in[start:self._pos]

    # --- writing ----------------------------------------------------------------------------

    def send(self, data: bytes | bytearray) -> int:
        if self.error is not None:
            raise self.error
        self._out += data
        return len(data)

    def flush(self) -> bool:
        """Send what paho wrote; True once all of it is out (False: wait until writable).
        A send that fails for good sets ``error`` and drops the bytes."""
        while self._out:
            size = self._retry or len(self._out)
            try:
                sent = self.sock.send(self._out if size == len(self._out) else
                                      bytes(self._out[:size]))
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                self._retry = size
                return False
            except BlockingIOError:
                return False
            except OSError as e:
                self.error = e
                self._out.clear()
                return True
            self._retry = 0
            del self._out[:sent]
        return True

    def close(self) -> None:
        """paho closes after its DISCONNECT: that packet goes out first if it can."""
        try:
            self.flush()
        finally:
            self.sock.close()


@implementer(IReadDescriptor, IWriteDescriptor)
class PahoSocket:
    """The paho socket as the reactor sees it: readable/writable calls go to ``on_read`` /
    ``on_write`` (each given this descriptor); ``name`` prefixes the reactor's logs."""

    def __init__(self, sock: BatchedSocket, reactor: Any, *,
                 on_read: Callable[["PahoSocket"], None],
                 on_write: Callable[["PahoSocket"], None], name: str) -> None:
        self.sock = sock
        self.reactor = reactor
        self._writing = False  # registered with the reactor as a writer
        self._on_read, self._on_write, self._name = on_read, on_write, name

    def flush(self) -> bool:
        """Send the batch; what the socket does not take now waits until it is writable.
        False: the send failed (the batched socket keeps the error for paho)."""
        done = self.sock.flush()
        if self.sock.error is not None:
            return False
        if done == self._writing:
            self._writing = not done
            if done:
                self.reactor.removeWriter(self)
            else:
                self.reactor.addWriter(self)
        return True

    def fileno(self) -> int:
        try:
            return self.sock.fileno()
        except (OSError, ValueError):
            return -1

    def doRead(self) -> None:  # noqa: N802
        self.sock.readable()
        self._on_read(self)

    def doWrite(self) -> None:  # noqa: N802
        self._on_write(self)

    def connectionLost(self, reason: object) -> None:  # noqa: N802
        pass  # paho notices a closed socket on its own read/write

    def logPrefix(self) -> str:  # noqa: N802
        return self._name


def quickack(sock: Any) -> None:
    """ACK at once (Linux resets this after each use): a broker that leaves Nagle on would
    otherwise hold its next packet to us until our delayed ACK, 40 ms per round trip."""
    if _QUICKACK is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        except (OSError, AttributeError, ValueError):
            pass


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
