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
    writing    written(after, running,    link gone right after   as write_failed()
                       token, confirmed)  asked, not confirmed    RecordSent      confirming
                                          otherwise               RecordPrinted   done
               write_failed(e, running)   retries left, running   Retry           done
                                          otherwise               Fail            done
               write_stuck(detail)        (never resent)          Fail            done
    confirming sent(now)                  (``sent`` recorded)     AwaitConfirm    confirming
               confirmation(c, now,       confirmed               RecordPrinted   done
                            running)      the link is gone        as write_failed()
                                          a new fault             Progress        confirming
                                          Ready past the timeout  RecordPrinted   done
                                          otherwise               AwaitConfirm    confirming
               reported()                 (the progress is out)   AwaitConfirm    confirming
               confirm_stuck(detail)      (never resent)          Fail            done
    done       nothing

      start ── bytes at hand, fresh status ──╮
        │                                    │
        ▼                                    ▼
      preparing ────────────────────────► checked ──► recording ──► writing ──► printed
        │ stuck                              │ a fault    │              │          ▲
        ╰──────────────► holding ◄───────────╯            ▼              ▼          │
                            │                         RetryLater     Retry | Fail   │
                            ╰──► woken: start again              confirming (sent) ─╯

- *The job ended*: meanwhile, by the job manager (cancelled, expired, failed while held).
  *Stopping*: the queue is stopping. Either way the machine gives up and the job stays as
  it is (one still queued on disk is taken again after the restart).
- *never_held*: the job's ``hold`` is 0 (an MQTT job by default): a fault fails it at
  once with the fault's text, as the original MQTT server answers, instead of holding it.
- *Retries left*: ``job.attempts <= retry_failed`` (the shop's choice, knowing part of
  the job may print twice).
- A *fresh* status is the one read right after the previous job's bytes, while it is
  recent (the queue judges that: it has the clock). With the bytes at hand (a raw job, or a
  document rendered ahead while the previous job's ``printing`` was recorded) it stands
  as this job's check and saves a trip to the printer's thread; a document not rendered
  yet still needs that trip, and the status is then not read again.
- ``Write`` is only ever answered once ``printing`` is on disk: after a crash the job is
  either not started (printed again) or ``interrupted`` (never silently printed again).
- A write stuck in the thread may have reached the printer: it fails, never retried.
- *Confirming*: the printer's ``confirm`` is in order (``process_id``, ``gs_r``): its
  answer comes once the paper is out, and only then is the job ``printed``; meanwhile it
  is ``sent`` (an answer within the write's own call, FIRST_WAIT: straight to ``printed``,
  as a short receipt on a fast printer is: no extra record, no extra trip). A fault read meanwhile (paper out) stopped the printer inside this job: one
  ``Progress`` per fault, and the job waits (Epson printers finish their buffer when the
  paper is back; nothing is sent in between). The link gone before the answer: the
  printer lost the job (switched off: its buffer is gone); it fails, or is retried where
  ``retry_failed`` allows, saying so. Ready for ``confirm_timeout`` without an answer: the
  printer does not confirm; the job is ``printed`` as the real-time status says, with a
  warning, and the queue stops asking that printer.
"""

from __future__ import annotations

import enum

from ticketd.jobs.api import fault_reason
from ticketd.jobs.model import Job, JobKind
from ticketd.jobs.step_actions import (EXPIRED_REASON, LOST_REASON, UNRECORDED_REASON, Action,
                                       AwaitConfirm, Expire, Fail, GiveUp, Hold,
                                       PrepareAndCheck, Progress, RecordPrinted,
                                       RecordPrinting, RecordSent, Retry, RetryLater,
                                       SetStatus, Write, lost_half_way, stopped_inside)
from ticketd.printers.confirm import Confirmation
from ticketd.printers.connection import PrinterIOError
from ticketd.printers.status import PrinterStatus, no_response


class Step(enum.Enum):
    START = "start"          # taken from the queue, nothing done yet
    PREPARING = "preparing"  # in the printer's thread: making the bytes and/or the status
    CHECKED = "checked"      # the status for this round is known; the queue takes it
    HOLDING = "holding"      # the printer is at fault: waiting to be woken
    RECORDING = "recording"  # waiting for "printing" to be on disk
    WRITING = "writing"      # the bytes are going to the printer
    CONFIRMING = "confirming"  # the printer has them: waiting for its in-order answer
    DONE = "done"            # nothing more to do for this job


__all__ = ["EXPIRED_REASON", "UNRECORDED_REASON", "Action", "AwaitConfirm", "Expire",
           "Fail", "GiveUp", "Hold", "JobSteps", "PrepareAndCheck", "Progress",
           "RecordPrinted", "RecordPrinting", "RecordSent", "Retry", "RetryLater",
           "SetStatus", "Step", "StepOutOfOrder", "Write"]


class StepOutOfOrder(Exception):
    """The machine was told something its step does not expect (a bug in the caller)."""


def io_reason(error: BaseException) -> str:
    """The job's reason for a write that raised."""
    if isinstance(error, PrinterIOError):
        return f"PRINTER: {error}"
    return f"PRINTER: {type(error).__name__}: {error}"


class JobSteps:
    """One job's way through the printer queue; see the module's table."""

    def __init__(self, job: Job, retry_failed: int, confirm_timeout: float = 30.0,
                 data: bytes | None = None) -> None:
        """``data``: a document's bytes already made (rendered ahead by the queue)."""
        self.job = job
        self.retry_failed = retry_failed
        self.confirm_timeout = confirm_timeout
        self.token: str | None = None
        self.sent_at: float | None = None
        self._ready_since = 0.0
        self._fault: str | None = None  # the fault the printer reads now, inside this job
        self._stopped_by: str | None = None  # the first fault that stopped it in this job
        self.step = Step.START
        self.data: bytes | None = bytes(job.payload) if job.kind is JobKind.RAW else data
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

    def written(self, after: PrinterStatus | None, running: bool,
                token: str | None = None, confirmed: bool = False) -> Action:
        """The bytes were handed to the OS; ``after`` is the status read right after (None:
        not read, ``confirm = "none"``); ``token``: the confirmation asked after them,
        ``confirmed`` already (a short job on a fast printer: never ``sent``)."""
        self._expect(Step.WRITING)
        if after is not None and after.not_connected:
            # The link was gone right after: the printer may have got only part of the job.
            return self._io_failed(f"PRINTER: connection lost while sending the job "
                                   f"({after.detail or 'no detail'})", running)
        assert self.data is not None
        if token is not None and not confirmed:
            self.token = token
            self.step = Step.CONFIRMING
            return RecordSent(len(self.data))
        return self._end(RecordPrinted(len(self.data)))

    # --- confirming ----------------------------------------------------------------------

    def sent(self, now: float) -> Action:
        self._expect(Step.CONFIRMING)
        self.sent_at = self._ready_since = now
        assert self.token is not None
        return AwaitConfirm(self.token)

    def confirmation(self, c: Confirmation, now: float, running: bool) -> Action:
        self._expect(Step.CONFIRMING)
        assert self.data is not None and self.token is not None
        if c.confirmed:
            return self._end(RecordPrinted(len(self.data)))
        if c.lost:
            stopped = self._stopped_by
            return self._io_failed(lost_half_way(stopped) if stopped else LOST_REASON,
                                   running)
        status = c.status
        if status is not None and status.holds_jobs:
            if self._fault != status.text:
                self._fault = status.text
                self._stopped_by = self._stopped_by or status.text
                return Progress(stopped_inside(status))
            return AwaitConfirm(self.token)
        if self._fault is not None:  # Ready again: the printer finishes the job
            self._fault, self._ready_since = None, now
        if now - self._ready_since >= self.confirm_timeout:
            return self._end(RecordPrinted(len(self.data), unconfirmed=(
                f"the printer did not confirm the job within {self.confirm_timeout:g} s "
                "while it read Ready: reported printed as its status says; this printer "
                "is no longer asked to confirm")))
        return AwaitConfirm(self.token)

    def reported(self) -> Action:
        self._expect(Step.CONFIRMING)
        assert self.token is not None
        return AwaitConfirm(self.token)

    def confirm_stuck(self, detail: str) -> Action:
        """The thread did not come back while waiting: the job is at the printer."""
        self._expect(Step.CONFIRMING)
        return self._end(Fail(f"PRINTER: the printer stopped answering while it had this "
                              f"job ({detail}); connection dropped", io=True))

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
