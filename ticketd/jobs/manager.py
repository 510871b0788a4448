"""The job manager: the owner of every job, behind the print service (``service.py``).

It owns every Job, records each one and each change in the journal before anyone hears of
it, routes jobs to printers, refuses what does not fit, de-duplicates on the job id
(across transports and restarts), expires jobs past their deadline, fails jobs held past
their hold limit (the job's own, else the printer's ``hold_timeout``), and tells subscribers (WebSocket, MQTT, metrics) of
every job event and printer status change.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any, Callable, Iterable

from twisted.application import service
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ticketd.config import Config, PrinterConfig
from ticketd.jobs.api import (CancelResult, NotRecorded, NotStorable, PrinterEvent,
                             QueueFull, ShuttingDown, SubmitError, Submission, UnknownPrinter)
from ticketd.jobs.changes import Changes, Outcome
from ticketd.jobs.commit import GroupCommitter
from ticketd.jobs.journal import BARRIER, Insert
from ticketd.jobs.model import Job, JobEvent, JobKind, JobState, encode_document
from ticketd.jobs.printer_queue import PrinterQueue
from ticketd.jobs.recovery import recover
from ticketd.jobs.holds import Holds
from ticketd.periodic import Periodic
from ticketd.printers.status import PrinterStatus
from ticketd.state_lock import StateError

RECENT_IN_MEMORY = 2000


Listener = Callable[[Any], None]


class JobManager(service.MultiService):
    """Its children are the printer queues: it recovers jobs before they start, and on
    stop waits for every queue to finish the job it is writing before the journal closes
    (a plain MultiService parent would stop them all at once)."""

    log = Logger()
    name = "jobs"

    def __init__(self, config: Config, committer: GroupCommitter, clock: IReactorTime) -> None:
        super().__init__()
        self.config = config
        self.committer = committer
        self.clock = clock
        self.queues: dict[str, PrinterQueue] = {}
        self._routes = {n: p.name for p in config.printers for n in p.names()}
        self._default = next((p.name for p in config.printers if p.default), None)
        self._open: dict[str, Job] = {}  # not final
        self._recent: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._pending_inserts: collections.Counter[str] = collections.Counter()
        self._reservations: collections.Counter[str] = collections.Counter()
        self._listeners: list[Listener] = []
        self._changes = Changes(committer, clock, self._applied)
        self._recovered: list[JobEvent] = []
        self.holds = Holds(committer, clock, self._emit)
        self._sweeper = Periodic(clock, 1.0, self.sweep, log=self.log, name="sweep")
        self._cleaner = Periodic(clock, 3600.0, self.cleanup, log=self.log, name="cleanup")
        self.accepting = True

    # --- wiring ----------------------------------------------------------------------------

    def add_queue(self, queue: PrinterQueue) -> None:
        self.queues[queue.printer] = queue
        queue.setServiceParent(self)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """``listener(event)`` gets every JobEvent and PrinterEvent; returns unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: object) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                self.log.failure("event listener {listener!r} failed", listener=listener)

    def printer_named(self, name: str) -> PrinterConfig | None:
        """The printer whose name or alias is ``name`` (any case), without the default."""
        found = self._routes.get(name.strip().lower())
        return self.config.printer(found) if found is not None else None

    def route(self, model: str | None) -> PrinterConfig:
        """The printer for ``profile.model`` (name or alias, any case), or the default."""
        name = self._routes.get((model or "").strip().lower())
        if name is None and self._default is not None:
            name = self._default
        if name is None:
            known = ", ".join(p.name for p in self.config.printers)
            raise UnknownPrinter(f"PRINTER: unknown printer {model!r}; configured printers: "
                                 f"{known}")
        return self.config.printer(name)

    # --- lifecycle -------------------------------------------------------------------------

    def startService(self) -> None:
        """Open the journal (the state directory's lock first) and recover what it holds
        (blocking, before the reactor serves anyone), then start the printer queues."""
        self.committer.start()
        try:
            self.recover()
        except BaseException:
            self.committer.close()
            raise
        super().startService()
        self._sweeper.start(now=False)
        self._cleaner.start(now=True)
        self.clock.callLater(0, self._tell_recovered)

    def _tell_recovered(self) -> None:
        """The changes recovery made reach every listener like any other change, once
        every service has started (MQTT clients get their final ``P/printed``)."""
        events, self._recovered = self._recovered, []
        for event in events:
            self._emit(event)

    def stopService(self) -> Deferred[None]:
        """Queues finish their current jobs, then the journal is flushed and closed."""
        self.accepting = False
        self._changes.close()
        for loop in (self._sweeper, self._cleaner):
            loop.stop()
        d = super().stopService()
        d.addBoth(lambda _: self._changes.settled())
        d.addBoth(lambda _: self.flushed())
        return d.addBoth(lambda _: self.committer.close())

    def flushed(self) -> Deferred[None]:
        """Fires once every change asked for so far is on disk."""
        if self.committer.idle():
            return succeed(None)
        return self.committer.submit(BARRIER).addCallback(lambda _: None)

    def recover(self) -> None:
        """Queue again what the journal holds unfinished (``recovery.py``)."""
        journal = self.committer.journal
        self.holds.since = journal.holds()
        found = recover(journal.unfinished(),
                        lambda name: self.config.printer(name) if name in self.queues
                        else None, self.clock.seconds())
        for job in found.finished:
            self._remember(job)
        for job in found.waiting:
            self._open[job.id] = job
            self.queues[job.printer].enqueue(job)
        if found.updates:
            try:
                journal.write(found.updates)
            except sqlite3.Error as e:
                raise StateError(f"{journal.path}: cannot record the recovered jobs: {e}"
                                 ) from None
        self._recovered = found.events
        self.log.info("journal {path}: {n} unfinished jobs recovered, {changed} changed",
                      path=str(journal.path), n=len(self._open), changed=len(found.updates))

    # --- submit / cancel / query -----------------------------------------------------------

    def submit(self, *, job_id: str, printer: str, source: str, kind: JobKind, payload: Any,
               expires: float | None = None, hold: float | None = None,
               reprint_of: str | None = None, warnings: tuple[str, ...] = (),
               checked: bool = False) -> Deferred[Submission]:
        """Accept a job: Deferred firing with a Submission once it is on disk, or failing
        with SubmitError (queue full, stopping ...; failed at once when known at once).
        Never raises. ``payload``: bytes for RAW, the document (parsed JSON) for DOCUMENT;
        ``hold``, ``reprint_of``, ``checked``, ``warnings`` (intake's): see :class:`Job`."""
        try:
            return self._submit(job_id, printer, source, kind, payload, expires, hold,
                                reprint_of, warnings, checked)
        except SubmitError:
            return fail()

    def _submit(self, job_id: str, printer: str, source: str, kind: JobKind, payload: Any,
                expires: float | None, hold: float | None, reprint_of: str | None = None,
                warnings: tuple[str, ...] = (), checked: bool = False
                ) -> Deferred[Submission]:
        queue = self.queues.get(printer)
        if queue is None:
            raise UnknownPrinter(f"PRINTER: unknown printer {printer!r}; configured "
                                 f"printers: {', '.join(self.queues)}")
        known = self._open.get(job_id) or self._recent.get(job_id)
        if known is not None or self._pending_inserts.get(job_id):
            return self._duplicate(known, job_id)
        if not self.accepting:
            raise ShuttingDown("ERROR: the daemon is shutting down, please retry shortly")
        current = queue.length + self._reserved(printer)
        capacity = queue.config.queue_capacity
        if current >= capacity:
            raise QueueFull(printer, current, capacity)
        if kind is JobKind.DOCUMENT:
            try:
                payload = encode_document(payload)
            except (ValueError, TypeError) as e:
                raise NotStorable(f"VALIDATION: the document cannot be stored: {e}") from None
        now = self.clock.seconds()
        job = Job(id=job_id, printer=printer, source=source, kind=kind, payload=payload,
                  created=now, updated=now, expires=expires, hold=hold,
                  reprint_of=reprint_of, warnings=warnings, checked=checked)
        self._pending_inserts[job_id] += 1
        self._reserve(printer, +1)

        def recorded(existing: Job | None) -> Deferred[Submission] | Submission:
            self._reserve(printer, -1)
            self._release(job_id)
            if existing is not None:
                self._remember(existing)
                return self._duplicate(existing, job_id)
            self._open[job_id] = job
            self._emit(JobEvent(job, None, JobState.QUEUED))
            queue.enqueue(job)
            return Submission(job, False, queue.length, capacity, queue.position(job))

        def failed(f):  # type: ignore[no-untyped-def]
            self._reserve(printer, -1)
            self._release(job_id)
            self.log.failure("cannot record job {job}", f, job=job_id)
            raise NotRecorded("EXECUTION: the job could not be recorded on disk")

        return self.committer.submit(Insert(job)).addCallbacks(recorded, failed)

    def _duplicate(self, known: Job | None, job_id: str,
                   waited: bool = False) -> Deferred[Submission]:
        if known is None and not waited:  # the same id is being recorded now: wait for it
            d = self.committer.submit(BARRIER)
            return d.addCallback(lambda _: self._duplicate(
                self._open.get(job_id) or self._recent.get(job_id), job_id, waited=True))
        if known is None:  # that first submission could not be recorded
            raise SubmitError("ERROR: an earlier submission of this job id could not be "
                              "recorded; please send it again")
        q = self.queues.get(known.printer)
        return succeed(Submission(known, True, q.length if q else 0,
                                  q.config.queue_capacity if q else 0,
                                  q.position(known) if q else None))

    def _reserved(self, printer: str) -> int:
        """Jobs accepted for ``printer`` whose record is still being written."""
        return self._reservations[printer]

    def _reserve(self, printer: str, n: int) -> None:
        self._reservations[printer] += n

    def _release(self, job_id: str) -> None:
        self._pending_inserts[job_id] -= 1
        if self._pending_inserts[job_id] <= 0:
            del self._pending_inserts[job_id]

    def cancel(self, job_id: str) -> Deferred[CancelResult]:
        job = self._open.get(job_id)
        if job is None and self._pending_inserts.get(job_id):
            # Sent right behind its job, whose record is being written: wait for it.
            return self.committer.submit(BARRIER).addCallback(
                lambda _: self.cancel(job_id) if not self._pending_inserts.get(job_id)
                else CancelResult(None, False, f"Job {job_id} is not recorded yet, "
                                               "please retry"))
        if job is None:
            return self.get(job_id).addCallback(self._cancel_closed, job_id)
        if job.state.at_printer:
            return succeed(CancelResult(job, False, f"Job {job_id} is being printed and "
                                                    "cannot be cancelled"))
        d = self.change(job, JobState.CANCELLED, "CANCELLED: cancelled by request")
        return d.addCallback(self._cancel_outcome, job)

    def _cancel_outcome(self, outcome: Outcome, job: Job) -> CancelResult:
        """What the canceller is told is what the journal has."""
        if outcome.recorded:
            return CancelResult(job, True, "Job cancelled")
        if outcome.moved is not None and outcome.moved.at_printer:
            return CancelResult(job, False, f"Job {job.id} is being printed and cannot be "
                                            "cancelled")
        if outcome.moved is not None:
            return CancelResult(job, False, f"Job {job.id} is already {outcome.moved.value} "
                                            "and cannot be cancelled")
        return CancelResult(job, False, f"EXECUTION: the cancel of job {job.id} could not "
                                        f"be recorded on disk ({outcome.error}); the job is "
                                        "not cancelled")

    def _cancel_closed(self, job: Job | None, job_id: str) -> CancelResult:
        if job is None:
            return CancelResult(None, False, f"Unknown job id: {job_id}")
        return CancelResult(job, False, f"Job {job_id} is already {job.state.value} and "
                                        "cannot be cancelled")

    def get(self, job_id: str) -> Deferred[Job | None]:
        job = self._open.get(job_id) or self._recent.get(job_id)
        if job is not None:
            return succeed(job)
        return self.committer.read(self.committer.journal.get, job_id)

    def stored(self, job_id: str) -> Deferred[Job | None]:
        """The job as the journal has it, with its payload (previews, reprints): a finished
        job in memory has none."""
        return self.committer.read(self.committer.journal.get, job_id, True)

    def recent(self, printer: str | None = None, limit: int = 50) -> Deferred[list[Job]]:
        return self.committer.read(self.committer.journal.recent, printer, limit)

    def open_jobs(self) -> Iterable[Job]:
        return self._open.values()

    # --- changes (the JobSink the printer queues use) -------------------------------------

    def change(self, job: Job, state: JobState, reason: str | None = None,
               progress: str | None = None, must: bool = False) -> Deferred[Outcome]:
        """Move ``job`` to ``state``, disk first (``changes.py``): the Outcome is true once
        the change is on disk and applied (subscribers have heard of it), false if the job
        had moved on or the journal refused. ``must``: tried again until recorded."""
        return self._changes.change(job, state, reason, progress, must)

    @property
    def journal_ok(self) -> bool:
        return self.committer.state.ok

    def progress(self, job: Job, text: str) -> None:
        """News of a job that keeps its state (nothing to record): an event old == new."""
        if not job.state.final:
            self._emit(JobEvent(job, job.state, job.state, text))

    def _applied(self, event: JobEvent) -> None:
        job = event.job
        if event.new.final:
            self._open.pop(job.id, None)
            queue = self.queues.get(job.printer)
            was_waiting = event.old is not None and event.old.waiting
            # The printer's thread may be rendering this document from its payload now.
            self._remember(job, keep_payload=was_waiting and job.kind is JobKind.DOCUMENT
                           and queue is not None and queue.current is job)
            if queue is not None and was_waiting:
                queue.remove(job)
            self._log_end(job)
        self._emit(event)

    def _log_end(self, job: Job) -> None:
        """One line per finished job: what a person on site looks for first."""
        took = (job.finished or 0.0) - job.created
        if job.state is JobState.PRINTED:
            noted = f"; {len(job.warnings)} warning(s): {'; '.join(job.warnings)}" \
                if job.warnings else ""
            self.log.info("job {job} from {source} printed on {printer}: {size} bytes, "
                          "{took:.2f} s after it was accepted{noted}", job=job.id,
                          source=job.source, printer=job.printer, size=job.bytes_written,
                          took=took, noted=noted, warnings=list(job.warnings))
        else:
            self.log.warn("job {job} from {source} on {printer} {state}: {reason}",
                          job=job.id, source=job.source, printer=job.printer,
                          state=job.state.value, reason=job.reason)

    def printer_status(self, printer: str, old: PrinterStatus, new: PrinterStatus,
                       jobs: Iterable[Job] = ()) -> None:
        """``printer``'s status is ``new``: its hold takes or lets go ``jobs``."""
        self.holds.status(printer, old, new, jobs)

    def printer_changed(self, printer: str, status: PrinterStatus) -> None:
        """Something of the printer's besides its status changed (paused ...): listeners
        read its figures again."""
        self._emit(PrinterEvent(printer, status, status))

    def _remember(self, job: Job, keep_payload: bool = False) -> None:
        """A finished job stays in memory without its payload, which the journal keeps
        (previews and reprints read it there): what is remembered costs metadata only."""
        if not keep_payload:
            job.payload = None
        self._recent[job.id] = job
        self._recent.move_to_end(job.id)
        while len(self._recent) > RECENT_IN_MEMORY:
            self._recent.popitem(last=False)

    # --- timers ----------------------------------------------------------------------------

    def sweep(self) -> None:
        """Expire waiting jobs past their deadline; fail jobs held past hold_timeout."""
        now = self.clock.seconds()
        for job in list(self._open.values()):
            if not job.state.waiting or self._changes.pending(job.id):
                continue
            if job.expired_at(now):
                self.change(job, JobState.EXPIRED, "EXPIRED: the deadline passed before "
                                                   "printing")
                continue
            queue = self.queues.get(job.printer)
            if queue is None or job.state is not JobState.HELD or job.held_since is None:
                continue
            limit = job.hold_limit(queue.config.hold_timeout)
            if now - job.held_since >= limit:
                self.change(job, JobState.FAILED,
                            f"PRINTER: {queue.status.text} for more than {limit:g} s")

    def cleanup(self) -> Deferred[int]:
        state = self.config.state
        before = self.clock.seconds() - state.retention_hours * 3600
        return self.committer.read(self.committer.journal.cleanup, before,
                                   state.retention_count)

