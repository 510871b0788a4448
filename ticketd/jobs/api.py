"""The values and errors of the print service's API (:mod:`ticketd.jobs.service`).

Everything a transport gets back from the job core is one of these (or a
:class:`~ticketd.jobs.model.Job` and its events): immutable values that say what happened,
never a live queue or journal. Plain attrs classes, no reactor.
"""

from __future__ import annotations

from typing import Any

import attrs

from ticketd.documents.errors import DocumentError
from ticketd.jobs.model import Job
from ticketd.printers.status import UNKNOWN_YET, Condition, PrinterStatus

__all__ = ["fault_reason", "fault_text", "Busy", "SubmitError", "ShuttingDown", "NotStorable", "QueueFull", "UnknownPrinter",
           "Submission", "CancelResult", "PrinterEvent", "PrinterSnapshot", "DocumentError",
           "PrinterStatus", "UNKNOWN_YET", "JournalState", "JOURNAL_OK", "PAUSED",
           "NotReprintable"]


_FAULT_PREFIX = "PRINTER: "
_FAULTS = frozenset(c.value for c in Condition if c not in (Condition.READY,
                                                            Condition.UNKNOWN))


def fault_reason(status: PrinterStatus) -> str:
    """The reason of a job failed at once by a printer fault (it may not be held)."""
    return f"{_FAULT_PREFIX}{status.text}"


def fault_text(reason: str | None) -> str | None:
    """The fault's own text ("Out of paper") if ``reason`` is a :func:`fault_reason`: the
    answer the original MQTT server gives to a job that meets a fault."""
    if reason and reason.startswith(_FAULT_PREFIX) and reason[len(_FAULT_PREFIX):] in _FAULTS:
        return reason[len(_FAULT_PREFIX):]
    return None


class Busy(Exception):
    """Too much preview work waits already: refused at once rather than queued without
    bound; ``str()`` is the message for the client."""

    def __init__(self, message: str = "BUSY: too many previews waiting, retry") -> None:
        super().__init__(message)


class SubmitError(Exception):
    """A job refused; ``str()`` is the message for the client.

    ``audit`` names the reason of a refusal at the door (queue full, unknown printer, the
    daemon stopping, a document that cannot be stored), which the transports log as an audit
    event; it is None for a job that was taken but could not be recorded."""

    audit: str | None = None


class NotRecorded(SubmitError):
    """The job was taken but the journal could not record it: nothing was promised, and
    the same job sent again (an MQTT redelivery) may succeed once the journal is well."""


class ShuttingDown(SubmitError):
    audit = "unavailable"


class NotStorable(SubmitError):
    audit = "unavailable"


class QueueFull(SubmitError):
    audit = "queue_full"

    def __init__(self, printer: str, current: int, capacity: int) -> None:
        super().__init__("Queue full, please retry in a few seconds")
        self.printer, self.current, self.capacity = printer, current, capacity


class UnknownPrinter(SubmitError):
    audit = "unknown_printer"


@attrs.frozen
class PrinterEvent:
    """A printer's status changed from ``old`` to ``new``, or its hold took more jobs.

    The hold is the printer's: ``held`` are the waiting jobs it now holds, ``resumed``
    those it let go (``progress`` says why: "Waiting: Out of paper", "Resumed"). One event
    however long the queue, not one per job."""

    printer: str
    old: PrinterStatus
    new: PrinterStatus
    held: tuple[Any, ...] = ()
    resumed: tuple[Any, ...] = ()
    progress: str | None = None


@attrs.frozen
class Submission:
    """The answer to a submit: the job (new or the one already known by that id)."""

    job: Job
    duplicate: bool
    current: int
    capacity: int
    position: int | None


@attrs.frozen
class CancelResult:
    job: Job | None
    cancelled: bool
    message: str


@attrs.frozen
class PrinterSnapshot:
    """One printer as it is now: what /health, the dashboard, metrics, ``status``,
    ``get_printers`` and MQTT's ``P/status`` show. ``queue`` counts the jobs in its queue,
    the one it is holding or printing included; ``printing`` is the id of the job whose
    bytes are being written."""

    name: str
    connection: str
    status: PrinterStatus
    queue: int
    capacity: int
    held: int
    printing: str | None
    jobs_processed: int
    jobs_failed: int
    last_error: str | None
    running: bool
    default: bool
    paused: bool = False  # by the operator: its jobs wait, queued, until resumed
    #: how a job is known to have printed: "process_id" / "gs_r" (the printer's in-order
    #: answer), "realtime" (DLE EOT right after the bytes), "none"
    confirm: str = "realtime"
    unconfirmed: int = 0  # jobs ``sent``: at the printer, not confirmed yet


#: What a queued job of a paused printer reports (``job_status``, the dashboard).
PAUSED = "Waiting: Paused by the operator"


class NotReprintable(SubmitError):
    """A reprint refused: the old job is unknown, not finished, or its bytes are gone."""


@attrs.frozen
class JournalState:
    """Whether the journal's last write worked (``error``: SQLite's own words if not).
    A daemon that cannot record jobs must say so: /health, /ready and metrics show it."""

    ok: bool = True
    error: str | None = None


JOURNAL_OK = JournalState()
