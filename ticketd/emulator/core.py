"""The emulated printer without I/O: what it records and what it answers.

An :class:`Emulator` is one printer (shared fault state, all received bytes); each client
connection (or pty session) is a :class:`Session`, fed with :meth:`Session.receive`, which
returns an :class:`Outcome` telling the adapter what to send back, whether to hang up, and
how long to stop reading (the "slow" fault). The adapters in ``tcp.py`` and ``pty.py`` do
only the I/O, so every behaviour here is testable without sockets.

Behind the sessions is the print mechanism (``mechanism.py``): the payload prints at the
configured speed, and the answers that come in order (``GS r``, ``GS ( H`` fn 48, the
first Automatic Status Back) are sent once the bytes before them have printed, through the
session's :attr:`Session.send` (the adapter's write). ``DLE EOT`` is real-time: answered as
soon as it is read, ahead of whatever the buffer holds. A full buffer stops the reading of
the connections that add to it (flow control, as on a real printer), so a query sent behind
more payload on such a connection waits for room; one on another connection does not.
A time source (``now``) makes the speed real; the default
prints instantly.
"""

from __future__ import annotations

from typing import Callable

import attrs

from ticketd.emulator.answers import (STATUS_FAULTS, asb_status, process_id_answer,
                                      status_byte, stops_printing, transmit_status)
from ticketd.emulator.commands import Piece, Print, Request, Scanner
from ticketd.emulator.mechanism import Mechanism, PrintSettings

DLE, EOT = 0x10, 0x04

#: Line faults, set beside a status fault: ``disconnect_after`` (bytes) and ``slow`` (rate).
LINE_FAULTS = ("disconnect_after", "slow")
#: Actions: ``power_off`` switches the printer off and on again (the buffer is lost, every
#: connection drops, a new roll is in; an open cover stays open).
ACTIONS = ("power_off",)
#: Conditions of the hardware that a power cycle does not change (an open cover stays open).
_OUTLIVE_POWER = ("cover_open", "paper_near_end")


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
                     + ", ".join(STATUS_FAULTS + LINE_FAULTS + ACTIONS))


@attrs.frozen
class Outcome:
    """What an adapter must do after handing a chunk to :meth:`Session.receive`."""

    reply: bytes = b""
    hang_up: bool = False
    pause: float = 0.0  # seconds to stop reading (slow fault)
    full: bool = False  # the receive buffer is full: stop reading until Session.on_room


@attrs.define(eq=False)
class ConnectionRecord:
    """Everything one connection sent: ``raw`` as received, ``payload`` without the DLE EOT
    queries that were answered (unanswered ones, e.g. while silent, stay in) and without
    the in-order status requests (GS r, GS ( H fn 48, GS a)."""

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

    def __init__(self, settings: PrintSettings | None = None,
                 now: Callable[[], float] | None = None) -> None:
        self.state = State()
        self.connections: list[ConnectionRecord] = []
        self._received = bytearray()
        self._observers: list[Observer] = []
        self._state_listeners: list[Callable[[State], None]] = []
        self.mechanism: Mechanism[Session] = Mechanism(settings or PrintSettings())
        self.now: Callable[[], float] = now or (lambda: 0.0)
        self.sessions: list[Session] = []  # open ones
        self._roll_ended = False

    @property
    def paper(self) -> bytes:
        """What came out on paper so far (all rolls)."""
        return bytes(self.mechanism.paper)

    def advance(self) -> list[tuple["Session", bytes]]:
        """Print up to now; the answers due, each with the session it goes to."""
        out: list[tuple[Session, bytes]] = []
        reached, ended = self.mechanism.run(self.now(), stops_printing(self.state.status))
        for request, session in reached:
            answer = session.carry_out(request)
            if answer:
                out.append((session, answer))
        if ended:
            self._roll_ended = True
            if self.state.status != "paper_out":
                # the ASB after the answers of what printed before the roll ended
                out += [(s, asb_status("paper_out")) for s in self.sessions if s.asb]
                self._change(attrs.evolve(self.state, status="paper_out"), push_asb=False)
        if not self.mechanism.full:
            for session in list(self.sessions):
                session.room()
        return out

    def run_mechanism(self) -> None:
        """Print up to now and send the answers due (the adapters' timer calls this)."""
        for session, answer in self.advance():
            session.push(answer)
        self._schedule()

    def _schedule(self) -> None:
        """The mechanism may have work at a later time: a reactor-facing subclass sets a
        timer for :meth:`Mechanism.due` and calls :meth:`run_mechanism` then."""

    def power_off(self) -> None:
        """Off and on again: the buffer is lost, connections drop, a new roll is in."""
        self.run_mechanism()
        self.mechanism.drop()
        for session in list(self.sessions):
            session.hang_up()
        if self._roll_ended:
            self._roll_ended = False
            self.mechanism.refill()
        if self.state.status not in _OUTLIVE_POWER:
            self._set_status("ready")

    @property
    def received(self) -> bytes:
        """All payload bytes of all connections, in arrival order."""
        return bytes(self._received)

    def set_fault(self, fault: str, *, nbytes: int | None = None,
                  rate: float | None = None) -> State:
        if fault == "power_off":
            self.power_off()
            return self.state
        state = apply_fault(self.state, fault, nbytes=nbytes, rate=rate)
        self.run_mechanism()  # what printed until now printed in the old state
        self._change(state)
        return self.state

    def _set_status(self, fault: str) -> None:
        if self.state.status != fault:
            self._change(attrs.evolve(self.state, status=fault))

    def _change(self, state: State, push_asb: bool = True) -> None:
        old, self.state = self.state, state
        if self._roll_ended and not stops_printing(state.status):
            self._roll_ended = False  # the paper is back: a new roll
            self.mechanism.refill()
        if push_asb and old.status != state.status:
            for session in list(self.sessions):
                if session.asb:
                    session.push(asb_status(state.status))
        for listener in list(self._state_listeners):
            listener(self.state)
        self.run_mechanism()

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
        session = Session(self, record)
        self.sessions.append(session)
        return session

    def summary(self) -> dict[str, object]:
        return {"received_bytes": len(self._received), "paper_bytes": len(self.paper),
                "mechanism": self.mechanism.as_dict(),
                "connections": [c.as_dict() for c in self.connections]}


class Session:
    """One connection's byte stream; holds back a DLE EOT split across reads."""

    def __init__(self, emulator: Emulator, record: ConnectionRecord) -> None:
        self.emulator = emulator
        self.record = record
        self._pending = b""  # a trailing DLE or DLE EOT that may start a query
        self._scanner = Scanner()
        self.asb = False  # Automatic Status Back enabled (GS a n, n != 0)
        #: the adapter's write for answers that come later; None: kept in :attr:`outbox`
        self.send: Callable[[bytes], None] | None = None
        self.on_hang_up: Callable[[], None] | None = None  # the adapter's hang-up
        self.on_room: Callable[[], None] | None = None  # the buffer has room again
        self.outbox = bytearray()
        self.waiting_room = False
        self._took = False  # this receive() added to the print buffer

    def carry_out(self, request: Request) -> bytes:
        """A buffered command reached the print head: its answer."""
        if request.kind == "gs_r":
            return bytes((transmit_status(self.emulator.state.status, request.arg[0]),))
        if request.kind == "process_id":
            return process_id_answer(request.arg)
        self.asb = request.arg[0] != 0  # GS a n: first status at once, then on change
        return asb_status(self.emulator.state.status) if self.asb else b""

    def push(self, data: bytes) -> None:
        """Bytes for the host that are not a reply to a read (later answers, ASB)."""
        if not self.record.open:
            return
        if self.send is not None:
            self.send(data)
        else:
            self.outbox += data

    def hang_up(self) -> None:
        self.close()
        if self.on_hang_up is not None:
            self.on_hang_up()

    def room(self) -> None:
        if self.waiting_room:
            self.waiting_room = False
            if self.on_room is not None:
                self.on_room()

    def receive(self, data: bytes) -> Outcome:
        em = self.emulator
        hang_up = False
        self._took = False
        if em.state.disconnect_after is not None:
            left = em.state.disconnect_after
            if len(data) >= left:
                data, hang_up = data[:left], True
                em.state = attrs.evolve(em.state, disconnect_after=None)
            else:
                em.state = attrs.evolve(em.state, disconnect_after=left - len(data))
        self.record.raw += data
        reply = bytearray(self._scan(data))
        if hang_up:
            self._flush()
        pause = len(data) / em.state.slow_rate if em.state.slow_rate and data else 0.0
        for session, answer in em.advance():
            if session is self:
                reply += answer
            else:
                session.push(answer)
        em._schedule()
        full = em.mechanism.full and not hang_up and self._took
        self.waiting_room = self.waiting_room or full
        em._notify("data", self.record, data)
        return Outcome(reply=bytes(reply), hang_up=hang_up, pause=pause, full=full)

    def close(self) -> None:
        """The connection ended: a held-back partial query was payload after all."""
        if self.record.open:
            self._flush()
            self.record.open = False
            if self in self.emulator.sessions:
                self.emulator.sessions.remove(self)
            self.emulator._schedule()  # what the flush put in the buffer prints too
            self.emulator._notify("disconnect", self.record)

    def _payload(self, data: bytes) -> None:
        """Bytes past the real-time queries: to the print mechanism; all but the in-order
        requests (GS r, GS ( H fn 48, GS a: queries too) are the payload."""
        if data:
            self._took = True  # in the buffer, or held by the scanner as part of a command
            self._take(self._scanner.feed(data))

    def _take(self, pieces: list[Piece]) -> None:
        for piece in pieces:
            if isinstance(piece, Print):
                self.record.payload += piece.data
                self.emulator._received += piece.data
        self.emulator.mechanism.take(pieces, self, self.emulator.now())

    def _flush(self) -> None:
        self._payload(self._pending)
        self._pending = b""
        self._take(self._scanner.flush())

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
