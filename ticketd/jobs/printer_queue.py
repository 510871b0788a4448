"""One printer's serialized queue: a DeferredQueue worker whose blocking work runs in the
printer's own one-thread pool, so a hung printer never delays another printer or the reactor.

What a job goes through, and what follows each outcome, is :class:`JobSteps`' to say (its
module has the table); the queue carries the steps out and tells it how they went:

1. it renders the document (raw bytes need nothing) and reads the printer's status, in
   one trip to the printer's thread — rendering never runs on the reactor, and the status
   is checked before every job without the fixed sleeps the original MQTT server needed.
   In a busy queue neither needs a trip of its own: the next document is rendered while
   the journal records the previous job's ``printing`` (the thread would wait anyway),
   and the status read right after the previous job's bytes (nothing sent in between)
   stands as the check for STATUS_FRESH seconds;
2. if the printer reports a fault (paper out, cover open, offline, no response ...) the
   queue *holds* (``holds.py``: the hold is the printer's, one record and one event for
   the whole queue): waiting jobs are ``held`` with a "Waiting: <fault>" progress, and the
   worker waits until a status poll reads Ready again (the job manager fails jobs held
   longer than their hold limit); a job that may not be held (``hold`` 0: MQTT's default)
   fails at once with the fault instead;
3. it records ``printing`` in the journal and waits until it is on disk — so that after a
   crash a job is either not started (reprinted) or ``interrupted`` (never silently
   reprinted) — then writes the bytes with ``write_timeout``;
4. where the printer confirms in order (``confirming.py``) it records ``sent`` and waits
   for the printer's answer; then, or at once elsewhere, it records ``printed`` (not
   waiting for it: the next job's ``printing`` does), or ``failed`` with the reason (or
   requeues the job, ``retry_failed``). A change the job manager could not record is not
   applied (``changes.py``); those that must happen are tried again until it takes them.

The blocking calls in the printer's thread and their time budgets are ``printer_work.py``.

Status is polled every ``status_interval`` while no job is being handled
(``queue_status.py``).
"""

from __future__ import annotations

from twisted.application import service
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure

from ticketd.config import PrinterConfig
from ticketd.jobs.changes import Outcome
from ticketd.jobs.confirming import Confirming
from ticketd.jobs.job_sink import JobSink
from ticketd.jobs.job_steps import (Action, AwaitConfirm, Expire, Fail, GiveUp, Hold,
                                    JobSteps, PrepareAndCheck, Progress, RecordPrinted,
                                    RecordPrinting, RecordSent, Retry, RetryLater, SetStatus,
                                    Write)
from ticketd.jobs.model import Job, JobState
from ticketd.jobs.paused_queue import PausableQueue
from ticketd.jobs.queue_status import StatusKeeping
from ticketd.jobs.printer_work import (RENDER_ALLOWANCE, Prepare, PreparationError,
                                      PrinterWork, next_document)
from ticketd.jobs.thread_calls import Runner, ThreadCalls, Threads, ThreadStuck
from ticketd.periodic import Periodic
from ticketd.printers.connection import PrinterConnection
from ticketd.printers.status import UNKNOWN_YET, PrinterStatus
from ticketd.stages import Stages

CLOSE_TIMEOUT = 5.0  # seconds stop waits for the device to close before leaving it
JOURNAL_RETRY = 1.0  # seconds before trying again a job whose state could not be recorded
STATUS_FRESH = 0.2  # seconds a status read right after a write stands as the next check


class PrinterQueue(Confirming, StatusKeeping, service.Service):
    log = Logger()

    def __init__(self, config: PrinterConfig, connection: PrinterConnection, *,
                 clock: IReactorTime, run: Runner, prepare: Prepare, sink: JobSink,
                 threads: Threads | None = None, stages: Stages | None = None) -> None:
        self.config = config
        self.printer = config.name
        self.name = f"printer:{config.name}"  # the service name; ``printer`` is the printer's
        self.connection = connection
        self.clock = clock
        self._calls = ThreadCalls(run, clock)
        self._thread_work = PrinterWork(config, connection, prepare, stages)
        self.sink = sink
        self._threads = threads
        self.queue: PausableQueue[Job] = PausableQueue()  # the operator may pause it
        self.status: PrinterStatus = UNKNOWN_YET
        self.current: Job | None = None
        self.writing = False
        self.jobs_processed = 0
        self.jobs_failed = 0
        self.last_error: str | None = None
        self._wake: Deferred[None] | None = None
        self._after_write: PrinterStatus | None = None
        self._printed: Deferred[None] | None = None  # the last job's "printed" record
        self._sent_record: Deferred[Outcome] | None = None  # the current job's "sent"
        self._after_write_at = 0.0
        self._ahead_busy = False  # the next document is being rendered in the thread
        self._worker: Deferred[None] | None = None
        self._get: Deferred[Job] | None = None
        self._poller = Periodic(clock, config.status_interval, self.poll, log=self.log,
                                name=f"status poll {config.name}")

    # --- the queue -------------------------------------------------------------------------

    @property
    def waiting(self) -> list[Job]:
        """Jobs waiting their turn, in order (not the one being handled)."""
        return self.queue.pending

    @property
    def length(self) -> int:
        """The jobs in this queue: those waiting their turn and the one being handled
        (held or printing), so that ``queue_capacity`` jobs fit and not one more."""
        return len(self.queue.pending) + self._handling()

    @property
    def held(self) -> int:
        current = [self.current] if self._handling() else []
        return sum(1 for j in self.queue.pending + current if j.state is JobState.HELD)

    def _handling(self) -> int:
        current = self.current
        return 1 if current is not None and not current.state.final else 0

    @property
    def paused(self) -> bool:
        return self.status.holds_jobs and self.status is not UNKNOWN_YET

    def position(self, job: Job) -> int | None:
        """1 = next to print; None if not waiting (being printed, or done)."""
        pending = self.queue.pending
        if pending and pending[-1] is job:  # the common case: just enqueued
            return len(pending)
        try:
            return self.queue.pending.index(job) + 1
        except ValueError:
            return None

    def enqueue(self, job: Job, front: bool = False) -> None:
        """Add an accepted (journaled) job. Capacity is the job manager's business: jobs
        recovered after a restart are enqueued even beyond it, never dropped."""
        if front and not self.queue.waiting:
            self.queue.pending.insert(0, job)
        else:
            self.queue.put(job)
        if self.paused and job.state is JobState.QUEUED:
            self._meet_fault(job, self.status)

    def remove(self, job: Job) -> None:
        """Forget a job that left the queue (cancelled, expired, failed while held)."""
        if job in self.queue.pending:
            self.queue.pending.remove(job)
        if job is self.current:
            self._wake_worker()

    # --- service ---------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        if self._threads is not None:
            self._threads.start()
        self._poller.start(now=True)
        self._worker = ensureDeferred(self._work())
        self._worker.addErrback(lambda f: f.trap(CancelledError))
        self._worker.addErrback(lambda f: self.log.failure("printer {printer}: worker died",
                                                           f, printer=self.printer))

    def stopService(self) -> Deferred[None]:
        """Stop taking jobs from the queue; let the job being written finish; close."""
        super().stopService()
        self._poller.stop()
        if self._get is not None:
            self._get.cancel()
        self._wake_worker()
        d = self._worker if self._worker is not None else succeed(None)

        def close(_: object) -> Deferred[None]:
            d = self._calls.call(self.connection.close, timeout=CLOSE_TIMEOUT)
            return d.addBoth(lambda _: self._stop_threads())

        return d.addBoth(close)

    def _stop_threads(self) -> None:
        if self._threads is not None:
            self._threads.stop()

    # --- the worker ------------------------------------------------------------------------

    def _wake_worker(self) -> None:
        d, self._wake = self._wake, None
        if d is not None:
            d.callback(None)

    async def _work(self) -> None:
        while self.running:
            self._get = self.queue.get()
            try:
                job = await self._get
            finally:
                self._get = None
            if job.state.final:
                continue
            self.current = job
            try:
                await self._handle(job)
            except Exception:
                self.log.failure("printer {printer}: job {job} failed unexpectedly",
                                 printer=self.printer, job=job.id)
                if not job.state.final and not job.state.at_printer:
                    await self.sink.change(job, JobState.FAILED, "EXECUTION: internal error")
            finally:
                self.current = None

    def _fresh_status(self) -> PrinterStatus | None:
        """The status read right after the last write, if no bytes went out since and it is
        recent: a valid check before the next job, saving a round trip per job."""
        if self._after_write is not None and \
                self.clock.seconds() - self._after_write_at <= STATUS_FRESH:
            return self._after_write
        return None

    async def _handle(self, job: Job) -> None:
        """Carry out what the job's steps ask, one after the other, until they are done."""
        ahead = self._thread_work.take_ahead(job)
        if ahead is not None and ahead.warnings:
            job.warnings = ahead.warnings
        steps = JobSteps(job, self.config.retry_failed, self.config.confirm_timeout,
                         data=ahead.data if ahead is not None else None)
        self._sent_record = None
        action: Action | None = steps.begin(self.clock.seconds(), self._fresh_status())
        while action is not None:
            action = await self._carry_out(steps, action)

    async def _carry_out(self, steps: JobSteps, action: Action) -> Action | None:
        """Do one step; the answer to how it went is the next one (None: done)."""
        job = steps.job
        match action:
            case PrepareAndCheck(data=data, check=check):
                return await self._prepare_step(steps, data, check)
            case SetStatus(status=status):
                self._after_write = None
                self.set_status(status)
                return steps.status_set(self.running)
            case Hold():
                self._wake = Deferred()
                await self._wake  # status Ready again, the job left the queue, or stopping
                return steps.woken(self.clock.seconds(), self._fresh_status(), self.running)
            case RecordPrinting():
                if self._printed is not None and not self.sink.journal_ok:
                    await self._printed  # at most one job of this printer in doubt
                recorded = self.sink.change(job, JobState.PRINTING, progress="In progress")
                self._render_ahead()
                outcome = await recorded
                if outcome.moved is not None:
                    return None  # cancelled or expired meanwhile: nothing was sent
                return steps.printing_recorded(outcome.recorded)
            case Write(data=data):
                return await self._write(steps, data)
            case RecordSent() | AwaitConfirm() | Progress():
                return await self._confirming(steps, action)
            case RecordPrinted(size=size, unconfirmed=unconfirmed):
                sent, self._sent_record = self._sent_record, None
                if sent is not None:
                    await sent
                job.bytes_written = size
                self.jobs_processed += 1
                if unconfirmed is not None:
                    self.log.warn("printer {printer}: job {job}: {why}", printer=self.printer,
                                  job=job.id, why=unconfirmed)
                    job.warnings = job.warnings + (unconfirmed,)
                    self._thread_work.stop_confirming(unconfirmed)
                # Not awaited: the next job's "printing" is committed with it or after it
                # (a batch behind a failed one fails too), and waits for it while the
                # journal fails: at most one job in doubt after a crash. It printed:
                # recorded whatever it takes.
                printed = self.sink.change(job, JobState.PRINTED, progress="Printed",
                                           must=True)
                self._printed = printed.addCallback(lambda _: None)
                printed.addCallback(self._printed_recorded, printed)
            case Retry(reason=reason):
                self._io_failed(job, reason)
                await self._requeue(job, reason)
            case RetryLater(reason=reason):
                # Not on disk: after a crash the journal would say "queued" and the job
                # would print again. Put it back and try again shortly; nothing was sent.
                self.log.critical("printer {printer}: job {job} not sent: its state could "
                                  "not be recorded", printer=self.printer, job=job.id)
                if not job.state.final:  # still queued as the journal says: back in front
                    self.enqueue(job, front=True)
                await deferLater(self.clock, JOURNAL_RETRY, lambda: None)
            case Fail(reason=reason, io=io):
                if io:
                    self._io_failed(job, reason)
                self.jobs_failed += 1
                await self.sink.change(job, JobState.FAILED, reason, must=True)
            case Expire(reason=reason):
                await self.sink.change(job, JobState.EXPIRED, reason, must=True)
            case GiveUp():
                pass  # it ended meanwhile, or stopping: the job stays as it is on disk
        return None

    async def _prepare_step(self, steps: JobSteps, data: bytes | None, check: bool
                            ) -> Action:
        job = steps.job
        try:
            made, warnings, checked = await self._calls.call(
                self._thread_work.prepare_and_check, job, data, check,
                timeout=self._thread_work.prepare_budget())
        except PreparationError as e:
            return steps.preparation_failed(str(e))
        except ThreadStuck as e:
            self._thread_stuck(e)
            return steps.prepare_stuck(self.running)
        if warnings:  # the same document renders the same: a second render replaces them
            job.warnings = tuple(warnings)
        return steps.prepared(made, checked)

    async def _write(self, steps: JobSteps, data: bytes) -> Action:
        self.writing = True
        try:
            # A rendering ahead still in the thread goes first: its time is in the budget.
            budget = self._thread_work.write_budget() + (
                RENDER_ALLOWANCE if self._ahead_busy else 0.0)
            written = await self._calls.call(self._thread_work.write_job, data, steps.job.id,
                                             timeout=budget)
        except ThreadStuck as e:
            # Beyond every deadline of the connection: the thread is blocked where Python
            # cannot interrupt it. The bytes may be at the printer: never resend them.
            self.writing = False
            self.connection.abort()
            self._thread_stuck(e)
            return steps.write_stuck(str(e))
        except Exception as e:
            self.writing = False
            return steps.write_failed(e, self.running)
        self.writing = False
        if written.status is not None:
            self._after_write, self._after_write_at = written.status, self.clock.seconds()
            self.set_status(written.status)
        elif written.confirmed:  # it printed all of it: as it read before, fresh again
            self._after_write, self._after_write_at = self.status, self.clock.seconds()
        return steps.written(written.status, self.running, written.token, written.confirmed)

    def _render_ahead(self) -> None:
        """The next document is rendered in the printer's thread while the journal
        records this job's ``printing``; this job's write waits behind it in the thread."""
        ahead = next_document(self.queue.pending)
        if ahead is None or self._ahead_busy:
            return
        self._ahead_busy = True

        def done(result: object) -> None:
            self._ahead_busy = False
            if isinstance(result, Failure):
                self.log.failure("printer {printer}: rendering ahead failed", result,
                                 printer=self.printer)

        self._calls.call(self._thread_work.make_ahead, ahead).addBoth(done)

    def _printed_recorded(self, _: object, printed: Deferred[None]) -> None:
        if self._printed is printed:
            self._printed = None

    def _io_failed(self, job: Job, reason: str) -> None:
        """The job did not reach the printer whole: the queue's last error."""
        self.last_error = reason
        self.log.warn("printer {printer}: job {job}: {reason}", printer=self.printer,
                      job=job.id, reason=reason)

    async def _requeue(self, job: Job, reason: str) -> None:
        """Back to the head of the queue once that is on disk (after a crash it is then
        queued, not interrupted), unless it was cancelled or expired meanwhile."""
        await self.sink.change(job, JobState.QUEUED, reason, must=True)
        if not job.state.final:
            self.enqueue(job, front=True)
