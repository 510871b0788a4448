"""The print service: the one door between the transports (``web/``, ``mqtt/``) and the
job core.

The transports adapt their protocol to this API and nothing else of the core: they never
see a printer queue, the journal or a printer connection. What they get back is values
(:mod:`ticketd.jobs.api`) and jobs with their events (:mod:`ticketd.jobs.model`):

- jobs: :meth:`PrintService.submit` (one failure style: a failed Deferred, never a raise),
  :meth:`~PrintService.cancel`, :meth:`~PrintService.job`, :meth:`~PrintService.recent`,
  :meth:`~PrintService.subscribe` to every job and printer event;
- printers: :meth:`~PrintService.printers`, immutable snapshots; routing by name, alias
  or ``profile.model``; :meth:`~PrintService.discover` (configured and detected printers);
- documents: :meth:`~PrintService.validate` and the previews;
- the operator: :meth:`~PrintService.reprint`, :meth:`~PrintService.pause`,
  :meth:`~PrintService.resume`, :meth:`~PrintService.clear`,
  :meth:`~PrintService.test_page`.

Validation, previews and discovery run off the reactor through an injected thread runner,
previews at most ``parallel`` at a time so that a burst of them cannot starve the
printers' threads of CPU, and at most ``waiting`` more waiting their turn (beyond, Busy:
each waiting one holds its document in memory). The layering is described in docs/architecture.rst.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from twisted.internet.defer import Deferred, DeferredSemaphore, fail, gatherResults
from twisted.logger import Logger

from ticketd import paper
from ticketd.config import PrinterConfig
from ticketd.jobs import pictures
from ticketd.jobs.admission import InvalidDocument, admit
from ticketd.documents.testpage import test_page
from ticketd.jobs.api import (PAUSED, UNKNOWN_YET, Busy, CancelResult, DocumentError,
                              JournalState, NotRecorded, NotReprintable, NotStorable,
                              PrinterEvent, PrinterSnapshot, QueueFull, ShuttingDown,
                              SubmitError, Submission, UnknownPrinter)
from ticketd.jobs.manager import JobManager
from ticketd.jobs.model import Job, JobKind, JobState
from ticketd.jobs.printer_queue import PrinterQueue
from ticketd.printers.discovery import SCANNERS, Discovery, Entry
from ticketd.printers.status import PrinterStatus
from ticketd.stages import NoStages, Stages

__all__ = ["PrintService", "Busy", "SubmitError", "ShuttingDown", "NotStorable", "NotRecorded",
           "QueueFull",
           "UnknownPrinter", "Submission", "CancelResult", "PrinterEvent", "PrinterSnapshot",
           "DocumentError", "JobKind", "PrinterStatus", "UNKNOWN_YET", "JournalState",
           "NotReprintable", "PAUSED", "InvalidDocument"]

PARALLEL = 2  # previews drawn at once
WAITING = 16  # previews waiting their turn, beyond which they are refused (Busy)
Runner = Callable[..., Deferred]
Listener = Callable[[Any], None]


class PrintService:
    """What the transports may ask of the job core (see the module docstring)."""

    log = Logger()

    def __init__(self, manager: JobManager, *, run: Runner,
                 scanners: Iterable[Callable[[], list[Entry]]] = SCANNERS,
                 parallel: int = PARALLEL, waiting: int = WAITING,
                 stages: Stages | None = None) -> None:
        self._manager = manager
        self._strict = manager.config.server.strict_documents
        #: Where a job's time goes (``ticketd.stages``): the transports add their stages.
        self.stages = stages if stages is not None else NoStages()
        self._run = run
        self._pictures = DeferredSemaphore(parallel)
        self._waiting = waiting
        self._printers: dict[str, PrinterConfig] = {p.name: p for p in manager.config.printers}
        self._dots = {name: paper.printable_dots(p.paper_width, p.dpi)
                      for name, p in self._printers.items()}
        self._discovery = Discovery(self._configured, clock=manager.clock, run=run,
                                    scanners=scanners)

    # --- jobs ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._manager.running)

    @property
    def accepting(self) -> bool:
        """False once the daemon is stopping (or before it started): jobs are refused."""
        return bool(self._manager.running and self._manager.accepting)

    def submit(self, *, job_id: str, printer: str, source: str, kind: JobKind, payload: Any,
               expires: float | None = None, hold: float | None = None
               ) -> Deferred[Submission]:
        """Fires with a Submission once the job is on disk; fails with SubmitError (its
        ``audit`` says whether it was refused at the door). ``payload``: bytes for RAW, the
        parsed document for DOCUMENT. ``hold``: how long a printer fault may hold the job
        (None: the printer's ``hold_timeout``; 0: a fault fails it at once)."""
        def accept(document: Any = payload, warnings: tuple[str, ...] = (),
                   checked: bool = False) -> Deferred[Submission]:
            if warnings:
                self.log.info("job {job}: read with {n} warning(s): {warnings}", job=job_id,
                              n=len(warnings), warnings="; ".join(warnings))
            return self.stages.run("submit", lambda: self._manager.submit(
                job_id=job_id, printer=printer, source=source, kind=kind, payload=document,
                expires=expires, hold=hold, warnings=warnings, checked=checked))

        try:
            if kind is JobKind.DOCUMENT:  # read and validated before it is acknowledged
                d = admit(payload, strict=self._strict, stages=self.stages, run=self._run)
                d.addCallback(lambda a: accept(a.document, a.warnings, True))
            else:
                d = accept()
        except Exception:  # a bug: still one failure style for the transports
            return fail()
        return d.addErrback(self._journal_reason)

    def _journal_reason(self, f: Any) -> Any:
        """A job the journal could not record is refused with the journal's error."""
        state = self.journal_state()
        if f.type is NotRecorded and not state.ok and state.error not in str(f.value):
            raise NotRecorded(f"{f.value}: {state.error}")
        return f

    def journal_state(self) -> JournalState:
        """Whether jobs can be recorded now (ok), or the journal's error."""
        return self._manager.committer.state

    def cancel(self, job_id: str) -> Deferred[CancelResult]:
        return self._manager.cancel(job_id)

    def job(self, job_id: str) -> Deferred[Job | None]:
        """The job by id, in memory or from the journal (without its payload)."""
        return self._manager.get(job_id)

    def position(self, job: Job) -> int | None:
        """1 = next to print; None when the job is not waiting."""
        queue = self._manager.queues.get(job.printer)
        return queue.position(job) if queue is not None and job.state.waiting else None

    def recent(self, printer: str | None = None, limit: int = 50) -> Deferred[list[Job]]:
        return self._manager.recent(printer, limit)

    def flushed(self) -> Deferred[None]:
        """Fires once every change asked for so far is on disk."""
        return self._manager.flushed()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """``listener(event)`` gets every JobEvent and PrinterEvent; returns unsubscribe."""
        return self._manager.subscribe(listener)

    # --- printers --------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """The configured printers' names, in config order."""
        return tuple(self._printers)

    def printers(self) -> tuple[PrinterSnapshot, ...]:
        return tuple(self._snapshot(name) for name in self._printers)

    def printer(self, name: str) -> PrinterSnapshot | None:
        return self._snapshot(name) if name in self._printers else None

    def status(self, name: str) -> PrinterStatus | None:
        """The printer's last status read (cheap: for every job event)."""
        queue = self._manager.queues.get(name)
        return queue.status if queue is not None else None

    def route(self, model: str | None) -> str:
        """The printer for ``profile.model`` (name or alias, any case), or the default;
        raises UnknownPrinter."""
        return str(self._manager.route(model).name)

    def printer_named(self, name: str) -> str | None:
        """The printer whose name or alias is ``name`` (any case), without the default."""
        found = self._manager.printer_named(name)
        return str(found.name) if found is not None else None

    def discover(self) -> Deferred[tuple[list[Entry], dict[str, Any]]]:
        """``get_printers``: the configured printers with live status and the detected ones
        (scanned in a thread, at most every 30 s)."""
        return self._discovery()

    def _configured(self) -> list[tuple[PrinterConfig, PrinterStatus]]:
        queues = self._manager.queues
        return [(p, queues[name].status) for name, p in self._printers.items()
                if name in queues]

    def _snapshot(self, name: str) -> PrinterSnapshot:
        q = self._manager.queues[name]
        p = self._printers[name]
        return PrinterSnapshot(
            name=name, connection=p.connection, status=q.status, queue=q.length,
            capacity=p.queue_capacity, held=q.held,
            printing=q.current.id if q.current is not None and q.writing else None,
            jobs_processed=q.jobs_processed, jobs_failed=q.jobs_failed,
            last_error=q.last_error, running=bool(q.running), default=p.default,
            paused=q.queue.paused, confirm=q.confirm, unconfirmed=q.unconfirmed)

    # --- documents -------------------------------------------------------------------------

    def validate(self, document: Any, strict: bool = False) -> Deferred[list[str]]:
        """The document's categorized errors (``VALIDATION: ...``), computed in a thread;
        ``strict``: every warning of intake is an error too."""
        return self._run(pictures.validate_document, document, strict)

    def preview_png(self, document: Any) -> Deferred[bytes]:
        """The receipt as PNG; fails with DocumentError (``.errors``) if it is invalid."""
        return self._picture(pictures.document_png, document)

    def preview_text(self, document: Any) -> Deferred[list[str]]:
        """The receipt's text lines as the printer would print them."""
        return self._picture(pictures.document_text, document)

    def job_png(self, job_id: str) -> Deferred[bytes | None]:
        """A journaled job's picture (None: no such job, or its payload is gone); fails
        with DocumentError for a document that no longer renders."""

        def found(job: Job | None) -> Deferred[bytes | None] | None:
            if job is None or job.payload is None:
                return None
            dots = self._dots.get(job.printer, paper.DEFAULT_DOTS)
            return self._picture(pictures.job_png, job, dots)

        if self._busy():  # before the journal is read for it
            return fail(Busy())
        return self._manager.stored(job_id).addCallback(found)

    def _busy(self) -> bool:
        return not self._pictures.tokens and len(self._pictures.waiting) >= self._waiting

    def _picture(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """``f(*args)`` in a thread when one of the ``parallel`` places is free; Busy if
        ``waiting`` calls wait for one already."""
        if self._busy():
            return fail(Busy())
        return self._pictures.run(self._run, f, *args)

    # --- the operator ----------------------------------------------------------------------

    def reprint(self, old_id: str, new_id: str | None = None, source: str = "ws"
                ) -> Deferred[Submission]:
        """Print the bytes of finished job ``old_id`` again, as job ``new_id`` (None:
        :meth:`reprint_id`) on the same printer, with ``reprint_of`` set. A document job's
        document is printed again (it renders to the same bytes), read from the journal
        when the job in memory no longer has it. Fails with NotReprintable."""

        def found(job: Job | None) -> Job | Deferred[Job]:
            if job is None:
                raise NotReprintable(f"JOB: unknown job {old_id!r}")
            if not job.state.final:
                raise NotReprintable(f"JOB: job {old_id!r} is not finished yet (state "
                                     f"{job.state.value})")
            return job if job.payload is not None else \
                self._manager.stored(old_id).addCallback(kept)

        def kept(job: Job | None) -> Job:
            if job is None or job.payload is None:
                raise NotReprintable(f"JOB: the bytes of job {old_id!r} are no longer kept")
            return job

        def named(job: Job) -> Deferred[Submission]:
            if new_id is not None:
                return again(new_id, job)
            return self.reprint_id(old_id).addCallback(again, job)

        def again(job_id: str, job: Job) -> Deferred[Submission]:
            payload = job.document() if job.kind is JobKind.DOCUMENT else bytes(job.payload)
            return self._manager.submit(job_id=job_id, printer=job.printer, source=source,
                                        kind=job.kind, payload=payload, reprint_of=old_id)

        d = self._manager.get(old_id).addCallback(found).addCallback(named)
        return d.addErrback(self._journal_reason)

    def reprint_id(self, old_id: str) -> Deferred[str]:
        """``OLD~reprint-N``, N the first (from 1) no known job has."""

        def free(n: int) -> Deferred[str]:
            candidate = f"{old_id}~reprint-{n}"
            return self._manager.get(candidate).addCallback(
                lambda job: candidate if job is None else free(n + 1))

        return free(1)

    def pause(self, printer: str) -> bool:
        """The operator's hold of ``printer``'s queue: no job starts (one being printed
        ends), the jobs stay queued and report :data:`PAUSED`. In memory only: a restart
        resumes. False if it was paused already; raises UnknownPrinter."""
        return self._set_paused(printer, True)

    def resume(self, printer: str) -> bool:
        """End the operator's pause; False if the printer was not paused."""
        return self._set_paused(printer, False)

    def _set_paused(self, printer: str, paused: bool) -> bool:
        queue = self._queue(printer)
        changed = queue.queue.pause(paused)
        if changed:  # a printer event: the dashboards and metrics read the new figures
            self._manager.printer_changed(printer, queue.status)
        return changed

    def waiting(self, job: Job) -> str | None:
        """Why a queued job waits when its printer's status does not say it: PAUSED."""
        queue = self._manager.queues.get(job.printer)
        if job.state is JobState.QUEUED and queue is not None and queue.queue.paused:
            return PAUSED
        return None

    def clear(self, printer: str) -> Deferred[list[str]]:
        """Cancel every queued or held job of ``printer`` (not one being printed); fires
        with the ids cancelled, oldest first. Raises UnknownPrinter."""
        self._queue(printer)
        jobs = sorted((j for j in self._manager.open_jobs()
                       if j.printer == printer and j.state.waiting), key=lambda j: j.seq)
        d = gatherResults([self._manager.cancel(j.id) for j in jobs], consumeErrors=True)
        return d.addCallback(lambda done: [r.job.id for r in done
                                           if r.cancelled and r.job is not None])

    def test_page(self, printer: str, job_id: str, source: str = "ws"
                  ) -> Deferred[Submission]:
        """Print ticketd's test page (:mod:`ticketd.documents.testpage`) on ``printer``:
        its name, the time, a ruler as wide as its paper, a sample of its code table."""
        p = self._printers.get(printer)
        if p is None:
            return self.submit(job_id=job_id, printer=printer, source=source,
                               kind=JobKind.DOCUMENT, payload={})  # refused: unknown
        page = test_page(printer, paper_width=p.paper_width, dpi=p.dpi,
                         code_table=p.code_table, now=self._manager.clock.seconds())
        return self.submit(job_id=job_id, printer=printer, source=source,
                           kind=JobKind.DOCUMENT, payload=page)

    def _queue(self, printer: str) -> PrinterQueue:
        queue = self._manager.queues.get(printer)
        if queue is None:
            raise UnknownPrinter(f"PRINTER: unknown printer {printer!r}; configured "
                                 f"printers: {', '.join(self._printers)}")
        return queue
