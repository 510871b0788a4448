"""The steps of printing one job, as a state machine: a plain object, no reactor, no threads.

The printer queue takes a job, asks its :class:`JobSteps` what to do, does it (a call in
the printer's thread, a journal record, a wait for the printer) and tells the machine how
it went; the answer is the next thing to do, until the job is done with. The machine
reads the job (its state, deadline, attempts) and never changes it: the queue does,
through the job manager. It has no clock: the queue tells it the time and whether it is
stopping.

Steps, what each is told, and the answer (telling a step anything else is refused with
:class:`StepOutOfOrder`)::

    step       told                       when                    answer          next
    start      begin(now, fresh)          the job ended           GiveUp          done
                                          deadline passed         Expire          done
                                          bytes + fresh status    SetStatus       checked
                                          otherwise               PrepareAndCheck preparing
    preparing  prepared(data, status)                             SetStatus       checked
               preparation_failed(reason)                         Fail            done
               prepare_stuck(running)     ended, or stopping      GiveUp          done
                                          never_held              Fail            done
                                          otherwise (No response) Hold            holding
    checked    status_set(running)        ended, or stopping      GiveUp          done
                                          a fault, never_held     Fail            done
                                          the status is a fault   Hold            holding
                                          otherwise               RecordPrinting  recording
    holding    woken(now, fresh, running) stopping                GiveUp          done
                                          otherwise               as begin() at start
    recording  printing_recorded(ok)      on disk                 Write           writing
                                          not recorded            RetryLater      done
    writing    written(after, running)    link gone right after   as write_failed()
                                          otherwise               RecordPrinted   done
               write_failed(e, running)   retries left, running   Retry           done
                                          otherwise               Fail            done
               write_stuck(detail)        (never resent)          Fail            done
    done       nothing

      start ── bytes at hand, fresh status ──╮
        │                                    │
        ▼                                    ▼
      preparing ────────────────────────► checked ──► recording ──► writing ──► printed
        │ stuck                              │ a fault    │              │
        ╰──────────────► holding ◄───────────╯            ▼              ▼
                            │                         RetryLater     Retry | Fail
                            ╰──► woken: start again

- *The job ended*: meanwhile, by the job manager (cancelled, expired, failed while held).
  *Stopping*: the queue is stopping. Either way the machine gives up and the job stays as
  it is (one still queued on disk is taken again after the restart).
- *never_held*: the job's ``hold`` is 0 (an MQTT job by default): a fault fails it at
  once with the fault's text, as the original MQTT server answers, instead of holding it.
- *Retries left*: ``job.attempts <= retry_failed`` (the shop's choice, knowing part of
  the job may print twice).
- A *fresh* status is the one read right after the previous job's bytes, while it is
  recent (the queue judges that: it has the clock). With the bytes at hand (a raw job) it
  stands as this job's check and saves a trip to the printer's thread; a document still
  needs that trip to render, and the status is then not read again.
- ``Write`` is only ever answered once ``printing`` is on disk: after a crash the job is
  either not started (printed again) or ``interrupted`` (never silently printed again).
- A write stuck in the thread may have reached the printer: it fails, never retried.
"""

from __future__ import annotations

import enum
from typing import Union

import attrs

from ticketd.jobs.api import fault_reason
from ticketd.jobs.model import Job, JobKind
from ticketd.printers.connection import PrinterIOError
from ticketd.printers.status import PrinterStatus, no_response

EXPIRED_REASON = "EXPIRED: the deadline passed before printing"
UNRECORDED_REASON = "the journal could not be written"


class Step(enum.Enum):
    START = "start"          # taken from the queue, nothing done yet
    PREPARING = "preparing"  # in the printer's thread: making the bytes and/or the status
    CHECKED = "checked"      # the status for this round is known; the queue takes it
    HOLDING = "holding"      # the printer is at fault: waiting to be woken
    RECORDING = "recording"  # waiting for "printing" to be on disk
    WRITING = "writing"      # the bytes are going to the printer
    DONE = "done"            # nothing more to do for this job


class StepOutOfOrder(Exception):
    """The machine was told something its step does not expect (a bug in the caller)."""


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
    """The job is at the printer: record ``printed`` (``size`` bytes written)."""

    size: int


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
               RetryLater, Fail, Expire, GiveUp]


def io_reason(error: BaseException) -> str:
    """The job's reason for a write that raised."""
    if isinstance(error, PrinterIOError):
        return f"PRINTER: {error}"
    return f"PRINTER: {type(error).__name__}: {error}"


class JobSteps:
    """One job's way through the printer queue; see the module's table."""

    def __init__(self, job: Job, retry_failed: int) -> None:
        self.job = job
        self.retry_failed = retry_failed
        self.step = Step.START
        self.data: bytes | None = bytes(job.payload) if job.kind is JobKind.RAW else None
        self.status: PrinterStatus | None = None  # the reading this round goes by
        self._fresh: PrinterStatus | None = None

    # --- start, and again once woken ---------------------------------------------------

    def begin(self, now: float, fresh: PrinterStatus | None) -> Action:
        self._expect(Step.START)
        return self._round(now, fresh)

    def woken(self, now: float, fresh: PrinterStatus | None, running: bool) -> Action:
        self._expect(Step.HOLDING)
        if not running:
            return self._end(GiveUp("stopping"))
        return self._round(now, fresh)

    def _round(self, now: float, fresh: PrinterStatus | None) -> Action:
        if self.job.state.final:
            return self._end(GiveUp("ended meanwhile"))
        if self.job.expired_at(now):
            return self._end(Expire())
        if self.data is not None and fresh is not None:
            return self._checked(fresh)
        self._fresh = fresh
        self.step = Step.PREPARING
        return PrepareAndCheck(self.data, check=fresh is None)

    # --- preparing -----------------------------------------------------------------------

    def prepared(self, data: bytes, status: PrinterStatus | None) -> Action:
        """The thread made the bytes (kept from the first time) and, if asked, the status."""
        self._expect(Step.PREPARING)
        if self.data is None:
            self.data = data
        chosen = status if status is not None else self._fresh
        assert chosen is not None, "no status read and none fresh"
        return self._checked(chosen)

    def preparation_failed(self, reason: str) -> Action:
        self._expect(Step.PREPARING)
        return self._end(Fail(reason))

    def prepare_stuck(self, running: bool) -> Action:
        """The thread did not come back; the queue now reads No response, which holds."""
        self._expect(Step.PREPARING)
        return self._go_on(running, fault=no_response())

    def _checked(self, status: PrinterStatus) -> Action:
        self.status = status
        self.step = Step.CHECKED
        return SetStatus(status)

    # --- checked -------------------------------------------------------------------------

    def status_set(self, running: bool) -> Action:
        self._expect(Step.CHECKED)
        assert self.status is not None
        return self._go_on(running, self.status if self.status.holds_jobs else None)

    def _go_on(self, running: bool, fault: PrinterStatus | None) -> Action:
        if self.job.state.final:
            return self._end(GiveUp("ended meanwhile"))
        if not running:
            return self._end(GiveUp("stopping"))
        if fault is not None and self.job.never_held:
            return self._end(Fail(fault_reason(fault)))
        if fault is not None:
            self.step = Step.HOLDING
            return Hold()
        self.step = Step.RECORDING
        return RecordPrinting()

    # --- recording and writing -----------------------------------------------------------

    def printing_recorded(self, ok: bool) -> Action:
        self._expect(Step.RECORDING)
        if not ok:
            return self._end(RetryLater())
        assert self.data is not None, "recording only follows a status with bytes at hand"
        self.step = Step.WRITING
        return Write(self.data)

    def written(self, after: PrinterStatus, running: bool) -> Action:
        """The bytes were handed to the OS; ``after`` is the status read right after."""
        self._expect(Step.WRITING)
        if after.not_connected:
            # The link was gone right after: the printer may have got only part of the job.
            return self._io_failed(f"PRINTER: connection lost while sending the job "
                                   f"({after.detail or 'no detail'})", running)
        assert self.data is not None
        return self._end(RecordPrinted(len(self.data)))

    def write_failed(self, error: BaseException, running: bool) -> Action:
        self._expect(Step.WRITING)
        return self._io_failed(io_reason(error), running)

    def write_stuck(self, detail: str) -> Action:
        """Beyond every deadline of the connection: the bytes may be at the printer."""
        self._expect(Step.WRITING)
        return self._end(Fail(f"PRINTER: the printer stopped taking the job ({detail}); "
                              "connection dropped", io=True))

    def _io_failed(self, reason: str, running: bool) -> Action:
        if self.job.attempts <= self.retry_failed and running:
            return self._end(Retry(reason))
        return self._end(Fail(reason, io=True))

    # --- bookkeeping ---------------------------------------------------------------------

    def _expect(self, step: Step) -> None:
        if self.step is not step:
            raise StepOutOfOrder(f"job {self.job.id}: told a {step.value} outcome while "
                                 f"{self.step.value}")

    def _end(self, action: Action) -> Action:
        self.step = Step.DONE
        return action
