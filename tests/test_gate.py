"""The printing record told straight from the journal's thread to the printer's (gate.py):
the bytes go out only once the record is on disk, never when it is refused, and a slow
journal only sends the write back to its own trip."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ticketd.jobs.commit import GroupCommitter
from ticketd.jobs.gate import Gate
from ticketd.jobs.journal import Insert
from ticketd.jobs.model import JobKind, JobState
from ticketd.jobs.prepare import preparer
from ticketd.jobs.printer_work import NOT_SENT, PrinterWork
from tests.fakes import FakeConnection, ManualRunner, Rig, config, run_now
from tests.test_commit import FakeJournal, job


class GateTests(SynchronousTestCase):
    def test_the_first_outcome_wins(self) -> None:
        gate = Gate()
        gate.open(True)
        gate.open(False)
        self.assertIs(gate.wait(0), True)

    def test_nobody_said_in_time(self) -> None:
        self.assertIsNone(Gate().wait(0.01))

    def test_opened_from_another_thread(self) -> None:
        gate = Gate()
        threading.Timer(0.01, gate.open, (True,)).start()
        self.assertIs(gate.wait(5), True)


class PrinterWorkGateTests(SynchronousTestCase):
    def work(self) -> tuple[PrinterWork, FakeConnection]:
        conn = FakeConnection()
        cfg = config(self.mktemp()).printers[0]
        return PrinterWork(cfg, conn, preparer()), conn

    def test_a_closed_gate_sends_nothing(self) -> None:
        work, conn = self.work()
        gate = Gate()
        gate.open(False)  # the record was refused
        self.assertIs(work.write_job(b"bytes", "j1", gate), NOT_SENT)
        self.assertEqual(conn.writes, [])

    def test_an_open_gate_sends(self) -> None:
        work, conn = self.work()
        gate = Gate()
        gate.open(True)
        self.assertTrue(work.write_job(b"bytes", "j1", gate).sent)
        self.assertEqual(conn.writes, [("j1", b"bytes")])


class CommitterGateTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.journal = FakeJournal()
        self.runner = ManualRunner()
        self.committer = GroupCommitter(self.journal, self.runner)

    def test_opened_in_the_journal_thread_before_the_reactor_hears(self) -> None:
        gate, heard = Gate(), []
        d = self.committer.submit(Insert(job(1)), gate=gate)
        d.addCallback(lambda _: heard.append(gate.wait(0)))
        self.assertIsNone(gate.wait(0))  # not written yet
        _, f, args = self.runner.calls.pop(0)
        result = f(*args)  # the journal's thread: the transaction, then the gates
        self.assertIs(gate.wait(0), True)
        self.assertEqual(heard, [])  # the reactor has not heard yet
        d.callback(result[0])
        self.assertEqual(heard, [True])

    def test_a_failed_batch_and_those_behind_it_close_their_gates(self) -> None:
        first, behind = Gate(), Gate()
        d1 = self.committer.submit(Insert(job(1)), gate=first)  # written at once
        d2 = self.committer.submit(Insert(job(2)), gate=behind)  # waits behind it
        self.runner.run_all(fail_first_write=sqlite3.OperationalError("disk I/O error"))
        self.flushLoggedErrors(sqlite3.OperationalError)
        self.assertIs(first.wait(0), False)
        self.assertIs(behind.wait(0), False)
        self.failureResultOf(d1)
        self.failureResultOf(d2)


class HeldJournal(ManualRunner):
    """The journal's thread: its calls wait for the test, until ``auto`` (start, stop)."""

    auto = True

    def __call__(self, f: Callable[..., Any], *args: Any) -> Deferred:
        if self.auto:
            return run_now(f, *args)
        return super().__call__(f, *args)


class QueueGateTests(TestCase):
    """The queue with a journal whose commit the test releases."""

    def setUp(self) -> None:
        self.journal_run = HeldJournal()
        self.trips: list[tuple[str, float]] = []
        started = time.monotonic()

        def printer_thread(f: Callable[..., Any], *args: Any) -> Deferred:
            self.trips.append((getattr(f, "__name__", ""), time.monotonic() - started))
            return run_now(f, *args)

        self.rig = Rig(config(self.mktemp()), run=printer_thread,
                       journal_run=self.journal_run)
        self.rig.start()
        self.journal_run.auto = False
        self.conn = self.rig.connections["p1"]

    def tearDown(self) -> Deferred:
        self.journal_run.auto = True
        self.journal_run.run_all()
        d = self.rig.stop()
        self.rig.clock.advance(5)  # a job put back waits JOURNAL_RETRY on the clock
        return d

    def submit(self, job_id: str) -> Deferred:
        d = self.rig.manager.submit(job_id=job_id, printer="p1", source="test",
                                    kind=JobKind.RAW, payload=b"bytes\n")
        self.run_one()  # the acceptance; the queue then asks for the printing record
        return d

    def run_one(self) -> None:
        """The journal's thread runs its oldest call (one transaction)."""
        d, f, args = self.journal_run.calls.pop(0)
        d.callback(f(*args))

    def test_a_slow_record_sends_the_write_back_to_its_own_trip(self) -> None:
        """With inline threads the early write waits GATE_WAIT for a commit that cannot
        come meanwhile: it sends nothing, and once the record is on disk the job is
        written in a trip of its own, once."""
        self.successResultOf(self.submit("j1"))
        self.assertEqual(self.conn.writes, [])  # its early write gave up: not on disk yet
        self.run_one()  # the printing record, then the job's own write
        self.assertEqual(self.conn.writes, [("j1", b"bytes\n")])
        self.assertEqual([name for name, _ in self.trips if name == "write_job"],
                         ["write_job", "write_job"])
        self.run_one()  # printed
        job = self.successResultOf(self.rig.service.job("j1"))
        self.assertEqual(job.state, JobState.PRINTED)
