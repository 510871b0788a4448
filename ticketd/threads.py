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


def runner(reactor: object, pool: ThreadPool) -> Callable[..., Deferred]:
    """``run(f, *args)`` → Deferred with ``f``'s result, computed in ``pool``."""
    return functools.partial(deferToThreadPool, reactor, pool)
