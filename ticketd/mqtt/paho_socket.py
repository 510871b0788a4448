"""paho's socket as a Twisted reader/writer descriptor, and the TCP quick-ACK nudge.

paho's external-loop API leaves the waiting to the caller: the reactor watches the socket
through :class:`PahoSocket`, whose ``doRead``/``doWrite`` let the
:class:`~ticketd.mqtt.link.MqttLink` run ``loop_read``/``loop_write``.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IReadDescriptor, IWriteDescriptor
from zope.interface import implementer

if TYPE_CHECKING:
    from ticketd.mqtt.link import MqttLink


@implementer(IReadDescriptor, IWriteDescriptor)
class PahoSocket:
    """The paho socket as the reactor sees it: readable/writable calls go to the link."""

    def __init__(self, link: MqttLink, sock: Any) -> None:
        self.link, self.sock = link, sock

    def fileno(self) -> int:
        try:
            return self.sock.fileno()
        except (OSError, ValueError):
            return -1

    def doRead(self) -> None:  # noqa: N802
        self.link._read(self)

    def doWrite(self) -> None:  # noqa: N802
        self.link._write(self)

    def connectionLost(self, reason: object) -> None:  # noqa: N802
        pass  # paho notices a closed socket on its own read/write

    def logPrefix(self) -> str:  # noqa: N802
        return f"mqtt:{self.link.client_id}"


def quickack(sock: Any) -> None:
    """ACK at once (Linux resets this after each use): a broker that leaves Nagle on would
    otherwise hold its next packet to us until our delayed ACK, 40 ms per round trip."""
    if _QUICKACK is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        except (OSError, AttributeError, ValueError):
            pass


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
