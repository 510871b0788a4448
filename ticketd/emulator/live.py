"""The emulator as seen from reactor code: the core plus Deferreds that fire on arrivals."""

from __future__ import annotations

from typing import Callable

from twisted.internet.defer import Deferred

from ticketd.emulator.core import ConnectionRecord, Emulator


class LiveEmulator(Emulator):
    """:class:`Emulator` with :meth:`when` / :meth:`when_received` for tests and the CLI."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: list[tuple[Callable[[Emulator], bool], Deferred[Emulator]]] = []
        self.add_observer(self._check)

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

    def _check(self, event: str, record: ConnectionRecord, data: bytes) -> None:
        for entry in list(self._waiters):
            predicate, d = entry
            if entry in self._waiters and predicate(self):
                self._waiters.remove(entry)
                d.callback(self)
