"""What a printer queue needs from the job manager: durable state changes and news."""

from __future__ import annotations

from typing import Protocol

from twisted.internet.defer import Deferred

from ticketd.jobs.changes import Outcome
from ticketd.jobs.model import Job, JobState
from ticketd.printers.status import PrinterStatus


class JobSink(Protocol):
    """What the queue needs from the job manager: durable state changes and status news."""

    def change(self, job: Job, state: JobState, reason: str | None = None,
               progress: str | None = None, must: bool = False) -> Deferred[Outcome]:
        """Fires with a true Outcome once the change is on disk and applied."""

    def printer_status(self, printer: str, old: PrinterStatus, new: PrinterStatus,
                       jobs: list[Job] = ...) -> None:
        """The status is ``new``: ``jobs`` (waiting) are held by a fault or let go."""

    def progress(self, job: Job, text: str) -> None:
        """News of a job that stays in its state (a sent job stopped by paper out)."""

    @property
    def journal_ok(self) -> bool:
        """The journal's last write worked."""
