"""The emulated printer without I/O: what it records and what it answers.

An :class:`Emulator` is one printer (shared fault state, all received bytes); each client
connection (or pty session) is a :class:`Session`, fed with :meth:`Session.receive`, which
returns an :class:`Outcome` telling the adapter what to send back, whether to hang up, and
how long to stop reading (the "slow" fault). The adapters in ``tcp.py`` and ``pty.py`` do
only the I/O, so every behaviour here is testable without sockets.
"""

from __future__ import annotations

from typing import Callable

import attrs

DLE, EOT = 0x10, 0x04

#: Status faults: the printer keeps accepting bytes; they change the DLE EOT answers.
STATUS_FAULTS = ("ready", "paper_near_end", "paper_out", "cover_open", "offline", "silent",
                 "feeding", "autocutter_error", "unrecoverable_error", "recoverable_error")
#: Line faults, set beside a status fault: ``disconnect_after`` (bytes) and ``slow`` (rate).
LINE_FAULTS = ("disconnect_after", "slow")

_FIXED = 0x12
# n -> extra bits, per status fault (Epson layout; docs/protocol.rst, "Printer status").
_BITS: dict[str, dict[int, int]] = {
    "ready": {},
    "paper_near_end": {4: 0x0C},
    "paper_out": {1: 0x08, 2: 0x20, 4: 0x0C | 0x60},
    "cover_open": {1: 0x08, 2: 0x04},
    "offline": {1: 0x08},
    "silent": {},
    "feeding": {1: 0x08, 2: 0x08},
    "autocutter_error": {1: 0x08, 2: 0x40, 3: 0x08},
    "unrecoverable_error": {1: 0x08, 2: 0x40, 3: 0x20},
    "recoverable_error": {1: 0x08, 2: 0x40, 3: 0x40},
}


def status_byte(fault: str, n: int) -> int | None:
    """The reply to ``DLE EOT n`` in status fault ``fault``; None when the printer is silent."""
    if fault == "silent":
        return None
    return _FIXED | _BITS[fault].get(n, 0)


@attrs.frozen
class State:
    """The fault state; "ready" clears everything, other faults change only their part."""

    status: str = "ready"
    disconnect_after: int | None = None  # bytes still accepted before hanging up (one-shot)
    # bytes per second, None = full speed: after taking a chunk the printer stops reading
    # for len(chunk)/rate seconds, as a printer with a full buffer does while it prints
    slow_rate: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {"fault": self.status, "disconnect_after": self.disconnect_after,
                "slow_rate": self.slow_rate}


def apply_fault(state: State, fault: str, *, nbytes: int | None = None,
                rate: float | None = None) -> State:
    """The state after setting ``fault``; ValueError names what is wrong."""
    if fault == "ready":
        return State()
    if fault in STATUS_FAULTS:
        return attrs.evolve(state, status=fault)
    if fault == "disconnect_after":
        if nbytes is None or isinstance(nbytes, bool) or not isinstance(nbytes, int) \
                or nbytes < 0:
            raise ValueError("disconnect_after needs bytes: a whole number >= 0")
        return attrs.evolve(state, disconnect_after=nbytes)
    if fault == "slow":
        if rate is None or isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise ValueError("slow needs rate: bytes per second (0 or null = full speed)")
        return attrs.evolve(state, slow_rate=float(rate) if rate > 0 else None)
    raise ValueError(f"unknown fault {fault!r}; one of "
                     + ", ".join(STATUS_FAULTS + LINE_FAULTS))


@attrs.frozen
class Outcome:
    """What an adapter must do after handing a chunk to :meth:`Session.receive`."""

    reply: bytes = b""
    hang_up: bool = False
    pause: float = 0.0  # seconds to stop reading (slow fault)


@attrs.define(eq=False)
class ConnectionRecord:
    """Everything one connection sent: ``raw`` as received, ``payload`` without the DLE EOT
    queries that were answered (unanswered ones, e.g. while silent, stay in)."""

    number: int
    peer: str
    raw: bytearray = attrs.field(factory=bytearray)
    payload: bytearray = attrs.field(factory=bytearray)
    queries: list[int] = attrs.field(factory=list)  # answered n, in order
    open: bool = True

    def as_dict(self) -> dict[str, object]:
        return {"number": self.number, "peer": self.peer, "open": self.open,
                "raw_bytes": len(self.raw), "payload_bytes": len(self.payload),
                "status_queries": len(self.queries)}


Observer = Callable[[str, ConnectionRecord, bytes], None]


class Emulator:
    """One emulated printer: fault state, connection records, observers."""

    def __init__(self) -> None:
        self.state = State()
        self.connections: list[ConnectionRecord] = []
        self._received = bytearray()
        self._observers: list[Observer] = []
        self._state_listeners: list[Callable[[State], None]] = []

    @property
    def received(self) -> bytes:
        """All payload bytes of all connections, in arrival order."""
        return bytes(self._received)

    def set_fault(self, fault: str, *, nbytes: int | None = None,
                  rate: float | None = None) -> State:
        self.state = apply_fault(self.state, fault, nbytes=nbytes, rate=rate)
        for listener in list(self._state_listeners):
            listener(self.state)
        return self.state

    def add_state_listener(self, listener: Callable[[State], None]) -> None:
        """``listener(state)`` after every :meth:`set_fault` (adapters end a slow pause
        at once when slow is cleared, instead of sleeping out the old rate)."""
        self._state_listeners.append(listener)

    def remove_state_listener(self, listener: Callable[[State], None]) -> None:
        if listener in self._state_listeners:
            self._state_listeners.remove(listener)

    def add_observer(self, observer: Observer) -> None:
        """``observer(event, record, data)`` for "connect", "data" (raw chunk), "disconnect"."""
        self._observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        self._observers.remove(observer)

    def _notify(self, event: str, record: ConnectionRecord, data: bytes = b"") -> None:
        for observer in list(self._observers):
            observer(event, record, data)

    def open_session(self, peer: str = "") -> "Session":
        record = ConnectionRecord(number=len(self.connections) + 1, peer=peer)
        self.connections.append(record)
        self._notify("connect", record)
        return Session(self, record)

    def summary(self) -> dict[str, object]:
        return {"received_bytes": len(self._received),
                "connections": [c.as_dict() for c in self.connections]}


class Session:
    """One connection's byte stream; holds back a DLE EOT split across reads."""

    def __init__(self, emulator: Emulator, record: ConnectionRecord) -> None:
        self.emulator = emulator
        self.record = record
        self._pending = b""  # a trailing DLE or DLE EOT that may start a query

    def receive(self, data: bytes) -> Outcome:
        em = self.emulator
        hang_up = False
        if em.state.disconnect_after is not None:
            left = em.state.disconnect_after
            if len(data) >= left:
                data, hang_up = data[:left], True
                em.state = attrs.evolve(em.state, disconnect_after=None)
            else:
                em.state = attrs.evolve(em.state, disconnect_after=left - len(data))
        self.record.raw += data
        reply = self._scan(data)
        if hang_up:
            self._flush()
        pause = len(data) / em.state.slow_rate if em.state.slow_rate and data else 0.0
        em._notify("data", self.record, data)
        return Outcome(reply=reply, hang_up=hang_up, pause=pause)

    def close(self) -> None:
        """The connection ended: a held-back partial query was payload after all."""
        if self.record.open:
            self._flush()
            self.record.open = False
            self.emulator._notify("disconnect", self.record)

    def _payload(self, data: bytes) -> None:
        if data:
            self.record.payload += data
            self.emulator._received += data

    def _flush(self) -> None:
        self._payload(self._pending)
        self._pending = b""

    def _scan(self, data: bytes) -> bytes:
        buf = self._pending + data
        self._pending = b""
        reply = bytearray()
        start = 0  # payload not yet recorded: buf[start:i]
        i = 0
        while i < len(buf):
            if buf[i] != DLE:
                i += 1
                continue
            if i + 1 >= len(buf) or (buf[i + 1] == EOT and i + 2 >= len(buf)):
                self._payload(buf[start:i])
                self._pending = buf[i:]  # maybe a query cut by the read boundary
                return bytes(reply)
            if buf[i + 1] == EOT and buf[i + 2] in (1, 2, 3, 4):
                b = status_byte(self.emulator.state.status, buf[i + 2])
                if b is not None:
                    self._payload(buf[start:i])
                    reply.append(b)
                    self.record.queries.append(buf[i + 2])
                    start = i + 3
                i += 3
                continue
            i += 1
        self._payload(buf[start:])
        return bytes(reply)
