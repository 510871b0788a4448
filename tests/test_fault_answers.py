"""Jobs that may not be held (``hold`` 0, MQTT's default): a fault fails them at once, when
they arrive during it or when it appears while they wait; the limit is journaled."""

from __future__ import annotations

import json
import sqlite3

from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from ticketd.jobs.journal import Journal
from ticketd.jobs.model import JobKind, JobState
from ticketd.mqtt import messages
from ticketd.printers.status import PrinterStatus
from tests.fakes import ManualRunner, Rig, config

PAPER_OUT = PrinterStatus(online=False, paper_out=True)


class NeverHeldTests(TestCase):
    def setUp(self) -> None:
        self.tmp = self.mktemp()

    def rig(self, run: object = None) -> Rig:
        rig = Rig(config(self.tmp), **({"run": run} if run else {}))
        rig.start()

        def stop() -> Deferred:
            d = rig.stop()
            if isinstance(run, ManualRunner):
                run.run_all()  # the queue closes its connection in its thread
            return d
        self.addCleanup(stop)
        return rig

    def submit(self, rig: Rig, job_id: str, hold: float | None) -> Deferred:
        return rig.manager.submit(job_id=job_id, printer="p1", source="mqtt",
                                  kind=JobKind.RAW, payload=b"x", hold=hold)

    def test_arriving_during_a_fault(self) -> None:
        rig = self.rig()
        rig.connections["p1"].status = PAPER_OUT
        rig.queues["p1"].poll()
        self.submit(rig, "now", 0)
        self.submit(rig, "waits", None)
        job = rig.manager._recent["now"]
        self.assertEqual((job.state, job.reason), (JobState.FAILED, "PRINTER: Out of paper"))
        self.assertEqual(json.loads(messages.for_job(job) or b""),
                         {"jobid": "now", "status": "Out of paper", "finished": True,
                          "success": False})
        self.assertIs(rig.manager._open["waits"].state, JobState.HELD)
        rig.connections["p1"].status = PrinterStatus()
        rig.queues["p1"].poll()
        self.assertEqual([w[0] for w in rig.connections["p1"].writes], ["waits"])

    def test_waiting_when_a_fault_appears(self) -> None:
        run = ManualRunner()  # the first job's bytes are not written yet
        rig = self.rig(run)
        run.run_all()
        for name in ("first", "second"):
            self.submit(rig, name, 0)
        rig.connections["p1"].status = PrinterStatus(online=False, cover_open=True)
        run.run_all()  # the first job's check reads the fault: both fail, none printed
        for name in ("first", "second"):
            job = rig.manager._recent[name]
            self.assertEqual((job.state, job.reason), (JobState.FAILED, "PRINTER: Cover is open"))
        rig.connections["p1"].status = PrinterStatus()
        rig.queues["p1"].poll()
        run.run_all()
        self.assertEqual(rig.connections["p1"].writes, [])

    def test_the_hold_limit_is_journaled_and_kept_after_a_restart(self) -> None:
        rig = self.rig()
        rig.connections["p1"].status = PAPER_OUT
        rig.queues["p1"].poll()
        self.submit(rig, "h", 5)
        self.assertEqual(rig.manager.committer.journal.get("h").hold, 5.0)
        rig.clock.advance(6)
        job = rig.manager._recent["h"]
        self.assertEqual(job.reason, "PRINTER: Out of paper for more than 5 s")
        self.assertEqual(json.loads(messages.for_job(job) or b"")["status"],
                         "Aborted: PRINTER: Out of paper for more than 5 s")

    def test_an_older_journal_gets_the_column(self) -> None:
        path = self.mktemp() + ".sqlite3"
        db = sqlite3.connect(path)
        db.executescript("CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT "
                         "NOT NULL UNIQUE, printer TEXT NOT NULL, source TEXT NOT NULL, kind "
                         "TEXT NOT NULL, payload BLOB, state TEXT NOT NULL, reason TEXT, "
                         "warnings TEXT NOT NULL DEFAULT '[]', created REAL NOT NULL, updated "
                         "REAL NOT NULL, started REAL, finished REAL, expires REAL, attempts "
                         "INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);"
                         "INSERT INTO jobs (id, printer, source, kind, payload, state, created,"
                         " updated) VALUES ('old', 'p1', 'ws', 'raw', x'00', 'queued', 1, 1);")
        db.commit()
        db.close()
        from pathlib import Path
        journal = Journal(Path(path))
        self.addCleanup(journal.close)
        [job] = journal.unfinished()
        self.assertEqual((job.id, job.hold), ("old", None))

    def test_an_io_failure_is_print_failed(self) -> None:
        rig = self.rig()
        rig.connections["p1"].fail_next = "broken pipe"
        self.submit(rig, "io", 0)
        job = rig.manager._recent["io"]
        self.assertEqual(json.loads(messages.for_job(job) or b"")["status"],
                         f"Print failed: {job.reason}")
