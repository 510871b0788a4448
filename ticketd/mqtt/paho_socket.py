"""paho's socket as a Twisted reader/writer descriptor, and the TCP quick-ACK nudge.

paho's external-loop API leaves the waiting to the caller: the reactor watches the socket
through :class:`PahoSocket`, whose ``doRead``/``doWrite`` call the ``on_read``/``on_write``
callables its owner (the MQTT link) passed in, to run paho's ``loop_read``/``loop_write``.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

from twisted.internet.interfaces import IReadDescriptor, IWriteDescriptor
from zope.interface import implementer


@implementer(IReadDescriptor, IWriteDescriptor)
class PahoSocket:
    """The paho socket as the reactor sees it: readable/writable calls go to ``on_read`` /
    ``on_write`` (each given this descriptor); ``name`` prefixes the reactor's logs."""

    def __init__(self, sock: Any, *, on_read: Callable[["PahoSocket"], None],
                 on_write: Callable[["PahoSocket"], None], name: str) -> None:
        self.sock = sock
        self._on_read, self._on_write, self._name = on_read, on_write, name

    def fileno(self) -> int:
        try:
            return self.sock.fileno()
        except (OSError, ValueError):
            return -1

    def doRead(self) -> None:  # noqa: N802
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
