"""A sick journal is a sick daemon: a journal that fails on demand at every write site
(batches and the clean-up) shows in /health, /ready, metrics and the log, refuses new jobs
with SQLite's own error, and loses nothing it acked: once the fault clears every job
prints exactly once. And the real SQLite error is the one raised, not ROLLBACK's."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from ticketd.jobs.journal import Insert, Journal
from ticketd.jobs.model import Job, JobKind, JobState
from ticketd.metrics import Metrics
from ticketd.printers.status import READY, PrinterStatus
from ticketd.web.health import problems, report
from tests.fakes import Rig, config

FULL = "database or disk is full"
PAPER_OUT = PrinterStatus(paper_out=True)


def job(i: str) -> Job:
    return Job(id=i, printer="p", source="test", kind=JobKind.RAW, payload=b"x" * 5000,
               created=1.0, updated=1.0)


class FailingJournal:
    """Wraps the real journal; while ``failing`` every write raises SQLite's disk-full."""

    def __init__(self, journal: Journal) -> None:
        self.real = journal
        self.failing = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def _check(self) -> None:
        if self.failing:
            raise sqlite3.OperationalError(FULL)

    def write(self, changes: Any) -> Any:
        self._check()
        return self.real.write(changes)

    def cleanup(self, before: float, keep: int) -> int:
        self._check()
        return self.real.cleanup(before, keep)


class RealErrorTests(SynchronousTestCase):
    def test_the_error_is_sqlites_not_rollbacks(self) -> None:
        """A full database: the write raises "database or disk is full" (SQLite rolled
        back by itself), and the journal works again once there is room."""
        journal = Journal(Path(self.mktemp()) / "j.sqlite3")
        self.addCleanup(journal.close)
        journal.write([Insert(job("a"))])
        pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
        journal._db.execute(f"PRAGMA max_page_count={pages}")
        with self.assertRaises(sqlite3.OperationalError) as caught:
            journal.write([Insert(job(f"b{i}")) for i in range(50)])
        self.assertEqual(str(caught.exception), FULL)
        self.assertFalse(journal._db.in_transaction)
        journal._db.execute("PRAGMA max_page_count=1073741823")
        self.assertEqual(journal.write([Insert(job("c"))]), [None])
        self.assertEqual([j.id for j in journal.unfinished()], ["a", "c"])


class SickJournalTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), printers=(
            '[printers.p1]\nconnection = "virtual"\nqueue_capacity = 10\n'
            'status_interval = 1\nhold_timeout = 600\n')))
        committer = self.rig.manager.committer
        self.journal = FailingJournal(committer.journal)
        committer._journal = self.journal  # type: ignore[assignment]
        self.metrics = Metrics(self.rig.service.printers, process=False)
        self.metrics.watch_journal(self.rig.service.journal_state)

    def submit(self, job_id: str) -> list[Any]:
        out: list[Any] = []
        self.rig.service.submit(job_id=job_id, printer="p1", source="test",
                                kind=JobKind.RAW, payload=b"\x1b@" + job_id.encode()
                                ).addBoth(out.append)
        return out

    def gauge(self) -> str:
        body = self.metrics.render()[0].decode()
        return next(line for line in body.splitlines()
                    if line.startswith("ticketd_journal_ok "))

    def test_shows_everywhere_and_loses_nothing(self) -> None:
        rig = self.rig
        connection = rig.connections["p1"]
        connection.status = PAPER_OUT
        rig.start()
        self.assertEqual(report(rig.service, 0)["journal"], {"ok": True, "error": None})
        self.assertEqual(self.gauge(), "ticketd_journal_ok 1.0")
        acked = [self.submit(f"a{i}")[0] for i in range(3)]
        self.assertEqual([s.job.state for s in acked], [JobState.HELD] * 3)

        self.journal.failing = True
        refused = self.submit("r1")[0]
        self.assertEqual(str(refused.value), "EXECUTION: the job could not be recorded on "
                                             f"disk: {FULL}")
        body = report(rig.service, 0)
        self.assertEqual(body["journal"], {"ok": False, "error": FULL})
        self.assertEqual(body["status"], "degraded")
        self.assertIn(f"journal: {FULL}",
                      problems(rig.service.printers(), rig.service.running,
                               rig.service.journal_state()))
        self.assertEqual(self.gauge(), "ticketd_journal_ok 0.0")

        # The printer is ready again, but nothing is sent while "printing" cannot be
        # recorded; the clean-up fails too.
        connection.status = READY
        rig.clock.advance(1.0)
        for _ in range(5):
            rig.clock.advance(1.0)
        rig.manager.cleanup().addErrback(lambda f: f.trap(sqlite3.OperationalError))
        self.assertEqual(connection.writes, [])

        self.journal.failing = False
        for _ in range(10):
            rig.clock.advance(1.0)
        self.assertEqual(sorted(j for j, _ in connection.writes), ["a0", "a1", "a2"])
        self.assertEqual(rig.service.journal_state().ok, True)
        self.assertEqual(report(rig.service, 0)["journal"], {"ok": True, "error": None})
        self.assertEqual(self.gauge(), "ticketd_journal_ok 1.0")
        for i in range(3):
            self.assertEqual(self.journal.get(f"a{i}").state, JobState.PRINTED)
        self.assertIsNone(self.journal.get("r1"))
        self.flushLoggedErrors(sqlite3.OperationalError)
        self.rig.stop()

    def test_one_log_line_per_change_of_condition(self) -> None:
        events: list[dict[str, Any]] = []
        from twisted.logger import globalLogPublisher
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        self.rig.start()
        self.journal.failing = True
        for i in range(3):
            self.submit(f"f{i}")
        self.journal.failing = False
        self.submit("ok")
        self.flushLoggedErrors(sqlite3.OperationalError)
        lines = [e["log_format"].format(**e) for e in events
                 if "writes" in e.get("log_format", "")]
        path = self.journal.path
        self.assertEqual(lines, [f"journal {path}: writes fail: {FULL}",
                                 f"journal {path}: writes work again"])
        self.rig.stop()
