"""The printer queue's part that keeps the printer's status: polls it while no job is
being handled (the poll shares the printer's single thread, so it can never land in the
middle of a job's bytes), and what a new status means for the waiting jobs: a fault holds
them (or fails those that may not be held), Ready again resumes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred

from ticketd.jobs.api import fault_reason
from ticketd.jobs.model import Job, JobState
from ticketd.jobs.thread_calls import ThreadStuck
from ticketd.printers.status import UNKNOWN_YET, PrinterStatus, no_response

if TYPE_CHECKING:
    from ticketd.jobs.printer_queue import PrinterQueue


class StatusKeeping:
    """Mixed into :class:`~ticketd.jobs.printer_queue.PrinterQueue`."""

    def poll(self: "PrinterQueue") -> Deferred[None] | None:
        if self._calls.busy:
            return None
        d = self._calls.call(self.connection.query_status, timeout=self._thread_work.status_budget())
        d.addCallback(self._polled)
        d.addErrback(lambda f: self._thread_stuck(f.value) if f.check(ThreadStuck) else
                     self.log.failure("printer {printer}: status poll failed", f,
                                      printer=self.printer))
        return d

    def _polled(self: "PrinterQueue", new: PrinterStatus) -> None:
        self._after_write = None  # a newer reading than the one taken after the last write
        self.set_status(new)

    def set_status(self: "PrinterQueue", new: PrinterStatus) -> None:
        old, self.status = self.status, new
        if new == old and old is not UNKNOWN_YET:
            return
        self.log.info("printer {printer}: {status}", printer=self.printer, status=new.text,
                      detail=new.detail)
        jobs = ([self.current] if self.current else []) + list(self.queue.pending)  # in order
        if new.holds_jobs:
            self._fault_meets(jobs, old, new)
        else:
            self.sink.printer_status(self.printer, old, new,
                                     [j for j in jobs if j.state is JobState.HELD])
            self._wake_worker()

    def _meet_fault(self: "PrinterQueue", job: Job, status: PrinterStatus) -> None:
        """A waiting job meets a fault: held, or failed at once if it may not be held."""
        self._fault_meets([job], status, status)

    def _fault_meets(self: "PrinterQueue", jobs: list[Job], old: PrinterStatus, new: PrinterStatus) -> None:
        """Jobs that may not be held fail with the fault; the printer's hold takes the
        others (one journal row and one event for all: the job manager's)."""
        holdable = []
        for job in jobs:
            if job.state is not JobState.QUEUED:
                continue
            if job.never_held:
                self.jobs_failed += 1
                self.sink.change(job, JobState.FAILED, fault_reason(new))
            else:
                holdable.append(job)
        self.sink.printer_status(self.printer, old, new, holdable)

    def _thread_stuck(self: "PrinterQueue", e: Exception) -> None:
        """The printer's thread did not come back: hold the queue (hold_timeout applies)
        until a poll gets through again."""
        self.log.error("printer {printer}: {error}", printer=self.printer, error=str(e))
        self._after_write = None
        self.set_status(no_response(f"the printer's I/O thread is blocked: {e}"))
