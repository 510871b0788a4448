"""Each printer's own thread, so a hung printer never delays another printer or the reactor."""

from __future__ import annotations

import functools
import threading
from typing import Callable

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool


class PrinterThread(ThreadPool):
    """A one-thread pool whose thread never keeps the process alive.

    A write stuck in a dead USB device cannot be interrupted from Python; ``stop`` waits a
    bounded time for it instead of hanging the daemon's shutdown forever.
    """

    threadFactory = functools.partial(threading.Thread, daemon=True)  # type: ignore[assignment]

    def __init__(self, name: str, join_timeout: float = 5.0) -> None:
        super().__init__(1, 1, name=name)
        self.join_timeout = join_timeout

    def stop(self) -> None:
        self.joined = True
        self.started = False
        self._team.quit()
        for thread in self.threads:
            thread.join(self.join_timeout)


def runner(reactor: object, pool: ThreadPool) -> Callable[..., Deferred]:
    """``run(f, *args)`` → Deferred with ``f``'s result, computed in ``pool``."""
    return functools.partial(deferToThreadPool, reactor, pool)
