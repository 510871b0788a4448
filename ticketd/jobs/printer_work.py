"""What a printer queue does in the printer's own thread, and how long each call may take.

Blocking code with no reactor: the queue (``printer_queue.py``) runs these through its
thread calls with the budgets below, so a call past every deadline of the connection is
known to be stuck (the thread is blocked where Python cannot interrupt it).
"""

from __future__ import annotations

from typing import Callable

import attrs

from ticketd.config_printer import PrinterConfig
from ticketd.jobs.model import Job, JobKind, JobState
from ticketd.printers.confirm import IN_ORDER, Confirmation
from ticketd.printers.connection import PrinterConnection
from ticketd.printers.status import PrinterStatus
from ticketd.stages import NoStages, Stages

WRITE_GRACE = 2.0  # seconds past the connection's own deadlines before giving up on a call
RENDER_ALLOWANCE = 30.0  # seconds a document may take to render
CONFIRM_WAIT = 0.5  # seconds one wait for a confirmation lasts before DLE EOT is read
# seconds the job's own call waits for the answer: a short job on a fast printer is
# confirmed in the same trip to the printer's thread, and goes straight to printed
FIRST_WAIT = 0.05
Prepare = Callable[[Job], tuple[bytes, tuple[str, ...]]]


@attrs.frozen
class Written:
    """A job's bytes went out: the real-time status read right after (None: not read,
    ``confirm = "none"``, or the printer confirmed at once), and the token of the
    confirmation asked after them."""

    status: PrinterStatus | None
    token: str | None = None
    confirmed: bool = False  # the answer came within FIRST_WAIT


@attrs.frozen
class Ahead:
    """The next job's bytes, made while the journal recorded the previous job's
    ``printing`` (``make_ahead``)."""

    job: Job
    data: bytes
    warnings: tuple[str, ...]


def next_document(pending: list[Job]) -> Job | None:
    """The document the queue prints next, to render ahead (``make_ahead``)."""
    job = pending[0] if pending else None
    if job is None or job.kind is not JobKind.DOCUMENT or job.state is not JobState.QUEUED:
        return None
    return job


class PreparationError(Exception):
    """The job's bytes could not be made (invalid document ...); ``str()`` is the reason."""


class PrinterWork:
    def __init__(self, config: PrinterConfig, connection: PrinterConnection,
                 prepare: Prepare, stages: Stages | None = None) -> None:
        self.config = config
        self.stages = stages if stages is not None else NoStages()
        self.connection = connection
        self._prepare = prepare
        self.unconfirmed: str | None = None  # why this printer is no longer asked
        self._ahead: Ahead | None = None  # set in the thread, taken on the reactor after

    @property
    def confirm(self) -> str:
        """How jobs are confirmed on this printer now: the ``confirm`` setting, or
        "realtime" if the connection has no in-order answers or the printer never gave one."""
        mode = self.config.confirm
        if mode in IN_ORDER and (self.unconfirmed is not None
                                 or not hasattr(self.connection, "ask_confirmation")):
            return "realtime"
        return mode

    def stop_confirming(self, why: str) -> None:
        """The printer did not confirm a job: jobs go by the real-time status from now on."""
        self.unconfirmed = why

    def status_budget(self) -> float:
        """The longest a status query can take by the connection's own deadlines (connect,
        then DLE EOT 1-4; a device node may reopen and ask twice), plus grace."""
        c = self.config
        return c.connect_timeout + 8 * c.status_timeout + WRITE_GRACE

    def prepare_budget(self) -> float:
        return RENDER_ALLOWANCE + self.status_budget()

    def take_ahead(self, job: Job) -> Ahead | None:
        """The bytes made ahead for ``job`` (on the reactor, once the trip that made them
        came back), or None: then the job takes its own trip to prepare."""
        ahead, self._ahead = self._ahead, None
        return ahead if ahead is not None and ahead.job is job else None

    def make_ahead(self, job: Job) -> None:
        """Render the next document while the journal records this job's ``printing``
        (the thread would wait anyway): the next job then needs no trip of its own and
        its rendering is off the path from one job's bytes to the next's. A document that
        fails to render fails in its own trip, with its own error."""
        self._ahead = None
        try:
            data, warnings = self.stages.run("render", self._prepare, job)
        except Exception:
            return
        self._ahead = Ahead(job, data, warnings)

    def prepare_and_check(self, job: Job, data: bytes | None, check: bool
                          ) -> tuple[bytes, tuple[str, ...], PrinterStatus | None]:
        """Make the bytes (once) and, if asked, read the status."""
        warnings: tuple[str, ...] = ()
        run = self.stages.run
        if data is None:
            data, warnings = run("render", self._prepare, job)
        return data, warnings, run("status", self.connection.query_status) if check else None

    def confirm_budget(self) -> float:
        return CONFIRM_WAIT + self.status_budget()

    def write_budget(self) -> float:
        """The longest a job's call can take: connect, write, then the status after it."""
        budget = self.status_budget() + self.config.write_timeout
        if self.confirm in IN_ORDER:  # the first wait for the answer, then DLE EOT again
            budget += FIRST_WAIT + 4 * self.config.status_timeout
        return budget

    def write_job(self, data: bytes, job_id: str) -> Written:
        """Write the job, with the printer's confirmation request right behind it when it
        confirms in order, then read the status (the next job's check, if it comes soon)."""
        token = self.stages.run("write", self._send, data, job_id)
        return self.stages.run("confirm", self._after_write, token)

    def _send(self, data: bytes, job_id: str) -> str | None:
        """The bytes, and the confirmation request's token if one was asked for."""
        token = None
        try:
            self.connection.open()
            self.connection.write(data, job_id)
            if self.confirm in IN_ORDER:
                asked = self.connection.ask_confirmation()  # type: ignore[attr-defined]
                if asked is not None:
                    token, request = asked
                    self.connection.write(request, job_id)
        except BaseException:
            self.connection.close()
            raise
        return token

    def _after_write(self, token: str | None) -> Written:
        if token is not None:
            # The answer first: it proves the link and the printer's state as well as a
            # DLE EOT reading would (it printed all of it), so then none is read; without
            # it by FIRST_WAIT, the wait reads DLE EOT itself.
            answer = self.connection.await_confirmation(  # type: ignore[attr-defined]
                token, FIRST_WAIT)
            return Written(None if answer.confirmed else answer.status, token,
                           confirmed=answer.confirmed)
        if self.confirm == "none":
            return Written(None)
        confirm = getattr(self.connection, "confirm", self.connection.query_status)
        return Written(confirm())

    def await_confirmation(self, token: str) -> Confirmation:
        return self.stages.run("confirm", self.connection.await_confirmation,  # type: ignore[attr-defined]
                               token, CONFIRM_WAIT)
