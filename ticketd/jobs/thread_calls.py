"""The calls a printer queue makes into its printer's own thread, with deadlines.

A thread blocked in a device call (a dead USB device) cannot be killed from Python, yet the
queue needs an answer: a call with a deadline fails with :class:`ThreadStuck` once it has
passed, even if the thread never returns. Calls are counted until the thread really has
returned, so that a status poll never queues up behind a call that is still stuck.
"""

from __future__ import annotations

from typing import Callable, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

Runner = Callable[..., Deferred]  # run(f, *args) -> Deferred with f's result, in the thread


class Threads(Protocol):
    """The printer's own thread pool: started and stopped with the queue."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ThreadStuck(Exception):
    """A call in the printer's thread outlived every deadline the connection enforces."""


class ThreadCalls:
    """Runs calls in one printer's thread and knows how many have not come back yet."""

    def __init__(self, run: Runner, clock: IReactorTime) -> None:
        self._run = run
        self.clock = clock
        self.busy = 0  # calls queued or running in the printer's thread

    def call(self, f: Callable[..., object], *args: object,
             timeout: float | None = None) -> Deferred:
        """Run ``f`` in the printer's thread. ``busy`` counts calls until the thread has
        really returned; with ``timeout`` the returned Deferred fails with ThreadStuck
        after that many seconds even if the thread never returns (it cannot be killed)."""
        self.busy += 1

        def finished(r: object) -> object:
            self.busy -= 1
            return r

        inner = self._run(f, *args).addBoth(finished)
        if timeout is None:
            return inner
        outer: Deferred = Deferred()
        timer = self.clock.callLater(timeout, lambda: outer.called or outer.errback(
            ThreadStuck(f"no answer from the printer's thread within {timeout:g} s")))

        def relay(r: object) -> None:
            if timer.active():
                timer.cancel()
            if not outer.called:
                outer.callback(r) if not isinstance(r, Failure) else outer.errback(r)

        inner.addBoth(relay)
        return outer
