"""The printer queue's part while a job is ``sent``: the printer has its bytes, and the
queue waits for the printer's in-order answer (``printers/confirm.py``) in the printer's
thread, reading the real-time status meanwhile, as the job's steps ask."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ticketd.jobs.job_steps import Action, AwaitConfirm, JobSteps, Progress, RecordSent
from ticketd.jobs.model import JobState
from ticketd.jobs.thread_calls import ThreadStuck
from ticketd.printers.confirm import Confirmation
from ticketd.printers.status import not_connected

if TYPE_CHECKING:
    from ticketd.jobs.printer_queue import PrinterQueue


class Confirming:
    """Mixed into :class:`~ticketd.jobs.printer_queue.PrinterQueue`."""

    @property
    def confirm(self: "PrinterQueue") -> str:
        """How this printer's jobs are confirmed now (see PrinterWork.confirm)."""
        return self._thread_work.confirm

    @property
    def unconfirmed(self: "PrinterQueue") -> int:
        """Jobs at the printer whose confirmation is awaited (one at most: the next job
        goes out once the previous one is confirmed)."""
        current = self.current
        return 1 if current is not None and current.state is JobState.SENT else 0

    async def _confirming(self: "PrinterQueue", steps: JobSteps,
                          action: RecordSent | AwaitConfirm | Progress) -> Action:
        job = steps.job
        if isinstance(action, RecordSent):
            job.bytes_written = action.size
            # Not awaited while the printer prints; ``printed`` waits for it, so that it is
            # submitted before the next job's ``printing`` (one job in doubt at most).
            self._sent_record = self.sink.change(job, JobState.SENT, progress="Sent",
                                                 must=True)
            return steps.sent(self.clock.seconds())
        if isinstance(action, Progress):
            self.sink.progress(job, action.text)
            return steps.reported()
        try:
            c = await self._calls.call(self._thread_work.await_confirmation, action.token,
                                       timeout=self._thread_work.confirm_budget())
        except ThreadStuck as e:
            self.connection.abort()
            self._thread_stuck(e)
            return steps.confirm_stuck(str(e))
        except Exception as e:  # noqa: BLE001 - the link's error: the answer cannot come
            c = Confirmation(False, not_connected(str(e)), lost=True)
        if c.status is not None:
            self._after_write = None
            self.set_status(c.status)
        return steps.confirmation(c, self.clock.seconds(), self.running)
