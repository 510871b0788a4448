"""The virtual printers' spools kept as long as the journal keeps jobs
(``[state] retention_hours``): older job files are removed, periodically, in a thread.

A failed round is logged and the next one runs as planned.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from twisted.application import service
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from ticketd.printers.connection import PrinterIOError
from ticketd.printers.virtual import VirtualConnection

#: Seconds between two rounds: the journal forgets old jobs hourly too.
INTERVAL = 3600.0


class SpoolPruner(service.Service):
    """Every ``interval`` seconds (and at start), each spool loses the files older than
    ``retention``."""

    log = Logger()
    name = "spool-pruning"

    def __init__(self, spools: Sequence[VirtualConnection], retention: float,
                 clock: IReactorTime, run: Callable[..., Deferred[Any]],
                 interval: float = INTERVAL) -> None:
        """``retention`` in seconds; ``run(f, *args)`` runs ``f`` off the reactor."""
        self.spools = tuple(spools)
        self.retention = retention
        self.clock = clock
        self.run = run
        self._loop = LoopingCall(self.prune)
        self._loop.clock = clock
        self.interval = interval

    def startService(self) -> None:  # noqa: N802
        super().startService()
        if self.spools:
            self._loop.start(self.interval, now=True)

    def stopService(self) -> None:  # noqa: N802
        super().stopService()
        if self._loop.running:
            self._loop.stop()

    def prune(self) -> Deferred[None]:
        """One round over every spool; never fails (that would stop the loop)."""
        before = self.clock.seconds() - self.retention
        rounds = [self.run(spool.prune, before).addCallbacks(
            self._pruned, self._failed, callbackArgs=(spool,), errbackArgs=(spool,))
            for spool in self.spools]
        return gatherResults(rounds).addCallback(lambda _: None)

    def _pruned(self, removed: int, spool: VirtualConnection) -> None:
        if removed:
            self.log.info("virtual printer spool {spool}: removed {removed} files older "
                          "than {hours:g} h", spool=str(spool.spool), removed=removed,
                          hours=self.retention / 3600)

    def _failed(self, failure: Any, spool: VirtualConnection) -> None:
        if failure.check(PrinterIOError):
            self.log.warn("virtual printer spool {spool}: pruning failed: {error}",
                          spool=str(spool.spool), error=failure.getErrorMessage())
            return
        self.log.failure("virtual printer spool {spool}: pruning failed", failure,
                         spool=str(spool.spool))
