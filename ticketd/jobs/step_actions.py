"""What the job steps machine (``job_steps.py``) answers: one value per thing the printer
queue is to do next. Plain values, no reactor."""

from __future__ import annotations

from typing import Union

import attrs

from ticketd.printers.status import PrinterStatus

EXPIRED_REASON = "EXPIRED: the deadline passed before printing"
UNRECORDED_REASON = "the journal could not be written"


@attrs.frozen
class PrepareAndCheck:
    """In the printer's thread: make the bytes if ``data`` is None; read the status if
    ``check`` (not when a fresh one stands)."""

    data: bytes | None
    check: bool


@attrs.frozen
class SetStatus:
    """Take this reading as the printer's status (holding or resuming the queue's jobs)."""

    status: PrinterStatus


@attrs.frozen
class Hold:
    """Wait until the status reads Ready again, the job leaves the queue, or stopping."""


@attrs.frozen
class RecordPrinting:
    """Record ``printing`` and wait until it is on disk (or could not be)."""


@attrs.frozen
class Write:
    """Send the bytes, then read the status over the same link."""

    data: bytes


@attrs.frozen
class RecordPrinted:
    """Record ``printed`` (``size`` bytes written); ``unconfirmed``: the printer never
    confirmed it (the job's warning, and this printer is no longer asked)."""

    size: int
    unconfirmed: str | None = None


@attrs.frozen
class RecordSent:
    """The printer has the job's bytes: record ``sent`` (without waiting for it)."""

    size: int


@attrs.frozen
class AwaitConfirm:
    """In the printer's thread: wait a moment for the answer to ``token``, else read the
    real-time status over the job's link."""

    token: str


@attrs.frozen
class Progress:
    """Tell the job's clients how it is going (no state change)."""

    text: str


@attrs.frozen
class Retry:
    """The printer did not take the job whole: back to the head of the queue
    (``retry_failed``: the shop's choice, knowing part of it may print twice)."""

    reason: str


@attrs.frozen
class RetryLater:
    """``printing`` is not on disk, so nothing was sent: back to the head of the queue,
    tried again after a pause."""

    reason: str = UNRECORDED_REASON


@attrs.frozen
class Fail:
    """Record ``failed``; ``io``: the printer did not take the job (the queue's last
    error), as opposed to a document that could not be prepared."""

    reason: str
    io: bool = False


@attrs.frozen
class Expire:
    """Record ``expired``: the deadline passed before the job started printing."""

    reason: str = EXPIRED_REASON


@attrs.frozen
class GiveUp:
    """Leave the job as it is: it ended meanwhile, or the queue is stopping (it stays
    queued on disk and is taken again after the restart)."""

    why: str


Action = Union[PrepareAndCheck, SetStatus, Hold, RecordPrinting, Write, RecordPrinted, Retry,
               RetryLater, Fail, Expire, GiveUp, RecordSent, AwaitConfirm, Progress]

LOST_REASON = ("PRINTER: the connection to the printer was lost before it confirmed the "
               "job; it may or may not have printed")


def stopped_inside(status: PrinterStatus) -> str:
    """The progress of a job that a fault stopped half-way."""
    return f"Waiting: {status.text} (the printer stopped inside this job)"


def lost_half_way(fault: str) -> str:
    """The reason of a job the printer lost after a fault stopped it inside the job."""
    words = "paper out" if fault == "Out of paper" else fault[:1].lower() + fault[1:]
    return f"PRINTER: the printer lost the job half-way ({words}, then power off)"
