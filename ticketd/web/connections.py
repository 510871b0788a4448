"""Connection-level limits of the HTTP site (and so of ``/ws``, which starts as an HTTP
request): a request head must arrive whole within a few seconds, and one client address
may hold only so many connections.

twisted.web's own timeout is an idle timeout: a byte every second keeps a half-sent
request (a WebSocket handshake Autobahn has not yet seen) open forever. The deadline here
runs from a request's first byte to the end of its headers, whatever trickles meanwhile.
"""

from __future__ import annotations

import collections
from typing import Any

from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel

HEADERS_TIMEOUT = 5.0
log = Logger()


def peer_name(addr: IAddress | None) -> str:
    """``host:port``, as the audit lines name a client."""
    host, port = getattr(addr, "host", None), getattr(addr, "port", None)
    return f"{host}:{port}" if host is not None else str(addr)


class DeadlineChannel(HTTPChannel):
    """An HTTPChannel whose request heads must be complete ``headers_timeout`` seconds
    after their first byte, or the connection is dropped."""

    headers_timeout = HEADERS_TIMEOUT
    _head_deadline: Any = None

    def connectionMade(self) -> None:  # noqa: N802
        super().connectionMade()
        self._arm()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if data and self.line_mode and self._head_deadline is None:
            self._arm()  # the first byte of the next request
        super().dataReceived(data)

    def allHeadersReceived(self) -> None:  # noqa: N802
        self._disarm()
        super().allHeadersReceived()

    def connectionLost(self, reason: Failure = None) -> None:  # noqa: N802
        self._disarm()
        super().connectionLost(reason)

    def _arm(self) -> None:
        self._head_deadline = self.callLater(self.headers_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None and self._head_deadline.active():
            self._head_deadline.cancel()
        self._head_deadline = None

    def _too_slow(self) -> None:
        self._head_deadline = None
        log.info("http {peer}: request head not complete within {timeout} s: closed",
                 peer=peer_name(self.transport.getPeer() if self.transport else None),
                 timeout=self.headers_timeout)
        if self.transport is not None:
            self.transport.abortConnection()


class PerClient:
    """How many connections each client address holds (the ``ProtocolWrapper`` factory:
    a connection counts from its start to its end, upgraded to a WebSocket or not)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: collections.Counter[str] = collections.Counter()

    def full(self, addr: IAddress) -> bool:
        return self.open[_host(addr)] >= self.limit

    def wrap(self, protocol: Any) -> ProtocolWrapper:
        return ProtocolWrapper(self, protocol)  # type: ignore[arg-type]

    def registerProtocol(self, p: ProtocolWrapper) -> None:  # noqa: N802 (Twisted's)
        self.open[_host(p.transport.getPeer())] += 1

    def unregisterProtocol(self, p: ProtocolWrapper) -> None:  # noqa: N802
        host = _host(p.transport.getPeer())
        self.open[host] -= 1
        if self.open[host] <= 0:
            del self.open[host]


def _host(addr: IAddress | None) -> str:
    return str(getattr(addr, "host", addr))


class TooManyConnections(Protocol):
    """Answers 503 with the reason at once and closes: the client's limit is reached."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def connectionMade(self) -> None:  # noqa: N802
        peer = peer_name(self.transport.getPeer())
        log.warn("http {peer}: connection refused (too_many_connections): {limit} already "
                 "open from this address", peer=peer, limit=self.limit,
                 reason="too_many_connections", audit=True)
        body = (f"Too many connections from this address: at most {self.limit} "
                "(see [server] max_connections_per_client)\n").encode()
        self.transport.write(b"HTTP/1.1 503 Service Unavailable\r\n"
                             b"Content-Type: text/plain; charset=utf-8\r\n"
                             b"Connection: close\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.transport.loseConnection()
