"""What a restart makes of the jobs the journal holds unfinished: plain code, no reactor.

- ``printing`` when the daemon died: ``interrupted`` (it may or may not have printed), or
  queued again where the printer's config says ``reprint_interrupted``;
- ``sent``: ``interrupted``, never reprinted (the printer had all of it; its answer went
  to the connection that died with the daemon, so no answer can prove it printed now);
- ``held`` (a journal written before holds became the printer's): queued, held again if
  the fault is still there;
- a job for a printer no longer configured: failed.

Each change is an :class:`Update` for the journal and a :class:`JobEvent` for everyone
who listens (an MQTT till gets its final ``P/printed``), as any other change is.
"""

from __future__ import annotations

from typing import Callable, Iterable

import attrs

from ticketd.config_printer import PrinterConfig
from ticketd.jobs.journal import Update
from ticketd.jobs.model import Job, JobEvent, JobState

INTERRUPTED_REASON = ("INTERRUPTED: the daemon stopped while this job was being printed; "
                      "it may or may not have printed")
UNCONFIRMED_REASON = ("INTERRUPTED: the daemon stopped after the printer took all of this "
                      "job and before it confirmed the paper came out; it most likely "
                      "printed")


@attrs.define
class Recovered:
    waiting: list[Job] = attrs.Factory(list)  # to queue again, in order
    finished: list[Job] = attrs.Factory(list)
    updates: list[Update] = attrs.Factory(list)
    events: list[JobEvent] = attrs.Factory(list)


def recover(jobs: Iterable[Job], printer: Callable[[str], PrinterConfig | None],
            now: float) -> Recovered:
    """``printer(name)``: the printer's config, None if it is no longer configured."""
    out = Recovered()
    for job in jobs:
        before = job.state
        cfg = printer(job.printer)
        if job.state is JobState.SENT:
            job.transition(JobState.INTERRUPTED, now, UNCONFIRMED_REASON)
        elif job.state is JobState.PRINTING:
            if cfg is not None and cfg.reprint_interrupted:
                job.transition(JobState.QUEUED, now, "reprinting after an interruption")
            else:
                job.transition(JobState.INTERRUPTED, now, INTERRUPTED_REASON)
        elif job.state is JobState.HELD:
            job.transition(JobState.QUEUED, now)
        if cfg is None and not job.state.final:
            job.transition(JobState.FAILED, now,
                           f"PRINTER: printer {job.printer!r} is no longer configured")
        if job.state is not before:
            out.updates.append(Update.of(job))
            if before is not JobState.HELD or job.state.final:
                out.events.append(JobEvent(job, before, job.state))
        (out.finished if job.state.final else out.waiting).append(job)
    return out
