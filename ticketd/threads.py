"""Thread pools that never keep the process alive and never hang its shutdown.

Each printer gets its own one-thread pool (:func:`printer_thread`), so a hung printer never
delays another printer or the reactor; the journal has one too; MQTT connects run in a
small pool. A write stuck in a dead USB device or a connect stuck in DNS cannot be
interrupted from Python: ``stop`` waits a bounded time for such a thread instead of
blocking the daemon's exit forever, and the thread is a daemon thread.
"""

from __future__ import annotations

import functools
import threading
from typing import Callable

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from ticketd.stages import Stages


class DaemonThreadPool(ThreadPool):
    threadFactory = functools.partial(threading.Thread, daemon=True)  # type: ignore[assignment]

    def __init__(self, minthreads: int, maxthreads: int, name: str,
                 join_timeout: float = 5.0) -> None:
        super().__init__(minthreads, maxthreads, name=name)
        self.join_timeout = join_timeout

    def stop(self) -> None:
        self.joined = True
        self.started = False
        self._team.quit()
        for thread in self.threads:
            thread.join(self.join_timeout)


def printer_thread(name: str) -> DaemonThreadPool:
    """One thread: the jobs and status polls of one device, strictly in turn."""
    return DaemonThreadPool(1, 1, name)


def runner(reactor: object, pool: ThreadPool, stages: Stages | None = None,
           stage: str = "handoff") -> Callable[..., Deferred]:
    """``run(f, *args)`` → Deferred with ``f``'s result, computed in ``pool``. With
    ``stages``, each call adds to ``stage`` the time of its two hand-offs: waiting for the
    thread to take it, and for the reactor to take the result back."""
    if stages is None:
        return functools.partial(deferToThreadPool, reactor, pool)
    clock = stages.wall

    def run(f: Callable[..., object], *args: object) -> Deferred:
        times = [clock(), 0.0, 0.0]  # asked, started, finished

        def in_thread() -> object:
            times[1] = clock()
            try:
                return f(*args)
            finally:
                times[2] = clock()

        def back(result: object) -> object:
            stages.add(stage, (times[1] - times[0]) + (clock() - (times[2] or times[0])))
            return result

        return deferToThreadPool(reactor, pool, in_thread).addBoth(back)

    return run
