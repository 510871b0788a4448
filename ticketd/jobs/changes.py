"""A job's state changes, disk first: the journal records the new state, and only then
does the job in memory take it and anyone hear of it.

So a client is never told of a change the journal does not have: a cancel whose record
failed leaves the job queued (and says so), a job is never reported ``printed`` before
the journal knows. Changes of one job are applied one after the other, in the order they
were asked for; each is checked against the job's state when its turn comes (a cancel
behind a ``printing`` record finds the job printing, and is refused as such).

A change that must happen (a job that did print, a failure after its bytes went out) is
tried again every ``RETRY`` seconds until the journal takes it; the journal's condition
(``GroupCommitter.state``) says meanwhile that it is sick. Other changes (a cancel, a
sweep's expiry) answer False at once and are asked for again by whoever wanted them.
"""

from __future__ import annotations

from typing import Any, Callable

import attrs
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ticketd.jobs.commit import GroupCommitter
from ticketd.jobs.journal import Update
from ticketd.jobs.model import TRANSITIONS, Job, JobEvent, JobState

RETRY = 1.0  # seconds between tries of a change that must be recorded

Applied = Callable[[JobEvent], None]


@attrs.frozen
class Outcome:
    """How a change went: ``recorded`` (on disk and applied), else why not: the job had
    moved on (``moved``: the state it was in) or the journal refused (``error``)."""

    recorded: bool
    moved: JobState | None = None
    error: str | None = None

    def __bool__(self) -> bool:
        return self.recorded


class Changes:
    """Writes each change, then applies it; ``applied(event)`` runs after each."""

    log = Logger()

    def __init__(self, committer: GroupCommitter, clock: IReactorTime,
                 applied: Applied) -> None:
        self._committer = committer
        self._clock = clock
        self._applied = applied
        self._tails: dict[str, tuple[Deferred[Any], int]] = {}  # per job: last change, count
        self.closed = False

    def close(self) -> None:
        """Stopping: a change that must be recorded is not tried again (after the restart
        the journal has the job as it was last recorded)."""
        self.closed = True

    def change(self, job: Job, state: JobState, reason: str | None = None,
               progress: str | None = None, must: bool = False) -> Deferred[Outcome]:
        """Record ``job`` → ``state``, then apply it; behind any change of the same job
        still being recorded. Never fails."""
        result: Deferred[Outcome] = Deferred()

        def turn(_: object) -> Deferred[None]:
            return self._now(job, state, reason, progress, must).addCallback(result.callback)

        chain, count = self._tails.get(job.id, (None, 0))
        if chain is None:
            chain = succeed(None)
        count += 1
        self._tails[job.id] = (chain, count)

        def done(_: object) -> None:
            if self._tails.get(job.id, (None, -1))[1] == count:
                del self._tails[job.id]

        chain.addCallback(turn).addCallback(done)
        return result

    def settled(self) -> Deferred[None]:
        """Fires once every change asked for so far was applied or refused, including
        those waiting behind another change of their job (a ``printed`` behind ``sent``)."""
        waits: list[Deferred[None]] = []
        for chain, _ in list(self._tails.values()):
            done: Deferred[None] = Deferred()

            def fire(result: object, done: Deferred[None] = done) -> object:
                done.callback(None)
                return result

            chain.addBoth(fire)
            waits.append(done)
        return gatherResults(waits).addCallback(lambda _: None)

    def pending(self, job_id: str) -> bool:
        """A change of this job is being recorded."""
        return job_id in self._tails

    def _now(self, job: Job, state: JobState, reason: str | None, progress: str | None,
             must: bool) -> Deferred[Outcome]:
        if state not in TRANSITIONS.get(job.state, frozenset()):
            return succeed(Outcome(False, moved=job.state))
        at = self._clock.seconds()
        after = attrs.evolve(job)
        after.transition(state, at, reason)
        d = self._committer.submit(Update.of(after), urgent=state is JobState.PRINTING)
        result: Deferred[Outcome] = Deferred()

        def recorded(_: object) -> None:
            old = job.transition(state, at, reason)
            try:
                self._applied(JobEvent(job, old, state, progress))
            finally:
                result.callback(Outcome(True))

        def refused(f: Any) -> None:
            error = str(f.value) or repr(f.value)
            if not must or self.closed:
                self.log.warn("journal: job {job} -> {state} not recorded: {error}",
                              job=job.id, state=state.value, error=error)
                result.callback(Outcome(False, error=error))
                return
            self.log.warn("journal: job {job} -> {state} not recorded ({error}); trying "
                          "again in {delay:g} s", job=job.id, state=state.value,
                          error=error, delay=RETRY)
            again = Deferred()
            self._clock.callLater(RETRY, again.callback, None)
            again.addCallback(lambda _: self._now(job, state, reason, progress, must))
            again.addCallback(result.callback)

        d.addCallbacks(recorded, refused)
        return result
