"""A job's ``printing`` record, told straight from the journal's thread to the printer's.

The printer may send a job's bytes only once its ``printing`` record is on disk. Going
through the reactor for that costs two hand-offs per job (the journal's result back to the
reactor, the write out to the printer's thread), each waiting behind whatever the reactor
is doing. So the queue asks for the record and, at once, for the write, which waits in the
printer's thread on a :class:`Gate`: the journal's thread opens it right after the commit
(``commit.py``), and the bytes go out while the reactor catches up. What clients hear is
unchanged: the job becomes ``printing`` on the reactor, after the commit, as before.

The gate is opened at most once: ``True`` (on disk) by the journal's thread, ``False``
(not recorded: the batch failed, the job had moved on) by whoever learns it first. The
printer's thread waits a bounded time (:data:`GATE_WAIT`); past it, it sends nothing and
the queue writes the job in a trip of its own once it has the record's outcome, so a slow
disk never makes a write look stuck.
"""

from __future__ import annotations

import threading

GATE_WAIT = 1.0  # seconds the printer's thread waits for the record before giving the turn back


class Gate:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._ok: bool | None = None

    def open(self, ok: bool) -> None:
        """The record's outcome; the first call wins (any thread)."""
        with self._lock:
            if self._ok is not None:
                return
            self._ok = ok
        self._event.set()

    def wait(self, timeout: float = GATE_WAIT) -> bool | None:
        """In the printer's thread: True once on disk, False if not recorded, None if
        nobody said within ``timeout``."""
        self._event.wait(timeout)
        return self._ok
