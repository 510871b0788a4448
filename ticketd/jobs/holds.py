"""A printer's hold: the queue waits while the printer reports a fault.

The hold is the printer's, not each job's: one journal row for the printer (when the hold
began, so that ``hold_timeout`` keeps counting across a restart) and one event, however
many jobs wait behind the fault; the waiting jobs carry it in memory (state ``held``).
Held is never a job's state on disk: a job held when the daemon stops is queued after the
restart, and held again if the fault is still there. A fault or a resume on a queue of
10,000 jobs is one transaction and one :class:`PrinterEvent`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ticketd.jobs.api import PrinterEvent
from ticketd.jobs.commit import GroupCommitter
from ticketd.jobs.journal import PrinterHold
from ticketd.jobs.model import Job, JobState
from ticketd.printers.status import PrinterStatus


class Holds:
    log = Logger()

    def __init__(self, committer: GroupCommitter, clock: IReactorTime,
                 emit: Callable[[object], None]) -> None:
        self._committer = committer
        self._clock = clock
        self._emit = emit
        self.since: dict[str, float] = {}  # held printers: since when (as on disk)

    def status(self, printer: str, old: PrinterStatus, new: PrinterStatus,
               jobs: Iterable[Job] = ()) -> None:
        """``printer``'s status is ``new`` (perhaps unchanged, for jobs that just joined
        its queue): a fault holds its waiting ``jobs``, Ready lets the held ones go."""
        now = self._clock.seconds()
        held: list[Job] = []
        resumed: list[Job] = []
        progress = None
        if new.holds_jobs:
            progress = f"Waiting: {new.text}"
            since = self.since.setdefault(printer, now)
            if new != old:
                self._record(PrinterHold(printer, progress, since))
            for job in jobs:  # queued -> held is always allowed: no transition check
                if job.state is JobState.QUEUED:
                    job.state, job.updated = JobState.HELD, now
                    job.held_since = min(max(since, job.created), now)
                    held.append(job)
        else:
            if self.since.pop(printer, None) is not None:
                self._record(PrinterHold(printer, None))
            for job in jobs:
                if job.state is JobState.HELD:
                    job.state, job.updated, job.held_since = JobState.QUEUED, now, None
                    job.reason = None
                    resumed.append(job)
            progress = "Resumed" if resumed else None
        if new != old or held or resumed:
            self._emit(PrinterEvent(printer, old, new, tuple(held), tuple(resumed), progress))

    def _record(self, hold: PrinterHold) -> None:
        self._committer.submit(hold).addErrback(self._not_recorded, hold.printer)

    def _not_recorded(self, f: Any, printer: str) -> None:
        """Only the hold's start is lost (a restart counts ``hold_timeout`` afresh); the
        journal's condition already says it is sick."""
        self.log.warn("journal: the hold of printer {printer} not recorded: {error}",
                      printer=printer, error=f.getErrorMessage())
