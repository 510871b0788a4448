"""Group commit: the Twisted side of the journal.

Changes asked for while a transaction is being written wait and go into the next one, so
a burst of jobs costs one transaction, not one each. Each caller gets a Deferred that
fires when its change is on disk (with the Insert's result: None, or the existing job
when the id was already known). The journal runs in its own one-thread pool so that a
slow disk never blocks the reactor or a printer's thread.

It also keeps the journal's condition (:class:`ticketd.jobs.api.JournalState`): a failed
batch makes it the SQLite error, the next good one makes it ok again; each change is one
log line.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ticketd.jobs.api import JOURNAL_OK, JournalState
from ticketd.jobs.journal import BARRIER, Change, Insert, Journal, Update
from ticketd.jobs.model import Job, JobState
from ticketd.stages import NoStages, Stages

T = TypeVar("T")
Runner = Callable[..., Deferred]


class GroupCommitter:
    log = Logger()

    def __init__(self, journal: Journal | None, run: Runner, threads: object | None = None,
                 schedule: Callable[[Callable[[], None]], object] | None = None,
                 opener: Callable[[], Journal] | None = None,
                 stages: Stages | None = None) -> None:
        """``schedule(f)`` runs ``f`` at the end of the current reactor turn (e.g.
        ``lambda f: reactor.callLater(0, f)``): changes made in the same turn (a job's
        "printed" and the next job's "printing") then share one transaction. Without it
        a batch is written at once. ``opener``: the journal is opened by :meth:`start`
        (under twistd: after it daemonized and dropped privileges), not here."""
        self._journal = journal
        self._opener = opener
        self._run = run
        self._threads = threads
        self._schedule = schedule
        self._scheduled = False
        self._batch: list[tuple[Change, Deferred[Job | None]]] = []
        self._busy = False
        self.transactions = 0
        self.changes = 0
        self.state: JournalState = JOURNAL_OK
        self.stages = stages if stages is not None else NoStages()

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            raise RuntimeError("the journal is not open yet")
        return self._journal

    def record(self, error: BaseException | None) -> None:
        """Note how the last write went; one log line when that changes the condition."""
        state = JOURNAL_OK if error is None else JournalState(False, str(error) or repr(error))
        if state == self.state:
            return
        old, self.state = self.state, state
        path = str(getattr(self._journal, "path", "journal"))
        if state.ok:
            self.log.info("journal {path}: writes work again", path=path)
        elif old.ok:
            self.log.error("journal {path}: writes fail: {error}", path=path, error=state.error)
        else:
            self.log.error("journal {path}: writes still fail, now: {error}", path=path,
                           error=state.error)

    def submit(self, change: Change, urgent: bool = False) -> Deferred[Job | None]:
        """``urgent``: someone waits on this change before doing anything else (a printer
        before writing a job): write the batch now rather than at the end of the turn."""
        d: Deferred[Job | None] = Deferred()
        stage = _stage_of(change)
        if stage is not None:
            d.addBoth(self.stages.timer(stage).stop)
        self._batch.append((change, d))
        if not self._busy and (urgent or not self._scheduled):
            if self._schedule is None or urgent:
                self._flush()
            else:
                self._scheduled = True
                self._schedule(self._flush_scheduled)
        return d

    def _flush_scheduled(self) -> None:
        self._scheduled = False
        if not self._busy and self._batch:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        self._busy = True
        changes = [c for c, _ in batch]
        self.transactions += 1
        self.changes += len(changes)

        def done(results: list[Job | Exception | None]) -> None:
            self.record(None)
            for (_, d), r in zip(batch, results):
                if isinstance(r, Exception):
                    d.errback(r)
                else:
                    d.callback(r)

        def failed(f):  # type: ignore[no-untyped-def]
            first = self.state.ok
            self.record(f.value)
            if first:  # the traceback once; the condition's line says the rest
                self.log.failure("journal write failed ({n} changes)", f, n=len(batch))
            # What was asked for behind this batch fails with it: the journal keeps the
            # order of the changes (a job's "printing" never lands before the previous
            # job's "printed", which will be tried again).
            behind = [(c, d) for c, d in self._batch if c is not BARRIER]
            self._batch = [(c, d) for c, d in self._batch if c is BARRIER]
            for _, d in batch + behind:
                d.errback(f)

        def next_(_: object) -> None:
            self._busy = False
            if self._batch:
                self._flush()

        self._run(self.write, changes).addCallbacks(done, failed).addBoth(next_)

    def write(self, changes: list[Change]) -> list[Job | Exception | None]:
        """In the journal's thread: one transaction, timed (``ticketd.stages``)."""
        return self.stages.run("journal.transaction", self.journal.write, changes)

    def read(self, f: Callable[..., T], *args: object) -> Deferred[T]:
        """Run a read (``journal.get``, ``journal.recent`` ...) on the journal's thread."""
        return self._run(f, *args)

    def start(self) -> None:
        """Open the journal (if given an opener; its errors propagate), start the thread."""
        if self._journal is None and self._opener is not None:
            self._journal = self._opener()
        if self._threads is not None:
            self._threads.start()  # type: ignore[attr-defined]

    def close(self) -> None:
        """After the last change is written: stop the thread, close the database."""
        if self._threads is not None:
            self._threads.stop()  # type: ignore[attr-defined]
        if self._journal is not None:
            self._journal.close()

    def idle(self) -> bool:
        return not self._busy and not self._batch and not self._scheduled


#: The job stages (``ticketd.stages``) whose journal records are timed: from asked for to
#: on disk, hand-offs and waiting behind other transactions included.
_UPDATE_STAGES = {JobState.PRINTING: "journal.printing", JobState.PRINTED: "journal.printed"}


def _stage_of(change: Change) -> str | None:
    if isinstance(change, Insert):
        return "journal.accept"
    if isinstance(change, Update):
        return _UPDATE_STAGES.get(change.state)
    return None
