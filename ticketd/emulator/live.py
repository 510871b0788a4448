"""The emulator as seen from reactor code: the core plus Deferreds that fire on arrivals."""

from __future__ import annotations

from typing import Callable

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from ticketd.emulator.answers import stops_printing
from ticketd.emulator.core import ConnectionRecord, Emulator, State
from ticketd.emulator.mechanism import PrintSettings


class LiveEmulator(Emulator):
    """:class:`Emulator` with :meth:`when` / :meth:`when_received` for tests and the CLI,
    and the timer that drives the print mechanism on ``clock`` (a reactor, a task.Clock)."""

    def __init__(self, settings: PrintSettings | None = None,
                 clock: IReactorTime | None = None) -> None:
        super().__init__(settings)
        self._waiters: list[tuple[Callable[[Emulator], bool], Deferred[Emulator]]] = []
        self._clock: IReactorTime | None = None
        self._timer: IDelayedCall | None = None
        self.add_observer(self._check)
        if clock is not None:
            self.attach(clock)

    def attach(self, clock: IReactorTime) -> None:
        """Print on ``clock``'s time (once: the first adapter's clock wins)."""
        if self._clock is None:
            self._clock = clock
            self.now = clock.seconds

    def _schedule(self) -> None:
        """A timer for when the piece being printed is done; none while a fault stops the
        mechanism (nothing moves: a timer would fire at once, again and again), since the
        change that clears the fault runs the mechanism and schedules again."""
        if stops_printing(self.state.status):
            return
        due = self.mechanism.due()
        if self._clock is None or due is None or \
                (self._timer is not None and self._timer.active()):
            return
        self._timer = self._clock.callLater(due, self._tick)

    def _change(self, state: State, push_asb: bool = True) -> None:
        super()._change(state, push_asb)
        self._check("state", None, b"")

    def _tick(self) -> None:
        self._timer = None
        self.run_mechanism()
        self._check("print", None, b"")

    def stop(self) -> None:
        """No more timers (the emulator is being shut down)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def when(self, predicate: Callable[[Emulator], bool]) -> "Deferred[Emulator]":
        """Fires (with the emulator) once ``predicate(emulator)`` holds, checked now and
        after every connect, chunk and disconnect. Cancel it or add a timeout in tests."""
        if predicate(self):
            d: Deferred[Emulator] = Deferred()
            d.callback(self)
            return d
        entry: list[tuple[Callable[[Emulator], bool], Deferred[Emulator]]] = []

        def cancel(_: Deferred[Emulator]) -> None:
            if entry and entry[0] in self._waiters:
                self._waiters.remove(entry[0])

        d = Deferred(cancel)
        entry.append((predicate, d))
        self._waiters.append(entry[0])
        return d

    def when_received(self, predicate: Callable[[bytes], bool] | bytes) -> "Deferred[Emulator]":
        """Fires once ``predicate(self.received)`` holds; a bytes value means "ends with"."""
        if isinstance(predicate, (bytes, bytearray)):
            suffix = bytes(predicate)
            return self.when(lambda e: e.received.endswith(suffix))
        check = predicate
        return self.when(lambda e: check(e.received))

    def when_connections(self, count: int, closed: bool = False) -> "Deferred[Emulator]":
        """Fires once ``count`` connections were made (and, with ``closed``, all ended)."""
        return self.when(lambda e: len(e.connections) >= count
                         and (not closed or not any(c.open for c in e.connections)))

    def _check(self, event: str, record: ConnectionRecord | None, data: bytes) -> None:
        for entry in list(self._waiters):
            predicate, d = entry
            if entry in self._waiters and predicate(self):
                self._waiters.remove(entry)
                d.callback(self)
