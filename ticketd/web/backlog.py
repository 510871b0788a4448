"""How much a WebSocket connection has waiting to be sent, so that a client that stops
reading (a dashboard tab in the background, a stuck till) cannot grow the daemon's memory.

The transport knows when its own write buffer is full: it pauses its push producer past
its buffer size and resumes it once everything went out. :class:`SendBacklog` is that
producer; what the connection writes between the two is what waits in memory because of
a slow reader. Past ``limit`` the connection is to be closed (``ws.py``: close code 1013,
"try again later"; the dashboard reconnects and gets a fresh snapshot).
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer
from twisted.internet.interfaces import IPushProducer

SEND_BACKLOG_LIMIT = 4 * 1024 * 1024  # bytes written while the transport's buffer is full


@implementer(IPushProducer)
class SendBacklog:
    """The transport's producer: counts what is written while the transport is full."""

    def __init__(self, limit: int = SEND_BACKLOG_LIMIT) -> None:
        self.limit = limit
        self.paused = False
        self.waiting = 0  # bytes written since the transport said it was full

    def attach(self, transport: Any) -> None:
        """Become the transport's producer. The HTTP channel that handed the connection
        over to the WebSocket is registered there still: it has no say any more."""
        try:
            transport.unregisterProducer()
        except Exception:  # nothing registered, or a transport without producers
            pass
        transport.registerProducer(self, True)

    def add(self, size: int) -> bool:
        """``size`` more bytes are being written: False once past the limit."""
        if self.paused:
            self.waiting += size
        return self.waiting <= self.limit

    def pauseProducing(self) -> None:  # noqa: N802 (Twisted's names)
        self.paused = True

    def resumeProducing(self) -> None:  # noqa: N802
        self.paused = False
        self.waiting = 0

    def stopProducing(self) -> None:  # noqa: N802
        self.paused = False
