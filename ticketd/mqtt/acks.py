"""PUBACKs in order, and backpressure: plain objects, no reactor, no paho.

PUBACKs go out in the order the messages came in (MQTT-4.6.0-2), and never on a later
connection than the one the message arrived on (its packet id means nothing there: the
broker redelivers it instead, and the print service de-duplicates on ``jobid``). A
message is acked only once it is recorded (the bridge calls :meth:`Ack.done`); one whose
handling failed is never acked, and the broker sends it again.

The link's outbox (``P/printed`` and status messages waiting for the broker) is never
cut: while it and the messages sent but not yet confirmed reach ``limit``, the acks are
held back, so that the broker (whose window of unacked messages fills) stops sending
jobs until the outbox drains below half the limit.
"""

from __future__ import annotations

import collections
from typing import Callable

Send = Callable[[int, int], None]  # (mid, qos): PUBACK one message


class Ack:
    """Acknowledges one received message once :meth:`done` is called."""

    __slots__ = ("acks", "mid", "qos", "generation", "finished")

    def __init__(self, acks: "Acks", mid: int, qos: int, generation: int) -> None:
        self.acks, self.mid, self.qos, self.generation = acks, mid, qos, generation
        self.finished = False

    def done(self) -> None:
        if not self.finished:
            self.finished = True
            self.acks.flush()


class Acks:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.generation = 0
        self.backlog = 0  # messages waiting to go out or not yet confirmed
        self.holding = False
        self._pending: collections.deque[Ack] = collections.deque()
        self._send: Send | None = None

    def connected(self, send: Send) -> None:
        """A new connection: acks of the old one are void."""
        self.generation += 1
        self._pending.clear()
        self._send = send

    def disconnected(self) -> None:
        self._pending.clear()
        self._send = None

    def received(self, mid: int, qos: int) -> Ack:
        ack = Ack(self, mid, qos, self.generation)
        if qos > 0:
            self._pending.append(ack)
        else:
            ack.finished = True
        return ack

    def outgoing(self, backlog: int) -> str | None:
        """The backlog is now ``backlog``; returns "hold" or "release" when that changes
        whether acks go out (for the link to log), else None."""
        self.backlog = backlog
        if not self.holding and backlog >= self.limit:
            self.holding = True
            return "hold"
        if self.holding and backlog < self.limit // 2:
            self.holding = False
            self.flush()
            return "release"
        return None

    def flush(self) -> None:
        """PUBACK every finished message at the head, in order (not while holding)."""
        if self.holding:
            return
        q = self._pending
        while q and q[0].finished:
            head = q.popleft()
            if self._send is not None and head.generation == self.generation:
                self._send(head.mid, head.qos)
