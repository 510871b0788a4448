"""The per-printer queue and the job manager, with a fake connection, a Clock and inline threads."""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from ticketd.jobs.api import PrinterEvent
from ticketd.jobs.manager import (JobManager, QueueFull, Submission, SubmitError,
                                  UnknownPrinter)
from ticketd.jobs.model import JobEvent, JobKind, JobState
from ticketd.printers.status import READY, PrinterStatus
from tests.fakes import ManualRunner, Rig, config, run_now

PAPER_OUT = PrinterStatus(paper_out=True)


def submit(m: JobManager, job_id: str, data: bytes = b"hello\n", printer: str = "p1",
           **kw: Any) -> Submission:
    results: list[Submission] = []
    m.submit(job_id=job_id, printer=printer, source="test", kind=JobKind.RAW, payload=data,
             **kw).addCallback(results.append)
    assert results, "submit did not complete synchronously"
    return results[0]


class QueueTests(TestCase):
    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp()))
        self.rig.start()
        self.m = self.rig.manager
        self.conn = self.rig.connections["p1"]
        self.queue = self.rig.queues["p1"]

    def tearDown(self) -> Deferred:
        return self.rig.stop()

    def states(self, job_id: str) -> list[str]:
        return [e.new.value for e in self.rig.events
                if isinstance(e, JobEvent) and e.job.id == job_id]

    def test_prints_in_order(self) -> None:
        for i in range(3):
            s = submit(self.m, f"j{i}", f"job {i}\n".encode())
            self.assertFalse(s.duplicate)
        self.assertEqual(self.conn.writes, [(f"j{i}", f"job {i}\n".encode()) for i in range(3)])
        self.assertEqual(self.states("j0"), ["queued", "printing", "printed"])
        self.assertEqual(self.queue.jobs_processed, 3)

    def test_journal_records_every_change(self) -> None:
        submit(self.m, "j1")
        journal = self.m.committer.journal
        job = journal.get("j1")
        assert job is not None
        self.assertEqual(job.state, JobState.PRINTED)
        self.assertEqual([s for _, s, _ in journal.history(job.seq)],
                         ["queued", "printing", "printed"])

    def test_document_kept_as_json_bytes(self) -> None:
        """A queued document is one bytes object (memory and GC), parsed when rendered."""
        doc = {"version": "1.0", "profile": {"model": "m"}, "commands": [
            {"type": "text", "data": {"content": {"text": "Añejo 1,50 €"}}}]}
        results: list[Submission] = []
        self.conn.status = PAPER_OUT  # held: still queued when we look
        self.m.submit(job_id="d1", printer="p1", source="test", kind=JobKind.DOCUMENT,
                      payload=doc).addCallback(results.append)
        job = results[0].job
        self.assertIsInstance(job.payload, bytes)
        self.assertEqual(job.document(), doc)
        stored = self.m.committer.journal.get("d1", with_payload=True)
        assert stored is not None
        self.assertEqual(stored.document(), doc)

    def test_unstorable_document_refused_at_once(self) -> None:
        doc = {"commands": [{"type": "text", "data": {"content": {"text": "\ud800"}}}]}
        failure = self.failureResultOf(  # failed at once, never raised
            self.m.submit(job_id="d2", printer="p1", source="test", kind=JobKind.DOCUMENT,
                          payload=doc), SubmitError)
        self.assertTrue(str(failure.value).startswith("VALIDATION: the document cannot be "
                                                      "stored: "), str(failure.value))
        self.assertIsNone(self.m.committer.journal.get("d2"))

    def test_capacity_refuses_at_once(self) -> None:
        self.conn.status = PAPER_OUT
        first = submit(self.m, "j0")  # taken by the worker, held there: it counts
        self.assertEqual(first.current, 1)
        subs = [submit(self.m, f"j{i}") for i in range(1, 3)]
        self.assertEqual([s.current for s in subs], [2, 3])
        self.assertEqual([s.position for s in subs], [1, 2])
        failure = self.failureResultOf(  # queue_capacity = 3 takes three jobs, not four
            self.m.submit(job_id="j9", printer="p1", source="test", kind=JobKind.RAW,
                          payload=b"x"), QueueFull)
        self.assertEqual(str(failure.value), "Queue full, please retry in a few seconds")
        self.assertEqual(self.conn.writes, [])

    def test_hold_on_paper_out_and_resume(self) -> None:
        self.conn.status = PAPER_OUT
        submit(self.m, "j1")
        submit(self.m, "j2")
        self.assertEqual(self.conn.writes, [])
        self.assertEqual(self.m._open["j1"].state, JobState.HELD)
        self.assertEqual(self.m._open["j2"].state, JobState.HELD)
        holds = [e for e in self.rig.events if isinstance(e, PrinterEvent) and e.held]
        self.assertEqual([e.progress for e in holds], ["Waiting: Out of paper"] * 2)
        self.assertEqual([[j.id for j in e.held] for e in holds], [["j1"], ["j2"]])
        self.assertFalse([e for e in self.rig.events
                          if isinstance(e, JobEvent) and e.new is JobState.HELD])
        statuses = [e.new.text for e in self.rig.events if isinstance(e, PrinterEvent)]
        self.assertEqual(statuses[-1], "Out of paper")
        self.conn.status = READY
        self.rig.clock.advance(5)  # one poll interval
        self.assertEqual([j for j, _ in self.conn.writes], ["j1", "j2"])
        # Held is the printer's state, one event for the printer: not one per job.
        self.assertEqual(self.states("j1"), ["queued", "printing", "printed"])
        resumed = [e for e in self.rig.events if isinstance(e, PrinterEvent) and e.resumed]
        self.assertEqual([[j.id for j in e.resumed] for e in resumed], [["j1", "j2"]])

    def test_hold_timeout_fails_with_the_fault(self) -> None:
        self.conn.status = PAPER_OUT
        submit(self.m, "j1")
        submit(self.m, "j2")
        self.rig.clock.advance(61)
        for j in ("j1", "j2"):
            job = self.m._recent[j]
            self.assertEqual(job.state, JobState.FAILED)
            self.assertEqual(job.reason, "PRINTER: Out of paper for more than 60 s")
        self.conn.status = READY
        self.rig.clock.advance(5)
        self.assertEqual(self.conn.writes, [])
        submit(self.m, "j3")
        self.assertEqual([j for j, _ in self.conn.writes], ["j3"])

    def test_io_error_fails_job_and_queue_carries_on(self) -> None:
        self.conn.fail_next = "cannot connect to 127.0.0.1:9: Connection refused"
        submit(self.m, "j1")
        submit(self.m, "j2")
        job = self.m._recent["j1"]
        self.assertEqual(job.state, JobState.FAILED)
        self.assertEqual(job.reason,
                         "PRINTER: cannot connect to 127.0.0.1:9: Connection refused")
        self.assertEqual([j for j, _ in self.conn.writes], ["j2"])
        self.assertEqual(self.queue.last_error, job.reason)

    def test_cancel(self) -> None:
        self.conn.status = PAPER_OUT
        submit(self.m, "j1")
        submit(self.m, "j2")
        results: list[Any] = []
        self.m.cancel("j2").addCallback(results.append)
        self.assertTrue(results[0].cancelled)
        self.assertEqual(self.m._recent["j2"].state, JobState.CANCELLED)
        self.assertEqual(self.queue.length, 1)  # j1, held in the worker's hand
        self.m.cancel("j2").addCallback(results.append)
        self.assertEqual(results[1].message, "Job j2 is already cancelled and cannot be cancelled")
        self.m.cancel("nope").addCallback(results.append)
        self.assertEqual(results[2].message, "Unknown job id: nope")
        self.m.cancel("j1").addCallback(results.append)  # held in the worker's hand
        self.assertTrue(results[3].cancelled)
        self.conn.status = READY
        self.rig.clock.advance(5)
        self.assertEqual(self.conn.writes, [])

    def test_cannot_cancel_while_printing(self) -> None:
        job = submit(self.m, "j1").job
        job.state = JobState.PRINTING  # as seen from the reactor mid-write
        self.m._open["j1"] = job
        results: list[Any] = []
        self.m.cancel("j1").addCallback(results.append)
        self.assertFalse(results[0].cancelled)
        self.assertEqual(results[0].message, "Job j1 is being printed and cannot be cancelled")

    def test_expired_before_printing(self) -> None:
        self.conn.status = PAPER_OUT
        now = self.rig.clock.seconds()
        submit(self.m, "j1", expires=now + 3)
        submit(self.m, "j2", expires=now - 1)
        self.rig.clock.advance(1)
        self.assertEqual(self.m._recent["j2"].state, JobState.EXPIRED)
        self.rig.clock.advance(3)
        self.assertEqual(self.m._recent["j1"].state, JobState.EXPIRED)
        self.conn.status = READY
        self.rig.clock.advance(5)
        self.assertEqual(self.conn.writes, [])

    def test_duplicate_id_not_printed_twice(self) -> None:
        submit(self.m, "j1")
        again = submit(self.m, "j1", b"other")
        self.assertTrue(again.duplicate)
        self.assertEqual(again.job.state, JobState.PRINTED)
        self.assertEqual(len(self.conn.writes), 1)

    def test_unknown_printer_routing(self) -> None:
        with self.assertRaises(UnknownPrinter) as cm:
            self.m.route("nope")
        self.assertEqual(str(cm.exception),
                         "PRINTER: unknown printer 'nope'; configured printers: p1")

    def test_status_change_event(self) -> None:
        self.conn.status = PrinterStatus(cover_open=True)
        self.rig.clock.advance(5)
        self.conn.status = READY
        self.rig.clock.advance(5)
        texts = [e.new.text for e in self.rig.events if isinstance(e, PrinterEvent)]
        self.assertEqual(texts[-2:], ["Cover is open", "Ready"])


class HungWriteTests(TestCase):
    """A thread that never returns from a write (a dead USB device): past every deadline
    of the connection the job fails without a retry, the queue holds, and the daemon
    still stops."""

    def test_stuck_write_fails_job_and_holds_queue(self) -> None:
        hung: list[Deferred] = []

        def run(f: Callable[..., Any], *args: Any) -> Deferred:
            if getattr(f, "__name__", "") == "write_job" or hung:
                d: Deferred = Deferred()  # the thread is blocked: nothing after it runs
                hung.append(d)
                return d
            return run_now(f, *args)

        printers = ('[printers.p1]\nconnection = "virtual"\nwrite_timeout = 2\n'
                    "retry_failed = 3\nhold_timeout = 60\n")
        rig = Rig(config(self.mktemp(), printers), run=run)
        rig.start()
        submit(rig.manager, "j1")
        budget = 5 + 8 * 1 + 2 + 2  # connect, DLE EOT 1-4 (twice), write, grace
        rig.clock.advance(budget - 0.1)
        self.assertEqual(rig.manager._open["j1"].state, JobState.PRINTING)
        rig.clock.advance(0.1)
        job = rig.manager._recent["j1"]
        self.assertEqual(job.state, JobState.FAILED)  # not retried: it may have printed
        self.assertEqual(job.reason, "PRINTER: the printer stopped taking the job (no answer "
                                     f"from the printer's thread within {budget:g} s); "
                                     "connection dropped")
        self.assertEqual(rig.connections["p1"].aborted, 1)
        queue = rig.queues["p1"]
        self.assertEqual(queue.status.text, "No response from printer")
        submit(rig.manager, "j2")
        self.assertEqual(rig.manager._open["j2"].state, JobState.HELD)
        rig.clock.advance(61)  # hold_timeout applies
        self.assertEqual(rig.manager._recent["j2"].state, JobState.FAILED)
        d = rig.stop()  # the close waits CLOSE_TIMEOUT for the blocked thread, not forever
        rig.clock.advance(5)
        return d


class RestartTests(TestCase):
    def test_recovery(self) -> None:
        tmp = self.mktemp()
        rig = Rig(config(tmp))
        rig.start()
        rig.connections["p1"].status = PAPER_OUT
        submit(rig.manager, "a")
        submit(rig.manager, "b")
        submit(rig.manager, "c")
        # Pretend the process died while "a" was being written.
        a = rig.manager._open["a"]
        a.state = JobState.PRINTING
        from ticketd.jobs.journal import Update
        rig.manager.committer.journal.write([Update.of(a)])
        rig.manager.committer.journal.close()

        rig2 = Rig(config(tmp))
        rig2.start()
        self.assertEqual([j for j, _ in rig2.connections["p1"].writes], ["b", "c"])
        a2 = rig2.manager._recent["a"]
        self.assertEqual(a2.state, JobState.INTERRUPTED)
        self.assertIn("may or may not have printed", a2.reason)
        again = submit(rig2.manager, "b")
        self.assertTrue(again.duplicate)
        self.assertEqual(len(rig2.connections["p1"].writes), 2)
        return rig2.stop()

    def test_reprint_interrupted(self) -> None:
        tmp = self.mktemp()
        printers = ('[printers.p1]\nconnection = "virtual"\nreprint_interrupted = true\n')
        rig = Rig(config(tmp, printers))
        rig.start()
        rig.connections["p1"].status = PAPER_OUT
        a = submit(rig.manager, "a").job
        a.state = JobState.PRINTING
        from ticketd.jobs.journal import Update
        rig.manager.committer.journal.write([Update.of(a)])
        rig.manager.committer.journal.close()
        rig2 = Rig(config(tmp, printers))
        rig2.start()
        self.assertEqual([j for j, _ in rig2.connections["p1"].writes], ["a"])
        return rig2.stop()


class RetentionTests(TestCase):
    def test_cleanup_timer_forgets_old_finished_jobs(self) -> None:
        rig = Rig(config(self.mktemp(), state="retention_hours = 1\n"))
        rig.start()
        submit(rig.manager, "old")
        rig.clock.advance(2 * 3600)  # the hourly clean-up has run since
        submit(rig.manager, "new")
        journal = rig.manager.committer.journal
        self.assertIsNone(journal.get("old"))
        self.assertIsNotNone(journal.get("new"))
        return rig.stop()


class JournalFailureTests(TestCase):
    """What the journal could not record is never acted on as if it had been."""

    def test_job_not_sent_when_printing_not_recorded(self) -> None:
        rig = Rig(config(self.mktemp()))
        journal = rig.manager.committer.journal
        real_write = journal.write
        failures = [1]

        def flaky_write(changes: Any) -> Any:
            changes = list(changes)
            if failures and any(getattr(c, "state", None) is JobState.PRINTING
                                for c in changes):
                failures.pop()
                raise OSError("disk full")
            return real_write(changes)

        journal.write = flaky_write  # type: ignore[method-assign]
        rig.start()
        submit(rig.manager, "j1")
        self.assertEqual(rig.connections["p1"].writes, [])  # not sent while unrecorded
        rig.clock.advance(1.0)  # JOURNAL_RETRY
        self.assertEqual([j for j, _ in rig.connections["p1"].writes], ["j1"])
        self.assertEqual(journal.get("j1").state, JobState.PRINTED)
        # "printing" was refused: the job stayed queued in memory, nothing more to write
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        return rig.stop()

    def test_duplicate_of_an_unrecorded_job_gets_an_answer(self) -> None:
        later = ManualRunner()
        rig = Rig(config(self.mktemp()), journal_run=later)
        rig.start()
        first = rig.manager.submit(job_id="x", printer="p1", source="test",
                                   kind=JobKind.RAW, payload=b"a")
        again = rig.manager.submit(job_id="x", printer="p1", source="test",
                                   kind=JobKind.RAW, payload=b"a")
        errors: list[Any] = []
        first.addErrback(errors.append)
        again.addErrback(errors.append)
        # The insert's transaction fails; then the duplicate's barrier, and no loop.
        self.assertTrue(later.run_all(fail_first_write=OSError("disk full"), limit=20))
        self.assertEqual(later.calls, [])
        self.assertEqual(len(errors), 2)
        self.flushLoggedErrors(OSError)
        self.assertEqual(str(errors[1].value), "ERROR: an earlier submission of this job id "
                                               "could not be recorded; please send it again")

    def test_cancel_right_behind_its_job(self) -> None:
        later = ManualRunner()
        rig = Rig(config(self.mktemp()), journal_run=later)
        rig.connections["p1"].status = PAPER_OUT
        rig.start()
        rig.manager.submit(job_id="x", printer="p1", source="test", kind=JobKind.RAW,
                           payload=b"a")
        results: list[Any] = []
        rig.manager.cancel("x").addCallback(results.append)
        later.run_all(limit=10)
        self.assertTrue(results and results[0].cancelled, results)
