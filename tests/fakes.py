"""Test doubles: a scriptable printer connection and a synchronous thread runner."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock

from ticketd.config import Config, parse
from ticketd.jobs.commit import GroupCommitter
from ticketd.jobs.journal import Journal
from ticketd.jobs.manager import JobManager
from ticketd.jobs.prepare import preparer
from ticketd.jobs.printer_queue import PrinterQueue
from ticketd.jobs.service import PrintService
from ticketd.printers.connection import PrinterIOError
from ticketd.printers.status import READY, PrinterStatus


def run_now(f: Callable[..., Any], *args: Any) -> Deferred:
    """A thread runner that runs inline: deterministic unit tests with task.Clock."""
    return maybeDeferred(f, *args)


class ManualRunner:
    """A thread runner whose calls wait until the test runs them: races made by hand.

    ``run_all(fail_first_write=...)`` runs the queued calls in order (including those they
    queue), making the first ``write`` fail with the given exception if one is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[Deferred, Callable[..., Any], tuple[Any, ...]]] = []

    def __call__(self, f: Callable[..., Any], *args: Any) -> Deferred:
        d: Deferred = Deferred()
        self.calls.append((d, f, args))
        return d

    def run_all(self, fail_first_write: Exception | None = None, limit: int = 100) -> bool:
        failed = False
        for _ in range(limit):
            if not self.calls:
                break
            d, f, args = self.calls.pop(0)
            if fail_first_write is not None and not failed and \
                    getattr(f, "__name__", "") == "write":
                failed = True
                d.errback(fail_first_write)
            else:
                d.callback(f(*args))
        return failed


class FakeConnection:
    """Records what is written; status and failures are set by the test."""

    def __init__(self) -> None:
        self.status: PrinterStatus = READY
        self.writes: list[tuple[str | None, bytes]] = []
        self.fail_next: str | None = None
        self.hang = threading.Event()
        self.hang.set()  # set = not hanging
        self.opened = 0
        self.closed = 0
        self.aborted = 0
        self.queries = 0

    def open(self) -> None:
        self.opened += 1

    def write(self, data: bytes, job_id: str | None = None) -> None:
        self.hang.wait()
        if self.fail_next:
            msg, self.fail_next = self.fail_next, None
            raise PrinterIOError(msg)
        self.writes.append((job_id, data))

    def query_status(self) -> PrinterStatus:
        self.queries += 1
        return self.status

    def close(self) -> None:
        self.closed += 1

    def abort(self) -> None:
        self.aborted += 1
        self.hang.set()


def config(tmp: str, printers: str = "", state: str = "") -> Config:
    text = f'[state]\ndirectory = "{tmp}"\n{state}\n' + (printers or
        '[printers.p1]\nconnection = "virtual"\nqueue_capacity = 3\nstatus_interval = 5\n'
        'write_timeout = 2\nhold_timeout = 60\n')
    return parse(text, str(Path(tmp) / "ticketd.toml"))


class Rig:
    """A job manager with one queue per printer, fake connections, a Clock, inline threads,
    and the print service over it (``service``) for the transports' tests."""

    def __init__(self, cfg: Config, run: Callable[..., Deferred] = run_now,
                 clock: Clock | None = None,
                 journal_run: Callable[..., Deferred] = run_now) -> None:
        self.clock = clock or Clock()
        self.clock.advance(1_700_000_000)
        self.config = cfg
        journal = Journal(cfg.state.directory / "journal.sqlite3")
        self.manager = JobManager(cfg, GroupCommitter(journal, journal_run), self.clock)
        self.connections: dict[str, FakeConnection] = {}
        self.queues: dict[str, PrinterQueue] = {}
        for p in cfg.printers:
            conn = self.connections[p.name] = FakeConnection()
            q = self.queues[p.name] = PrinterQueue(p, conn, clock=self.clock, run=run,
                                                   prepare=preparer(), sink=self.manager)
            self.manager.add_queue(q)
        # What the transports see: no hardware scan, previews and validation inline.
        self.service = PrintService(self.manager, run=run_now, scanners=())
        self.events: list[Any] = []
        self.manager.subscribe(self.events.append)

    def start(self) -> None:
        self.manager.startService()

    def stop(self) -> Deferred:
        return self.manager.stopService()
