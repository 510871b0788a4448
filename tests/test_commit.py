"""Group commit: what GroupCommitter promises the job manager, driven by hand.

A fake journal records each transaction, a ManualRunner holds each call until the test
finishes it (the journal's thread, made visible), and a Clock ends the reactor turn: no
threads, no SQLite, every interleaving written out.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.fakes import ManualRunner
from ticketd.jobs.commit import GroupCommitter
from ticketd.jobs.journal import BARRIER, Insert
from ticketd.jobs.model import Job, JobKind


def job(n: int) -> Job:
    return Job(id=f"j{n}", printer="p", source="test", kind=JobKind.RAW, payload=b"x",
               created=1.0)


class FakeJournal:
    """Records every transaction; ``answers`` gives a change its batch result, and
    ``fail_next`` makes the next whole transaction raise."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []
        self.answers: dict[int, Any] = {}  # id(change) -> result (a Job or an Exception)
        self.fail_next: Exception | None = None
        self.closed = 0
        self.reads: list[str] = []

    def write(self, changes: list[Any]) -> list[Any]:
        if self.fail_next is not None:
            e, self.fail_next = self.fail_next, None
            raise e
        self.batches.append(list(changes))
        return [self.answers.get(id(c)) for c in changes]

    def get(self, job_id: str) -> None:
        self.reads.append(job_id)
        return None

    def close(self) -> None:
        self.closed += 1


class FakeThreads:
    def __init__(self) -> None:
        self.started = 0
        self.stopped = 0

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1


class CommitterTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.journal = FakeJournal()
        self.runner = ManualRunner()
        self.threads = FakeThreads()
        self.committer = self.make(scheduled=True)

    def make(self, scheduled: bool) -> GroupCommitter:
        """``scheduled``: a batch waits for the end of the reactor turn, as in the daemon."""
        schedule: Callable[[Callable[[], None]], object] | None = (
            (lambda f: self.clock.callLater(0, f)) if scheduled else None)
        return GroupCommitter(self.journal, self.runner, self.threads, schedule=schedule)

    def writes_waiting(self) -> int:
        """Transactions handed to the journal's thread and not finished yet."""
        return sum(1 for _, f, _ in self.runner.calls
                   if isinstance(getattr(f, "__self__", None), GroupCommitter)
                   and f.__name__ == "write")

    def finish(self) -> None:
        """The journal's thread runs the oldest call; an exception fails its Deferred."""
        d, f, args = self.runner.calls.pop(0)
        maybeDeferred(f, *args).chainDeferred(d)

    def submit(self, change: Any, urgent: bool = False) -> Deferred[Job | None]:
        return self.committer.submit(change, urgent=urgent)


class BatchingTests(CommitterTestCase):
    def test_one_turn_one_transaction(self) -> None:
        changes = [Insert(job(n)) for n in range(3)]
        ds = [self.submit(c) for c in changes]
        self.assertEqual(self.writes_waiting(), 0)  # not before the turn ends
        self.clock.advance(0)
        self.assertEqual(self.writes_waiting(), 1)
        for d in ds:
            self.assertNoResult(d)  # not on disk yet
        self.finish()
        self.assertEqual(self.journal.batches, [changes])
        for d in ds:
            self.assertIsNone(self.successResultOf(d))
        self.assertEqual((self.committer.transactions, self.committer.changes), (1, 3))

    def test_changes_made_during_a_write_share_the_next_one(self) -> None:
        a, b, c = (Insert(job(n)) for n in range(3))
        da = self.submit(a)
        self.clock.advance(0)
        db, dc = self.submit(b), self.submit(c)
        self.clock.advance(0)
        self.assertEqual(self.writes_waiting(), 1)  # one transaction at a time
        self.assertNoResult(db)
        self.finish()
        self.assertIsNone(self.successResultOf(da))
        self.assertNoResult(db)
        self.assertEqual(self.writes_waiting(), 1)  # the next one starts at once
        self.finish()
        self.assertEqual(self.journal.batches, [[a], [b, c]])
        self.assertIsNone(self.successResultOf(db))
        self.assertIsNone(self.successResultOf(dc))

    def test_urgent_writes_the_batch_now(self) -> None:
        """A printer waits on its job's "printing" record: no waiting for the turn's end,
        and what was already batched goes along."""
        a, b = Insert(job(1)), Insert(job(2))
        self.submit(a)
        db = self.submit(b, urgent=True)
        self.assertEqual(self.writes_waiting(), 1)
        self.clock.advance(0)  # the scheduled flush finds nothing left to write
        self.assertEqual(self.writes_waiting(), 1)
        self.finish()
        self.assertEqual(self.journal.batches, [[a, b]])
        self.assertIsNone(self.successResultOf(db))
        self.assertEqual(self.committer.transactions, 1)

    def test_urgent_during_a_write_goes_first_into_the_next(self) -> None:
        a, b = Insert(job(1)), Insert(job(2))
        self.submit(a, urgent=True)
        db = self.submit(b, urgent=True)
        self.assertEqual(self.writes_waiting(), 1)
        self.finish()
        self.assertEqual(self.writes_waiting(), 1)
        self.finish()
        self.assertEqual(self.journal.batches, [[a], [b]])
        self.assertIsNone(self.successResultOf(db))

    def test_without_schedule_an_idle_committer_writes_at_once(self) -> None:
        committer = self.make(scheduled=False)
        a, b, c = (Insert(job(n)) for n in range(3))
        committer.submit(a)
        self.assertEqual(self.writes_waiting(), 1)
        committer.submit(b)
        committer.submit(c)
        self.finish()
        self.finish()
        self.assertEqual(self.journal.batches, [[a], [b, c]])

    def test_each_caller_gets_its_own_result(self) -> None:
        """An Insert whose id is known answers with the existing job; one refused alone
        fails alone, the rest of its batch is on disk."""
        new, known, bad = Insert(job(1)), Insert(job(2)), Insert(job(3))
        existing = job(2)
        self.journal.answers[id(known)] = existing
        self.journal.answers[id(bad)] = ValueError("cannot be stored")
        ds = [self.submit(c) for c in (new, known, bad)]
        self.clock.advance(0)
        self.finish()
        self.assertIsNone(self.successResultOf(ds[0]))
        self.assertIs(self.successResultOf(ds[1]), existing)
        self.failureResultOf(ds[2], ValueError)

    def test_barrier_fires_once_everything_before_it_is_on_disk(self) -> None:
        a = Insert(job(1))
        da = self.submit(a)
        self.clock.advance(0)
        barrier = self.submit(BARRIER)  # asked while a's transaction is being written
        self.clock.advance(0)
        self.finish()
        self.assertIsNone(self.successResultOf(da))
        self.assertNoResult(barrier)
        self.finish()
        self.assertIsNone(self.successResultOf(barrier))
        self.assertEqual(self.journal.batches, [[a], [BARRIER]])

    def test_barrier_alone(self) -> None:
        barrier = self.submit(BARRIER)
        self.clock.advance(0)
        self.assertNoResult(barrier)
        self.finish()
        self.assertIsNone(self.successResultOf(barrier))

    def test_reads_run_on_the_journal_thread_outside_the_batches(self) -> None:
        d = self.committer.read(self.journal.get, "j1")
        self.assertEqual(self.journal.reads, [])
        a = Insert(job(1))
        self.submit(a)
        self.clock.advance(0)
        self.assertEqual(self.writes_waiting(), 1)  # a read does not hold writes back
        self.finish()
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(self.journal.reads, ["j1"])
        self.finish()
        self.assertEqual(self.journal.batches, [[a]])
        self.assertEqual(self.committer.transactions, 1)


class FailureTests(CommitterTestCase):
    def test_a_failed_transaction_fails_every_change_in_it(self) -> None:
        ds = [self.submit(Insert(job(n))) for n in range(3)]
        self.clock.advance(0)
        self.journal.fail_next = OSError("disk full")
        self.finish()
        for d in ds:
            self.failureResultOf(d, OSError)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)  # logged once
        self.assertEqual(self.journal.batches, [])

    def test_the_committer_keeps_working_afterwards(self) -> None:
        failed = self.submit(Insert(job(1)))
        self.clock.advance(0)
        behind = self.submit(Insert(job(2)))  # behind the transaction that fails
        barrier = self.submit(BARRIER)
        self.journal.fail_next = OSError("disk full")
        self.finish()
        self.failureResultOf(failed, OSError)
        # Asked for after a change that failed: fails with it (the order of the journal
        # holds: nothing lands on disk before what was asked for earlier).
        self.failureResultOf(behind, OSError)
        self.flushLoggedErrors(OSError)
        self.assertNoResult(barrier)  # a barrier only waits: it goes on to the next batch
        self.finish()
        self.assertIsNone(self.successResultOf(barrier))
        later = self.submit(Insert(job(3)))
        self.clock.advance(0)
        self.finish()
        self.assertIsNone(self.successResultOf(later))
        self.assertEqual([[getattr(c, "job", None) and c.job.id for c in b]
                          for b in self.journal.batches], [[None], ["j3"]])
        self.assertTrue(self.committer.idle())


class CloseTests(CommitterTestCase):
    def test_idle_only_when_nothing_is_asked_or_being_written(self) -> None:
        self.assertTrue(self.committer.idle())
        self.submit(Insert(job(1)))
        self.assertFalse(self.committer.idle())  # batched, the turn not over
        self.clock.advance(0)
        self.assertFalse(self.committer.idle())  # being written
        self.submit(Insert(job(2)))
        self.finish()
        self.assertFalse(self.committer.idle())  # the next batch being written
        self.finish()
        self.assertTrue(self.committer.idle())

    def test_start_and_close_run_the_journal_thread(self) -> None:
        self.committer.start()
        self.assertEqual((self.threads.started, self.threads.stopped), (1, 0))
        self.committer.close()
        self.assertEqual((self.threads.stopped, self.journal.closed), (1, 1))

    def test_close_after_a_barrier_loses_nothing(self) -> None:
        """The shutdown order (the job manager's stop): a barrier, and close once it fired."""
        a, b = Insert(job(1)), Insert(job(2))
        self.submit(a)
        self.clock.advance(0)
        self.submit(b)
        barrier = self.submit(BARRIER)
        barrier.addCallback(lambda _: self.committer.close())
        self.finish()
        self.assertEqual(self.journal.closed, 0)
        self.finish()
        self.successResultOf(barrier)
        self.assertEqual(self.journal.batches, [[a], [b, BARRIER]])
        self.assertEqual((self.threads.stopped, self.journal.closed), (1, 1))
        self.assertEqual(self.runner.calls, [])

    def test_close_does_not_wait(self) -> None:
        """close() is for after the last change is written: called while a transaction
        runs, it stops the thread and closes the journal at once, and neither writes nor
        fails the changes still waiting (callers wait for a barrier first)."""
        running = self.submit(Insert(job(1)))
        self.clock.advance(0)
        waiting = self.submit(Insert(job(2)))
        self.assertIsNone(self.committer.close())  # no Deferred to wait on
        self.assertEqual((self.threads.stopped, self.journal.closed), (1, 1))
        self.assertNoResult(running)
        self.assertNoResult(waiting)
        self.assertEqual(self.journal.batches, [])

    def test_without_threads_close_closes_the_journal(self) -> None:
        committer = GroupCommitter(self.journal, self.runner)
        committer.start()
        committer.close()
        self.assertEqual(self.journal.closed, 1)
        self.assertEqual((self.threads.started, self.threads.stopped), (0, 0))
