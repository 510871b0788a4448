"""Periodic work that cannot die: a LoopingCall whose step may fail without stopping it.

A bare LoopingCall stops for good the first time its function raises or returns a failed
Deferred, and nothing says so until someone notices that jobs no longer expire or the
watchdog is no longer fed. Here a failure is logged as one structured event naming the
task (``periodic_task``), counted, and the next run comes at the next interval as usual.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure


class Periodic:
    """``fn(*args)`` every ``interval`` seconds on ``clock``, named ``name`` in the log.

    A step that returns a Deferred is waited for before the next one is scheduled (as
    LoopingCall does), and its failure is caught like a raise."""

    def __init__(self, clock: IReactorTime, interval: float, fn: Callable[..., Any],
                 *args: Any, log: Logger, name: str) -> None:
        self.clock = clock
        self.interval = interval
        self.fn = fn
        self.args = args
        self.log = log
        self.name = name
        self.failures = 0
        self._loop = LoopingCall(self._step)
        self._loop.clock = clock

    @property
    def running(self) -> bool:
        return bool(self._loop.running)

    def start(self, now: bool = False) -> None:
        """Start; ``now``: the first run at once rather than after one interval."""
        if not self._loop.running:
            self._loop.start(self.interval, now=now)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def _step(self) -> Any:
        try:
            result = self.fn(*self.args)
        except Exception:
            self._failed(Failure())
            return None
        if isinstance(result, Deferred):
            return result.addErrback(self._failed)
        return result

    def _failed(self, f: Failure) -> None:
        self.failures += 1
        self.log.failure("periodic task {periodic_task} failed (failure {failures}); it "
                         "runs again in {interval:g} s", f, periodic_task=self.name,
                         failures=self.failures, interval=self.interval)
