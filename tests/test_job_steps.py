"""A job's steps through the printer queue, row by row, without threads or a reactor; and
the queue carrying out the fresh-status shortcut (inline thread, Clock)."""

from __future__ import annotations

from typing import Callable

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ticketd.jobs.job_steps import (EXPIRED_REASON, UNRECORDED_REASON, Action, Expire, Fail,
                                    GiveUp, Hold, JobSteps, PrepareAndCheck, RecordPrinted,
                                    RecordPrinting, Retry, RetryLater, SetStatus, Step,
                                    StepOutOfOrder, Write, io_reason)
from ticketd.jobs.model import Job, JobKind, JobState
from ticketd.printers.connection import PrinterIOError, WriteTimeout
from ticketd.printers.status import READY, PrinterStatus, no_response, not_connected
from tests.fakes import Rig, config

NOW = 1000.0
PAPER_OUT = PrinterStatus(paper_out=True)
DOC = b'{"version":"1.0","commands":[]}'


def raw(payload: bytes = b"hello\n", **kw: object) -> Job:
    return Job(id="r", printer="p", source="test", kind=JobKind.RAW, payload=payload,
               created=1.0, **kw)  # type: ignore[arg-type]


def document(**kw: object) -> Job:
    return Job(id="d", printer="p", source="test", kind=JobKind.DOCUMENT, payload=DOC,
               created=1.0, **kw)  # type: ignore[arg-type]


def recording(job: Job | None = None, retry_failed: int = 0) -> JobSteps:
    """A raw job's steps, checked against a Ready printer, "printing" being recorded."""
    steps = JobSteps(job or raw(), retry_failed)
    steps.begin(NOW, None)
    steps.prepared(b"ignored", READY)
    assert steps.status_set(running=True) == RecordPrinting()
    return steps


def writing(job: Job | None = None, retry_failed: int = 0) -> JobSteps:
    """As the queue leaves it: "printing" on disk (one attempt more), bytes going out."""
    steps = recording(job, retry_failed)
    steps.job.transition(JobState.PRINTING, NOW)
    assert steps.printing_recorded(True) == Write(b"hello\n")
    return steps


class StartTests(SynchronousTestCase):
    def test_ended_meanwhile_gives_up(self) -> None:
        job = raw()
        job.transition(JobState.CANCELLED, NOW)
        steps = JobSteps(job, 0)
        self.assertEqual(steps.begin(NOW, READY), GiveUp("ended meanwhile"))
        self.assertIs(steps.step, Step.DONE)

    def test_deadline_passed_expires(self) -> None:
        steps = JobSteps(raw(expires=NOW), 0)
        self.assertEqual(steps.begin(NOW, READY), Expire())
        self.assertEqual(Expire().reason, EXPIRED_REASON)
        self.assertEqual(EXPIRED_REASON, "EXPIRED: the deadline passed before printing")
        self.assertIs(steps.step, Step.DONE)

    def test_deadline_ahead_goes_on(self) -> None:
        steps = JobSteps(raw(expires=NOW + 1), 0)
        self.assertEqual(steps.begin(NOW, None), PrepareAndCheck(b"hello\n", check=True))

    def test_fresh_status_and_bytes_at_hand_skip_the_trip(self) -> None:
        """The shortcut: a raw job after a recent write needs no trip to the thread."""
        steps = JobSteps(raw(), 0)
        self.assertEqual(steps.begin(NOW, READY), SetStatus(READY))
        self.assertIs(steps.step, Step.CHECKED)
        self.assertEqual(steps.status_set(running=True), RecordPrinting())

    def test_fresh_fault_holds_without_a_trip(self) -> None:
        steps = JobSteps(raw(), 0)
        self.assertEqual(steps.begin(NOW, PAPER_OUT), SetStatus(PAPER_OUT))
        self.assertEqual(steps.status_set(running=True), Hold())

    def test_raw_without_fresh_status_reads_it(self) -> None:
        steps = JobSteps(raw(), 0)
        self.assertEqual(steps.begin(NOW, None), PrepareAndCheck(b"hello\n", check=True))
        self.assertIs(steps.step, Step.PREPARING)

    def test_document_with_fresh_status_renders_only(self) -> None:
        steps = JobSteps(document(), 0)
        self.assertEqual(steps.begin(NOW, READY), PrepareAndCheck(None, check=False))
        # The status is not read again: the fresh one stands.
        self.assertEqual(steps.prepared(b"rendered", None), SetStatus(READY))
        self.assertEqual(steps.data, b"rendered")

    def test_document_without_fresh_status_renders_and_reads(self) -> None:
        steps = JobSteps(document(), 0)
        self.assertEqual(steps.begin(NOW, None), PrepareAndCheck(None, check=True))
        self.assertEqual(steps.prepared(b"rendered", PAPER_OUT), SetStatus(PAPER_OUT))


class PreparingTests(SynchronousTestCase):
    def test_prepared_takes_the_status_read(self) -> None:
        steps = JobSteps(raw(), 0)
        steps.begin(NOW, None)
        self.assertEqual(steps.prepared(b"hello\n", READY), SetStatus(READY))
        self.assertIs(steps.step, Step.CHECKED)

    def test_bytes_are_made_once(self) -> None:
        """Rendered on the first trip; a trip after a hold only reads the status."""
        steps = JobSteps(document(), 0)
        steps.begin(NOW, None)
        steps.prepared(b"first", PAPER_OUT)
        self.assertEqual(steps.status_set(running=True), Hold())
        self.assertEqual(steps.woken(NOW, None, running=True),
                         PrepareAndCheck(b"first", check=True))
        steps.prepared(b"first", READY)
        self.assertEqual(steps.status_set(running=True), RecordPrinting())
        self.assertEqual(steps.printing_recorded(True), Write(b"first"))

    def test_preparation_failed_fails_not_as_an_io_error(self) -> None:
        steps = JobSteps(document(), 0)
        steps.begin(NOW, None)
        action = steps.preparation_failed("VALIDATION: commands[0]: unknown type")
        self.assertEqual(action, Fail("VALIDATION: commands[0]: unknown type", io=False))
        self.assertIs(steps.step, Step.DONE)

    def test_stuck_thread_holds(self) -> None:
        """The queue reads No response once the thread is stuck: the job waits."""
        steps = JobSteps(document(), 0)
        steps.begin(NOW, None)
        self.assertEqual(steps.prepare_stuck(running=True), Hold())
        self.assertIs(steps.step, Step.HOLDING)
        self.assertIsNone(steps.data)
        self.assertEqual(steps.woken(NOW, None, running=True),
                         PrepareAndCheck(None, check=True))

    def test_stuck_thread_while_stopping_gives_up(self) -> None:
        steps = JobSteps(raw(), 0)
        steps.begin(NOW, None)
        self.assertEqual(steps.prepare_stuck(running=False), GiveUp("stopping"))

    def test_stuck_thread_after_the_job_ended_gives_up(self) -> None:
        steps = JobSteps(raw(), 0)
        steps.begin(NOW, None)
        steps.job.transition(JobState.CANCELLED, NOW)
        self.assertEqual(steps.prepare_stuck(running=True), GiveUp("ended meanwhile"))


class CheckedTests(SynchronousTestCase):
    def checked(self, status: PrinterStatus) -> JobSteps:
        steps = JobSteps(raw(), 0)
        steps.begin(NOW, None)
        steps.prepared(b"hello\n", status)
        return steps

    def test_ready_records_printing(self) -> None:
        steps = self.checked(READY)
        self.assertEqual(steps.status_set(running=True), RecordPrinting())
        self.assertIs(steps.step, Step.RECORDING)

    def test_fault_holds(self) -> None:
        for fault in (PAPER_OUT, PrinterStatus(cover_open=True), no_response("timeout"),
                      not_connected("refused"), PrinterStatus(online=False)):
            steps = self.checked(fault)
            self.assertEqual(steps.status_set(running=True), Hold(), fault)
            self.assertIs(steps.step, Step.HOLDING)

    def test_ended_meanwhile_gives_up(self) -> None:
        """Cancelled during the trip, or failed by the hold_timeout as the status came."""
        steps = self.checked(READY)
        steps.job.transition(JobState.CANCELLED, NOW)
        self.assertEqual(steps.status_set(running=True), GiveUp("ended meanwhile"))

    def test_stopping_gives_up(self) -> None:
        """The job stays queued on disk; the next start takes it again."""
        steps = self.checked(READY)
        self.assertEqual(steps.status_set(running=False), GiveUp("stopping"))
        self.assertIs(steps.step, Step.DONE)


class HoldingTests(SynchronousTestCase):
    def held(self, job: Job | None = None) -> JobSteps:
        steps = JobSteps(job or raw(), 0)
        steps.begin(NOW, PAPER_OUT)
        steps.status_set(running=True)
        assert steps.step is Step.HOLDING
        return steps

    def test_stop_while_held_gives_up(self) -> None:
        steps = self.held()
        self.assertEqual(steps.woken(NOW, None, running=False), GiveUp("stopping"))
        self.assertIs(steps.step, Step.DONE)

    def test_woken_checks_again(self) -> None:
        steps = self.held()
        self.assertEqual(steps.woken(NOW, None, running=True),
                         PrepareAndCheck(b"hello\n", check=True))

    def test_woken_with_a_fresh_status_takes_it(self) -> None:
        steps = self.held()
        self.assertEqual(steps.woken(NOW, READY, running=True), SetStatus(READY))

    def test_woken_after_the_job_ended_gives_up(self) -> None:
        """Cancelled, or failed by hold_timeout, while held in the worker's hand."""
        steps = self.held()
        steps.job.transition(JobState.FAILED, NOW)
        self.assertEqual(steps.woken(NOW, READY, running=True), GiveUp("ended meanwhile"))

    def test_woken_past_the_deadline_expires(self) -> None:
        steps = self.held(raw(expires=NOW + 5))
        self.assertEqual(steps.woken(NOW + 5, READY, running=True), Expire())


class RecordingTests(SynchronousTestCase):
    def test_on_disk_writes(self) -> None:
        steps = recording()
        self.assertEqual(steps.printing_recorded(True), Write(b"hello\n"))
        self.assertIs(steps.step, Step.WRITING)

    def test_journal_that_cannot_record_printing_sends_nothing(self) -> None:
        steps = recording()
        action = steps.printing_recorded(False)
        self.assertEqual(action, RetryLater())
        self.assertEqual(UNRECORDED_REASON, "the journal could not be written")
        self.assertIs(steps.step, Step.DONE)


class WritingTests(SynchronousTestCase):
    def test_written_records_printed(self) -> None:
        steps = writing()
        self.assertEqual(steps.written(READY, running=True), RecordPrinted(6))
        self.assertIs(steps.step, Step.DONE)

    def test_written_with_a_fault_after_still_printed(self) -> None:
        """Paper out right after the job: this one printed, the next one waits."""
        self.assertEqual(writing().written(PAPER_OUT, running=True), RecordPrinted(6))

    def test_link_gone_right_after_fails(self) -> None:
        steps = writing()
        self.assertEqual(steps.written(not_connected("reset by peer"), running=True),
                         Fail("PRINTER: connection lost while sending the job (reset by "
                              "peer)", io=True))

    def test_link_gone_without_detail(self) -> None:
        self.assertEqual(writing().written(not_connected(), running=True),
                         Fail("PRINTER: connection lost while sending the job (no detail)",
                              io=True))

    def test_link_gone_retried_when_configured(self) -> None:
        action = writing(retry_failed=1).written(not_connected("gone"), running=True)
        self.assertEqual(action, Retry("PRINTER: connection lost while sending the job "
                                       "(gone)"))

    def test_write_failed_fails(self) -> None:
        steps = writing()
        action = steps.write_failed(PrinterIOError("cannot connect to 127.0.0.1:9: "
                                                   "Connection refused"), running=True)
        self.assertEqual(action, Fail("PRINTER: cannot connect to 127.0.0.1:9: Connection "
                                      "refused", io=True))
        self.assertIs(steps.step, Step.DONE)

    def test_retry_failed_retries_while_attempts_are_left(self) -> None:
        """retry_failed = 2: attempts 1 and 2 go back to the queue, the third fails."""
        job = raw()
        for attempt, expected in ((1, Retry), (2, Retry), (3, Fail)):
            steps = writing(job, retry_failed=2)
            self.assertEqual(job.attempts, attempt)
            action = steps.write_failed(WriteTimeout("write timed out"), running=True)
            self.assertIsInstance(action, expected)
            self.assertEqual(action.reason, "PRINTER: write timed out")
            job.transition(JobState.QUEUED, NOW, action.reason)

    def test_no_retry_while_stopping(self) -> None:
        action = writing(retry_failed=3).write_failed(PrinterIOError("x"), running=False)
        self.assertEqual(action, Fail("PRINTER: x", io=True))

    def test_stuck_write_is_never_resent(self) -> None:
        """Even with retries left: the bytes may be at the printer."""
        steps = writing(retry_failed=3)
        action = steps.write_stuck("no answer from the printer's thread within 17 s")
        self.assertEqual(action, Fail("PRINTER: the printer stopped taking the job (no "
                                      "answer from the printer's thread within 17 s); "
                                      "connection dropped", io=True))
        self.assertIs(steps.step, Step.DONE)

    def test_io_reason(self) -> None:
        self.assertEqual(io_reason(PrinterIOError("paper jam")), "PRINTER: paper jam")
        self.assertEqual(io_reason(OSError(5, "Input/output error")),
                         "PRINTER: OSError: [Errno 5] Input/output error")


class OrderTests(SynchronousTestCase):
    """Each step takes only its own outcomes; done takes none."""

    OUTCOMES: dict[str, Callable[[JobSteps], Action]] = {
        "begin": lambda s: s.begin(NOW, READY),
        "woken": lambda s: s.woken(NOW, READY, True),
        "prepared": lambda s: s.prepared(b"x", READY),
        "preparation_failed": lambda s: s.preparation_failed("x"),
        "prepare_stuck": lambda s: s.prepare_stuck(True),
        "status_set": lambda s: s.status_set(True),
        "printing_recorded": lambda s: s.printing_recorded(True),
        "written": lambda s: s.written(READY, True),
        "write_failed": lambda s: s.write_failed(PrinterIOError("x"), True),
        "write_stuck": lambda s: s.write_stuck("x"),
    }
    TAKES = {
        Step.START: {"begin"},
        Step.PREPARING: {"prepared", "preparation_failed", "prepare_stuck"},
        Step.CHECKED: {"status_set"},
        Step.HOLDING: {"woken"},
        Step.RECORDING: {"printing_recorded"},
        Step.WRITING: {"written", "write_failed", "write_stuck"},
        Step.DONE: set(),
    }

    WAY_TO: dict[Step, list[Callable[[JobSteps], Action]]] = {
        Step.START: [],
        Step.PREPARING: [lambda s: s.begin(NOW, None)],
        Step.CHECKED: [lambda s: s.begin(NOW, READY)],
        Step.HOLDING: [lambda s: s.begin(NOW, PAPER_OUT), lambda s: s.status_set(True)],
        Step.RECORDING: [lambda s: s.begin(NOW, READY), lambda s: s.status_set(True)],
        Step.WRITING: [lambda s: s.begin(NOW, READY), lambda s: s.status_set(True),
                       lambda s: s.printing_recorded(True)],
        Step.DONE: [lambda s: s.begin(NOW, READY), lambda s: s.status_set(True),
                    lambda s: s.printing_recorded(False)],
    }

    def at(self, step: Step) -> JobSteps:
        steps = JobSteps(raw(), 0)
        for tell in self.WAY_TO[step]:
            tell(steps)
        self.assertIs(steps.step, step)
        return steps

    def test_every_step_and_outcome(self) -> None:
        for step, takes in self.TAKES.items():
            for name, tell in self.OUTCOMES.items():
                steps = self.at(step)
                if name in takes:
                    tell(steps)
                else:
                    with self.assertRaises(StepOutOfOrder, msg=f"{name} while {step}"):
                        tell(steps)
                    self.assertIs(steps.step, step)


class WholeJobTests(SynchronousTestCase):
    def test_a_document_through_a_paper_out(self) -> None:
        """Top to bottom, as the queue sees it."""
        job = document()
        steps = JobSteps(job, 0)
        self.assertEqual(steps.begin(NOW, None), PrepareAndCheck(None, check=True))
        self.assertEqual(steps.prepared(b"receipt", PAPER_OUT), SetStatus(PAPER_OUT))
        self.assertEqual(steps.status_set(True), Hold())
        self.assertEqual(steps.woken(NOW + 30, None, True),
                         PrepareAndCheck(b"receipt", check=True))
        self.assertEqual(steps.prepared(b"receipt", READY), SetStatus(READY))
        self.assertEqual(steps.status_set(True), RecordPrinting())
        job.transition(JobState.PRINTING, NOW + 30)
        self.assertEqual(steps.printing_recorded(True), Write(b"receipt"))
        self.assertEqual(steps.written(READY, True), RecordPrinted(7))
        self.assertIs(steps.step, Step.DONE)
        self.assertEqual(job.state, JobState.PRINTING)  # the machine never changes the job


class FreshStatusTests(TestCase):
    """The queue's side of the shortcut: the status read right after a job's bytes is the
    next raw job's check while it is recent, so a busy queue saves a trip per job."""

    def test_back_to_back_raw_jobs_skip_the_check(self) -> Deferred:
        rig = Rig(config(self.mktemp()))
        rig.start()
        conn = rig.connections["p1"]
        self.assertEqual(conn.queries, 1)  # the first poll
        for job_id in ("j1", "j2"):
            rig.manager.submit(job_id=job_id, printer="p1", source="test",
                               kind=JobKind.RAW, payload=b"x")
        # j1: its check and the status after its bytes; j2: only the status after.
        self.assertEqual([j for j, _ in conn.writes], ["j1", "j2"])
        self.assertEqual(conn.queries, 4)
        rig.clock.advance(0.3)  # past STATUS_FRESH: the next job is checked again
        rig.manager.submit(job_id="j3", printer="p1", source="test", kind=JobKind.RAW,
                           payload=b"x")
        self.assertEqual(conn.queries, 6)
        return rig.stop()
