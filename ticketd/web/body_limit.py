"""Request bodies refused while they are read, not after: twisted.web would otherwise keep
any body whole (in memory, or in a temporary file past 100 KB) before a resource sees it.

A body whose ``Content-Length`` is over the limit is answered 413 at once, before a byte
of it is read; a body without a length (chunked) is cut the moment it grows past the
limit. Either way the connection then only drains what the client still sends, for
LINGER seconds at most, so that the client reads the 413 instead of a reset.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.logger import Logger
from twisted.web.server import Request

from ticketd.web.connections import peer_name

LINGER = 5.0  # seconds a refused request's connection drains before it is dropped
log = Logger()


class BoundedRequest(Request):
    """A Request whose body may be ``max_body`` bytes at most (see the module docstring)."""

    max_body = 1 << 20
    _received = 0
    _refused = False
    _linger: Any = None

    def gotLength(self, length: int | None) -> None:  # noqa: N802 (Twisted's names)
        super().gotLength(length if length is None or length <= self.max_body else 0)
        if length is not None and length > self.max_body:
            self._refuse(f"its Content-Length {length}")

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802
        if self._refused:
            return
        self._received += len(data)
        if self._received > self.max_body:
            self._refuse(f"{self._received} bytes so far")
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802
        if not self._refused:  # a refused request is answered already: nothing to render
            super().requestReceived(command, path, version)

    def _refuse(self, what: str) -> None:
        self._refused = True
        self.content.close()
        transport: Any = self.channel.transport if self.channel is not None else None
        log.info("http {peer}: {method} {path}: request body over the {limit} bytes limit "
                 "({what}): refused, 413", peer=peer_name(self.getClientAddress()),
                 method=self.method.decode("ascii", "replace"),
                 path=self.uri.decode("ascii", "replace")[:200], limit=self.max_body,
                 what=what)
        if transport is None:
            return
        body = json.dumps({"errors": [f"ERROR: the request body is over the "
                                      f"{self.max_body} bytes limit"]}).encode()
        transport.write(b"HTTP/1.1 413 Payload Too Large\r\n"
                        b"Content-Type: application/json\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        try:
            transport.loseWriteConnection()
        except AttributeError:
            transport.loseConnection()
        self._linger = self.channel.callLater(LINGER, transport.abortConnection)

    def connectionLost(self, reason: Any) -> None:  # noqa: N802
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)


def bounded_request(limit: int) -> type[BoundedRequest]:
    """The request class of a site whose bodies may be ``limit`` bytes at most."""
    return type("BoundedRequest", (BoundedRequest,), {"max_body": limit})
