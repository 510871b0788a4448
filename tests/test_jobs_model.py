"""The job state machine: allowed transitions, timestamps, final states."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from ticketd.jobs.model import FINAL, InvalidTransition, Job, JobKind, JobState

S = JobState

#: The allowed transitions, written out here (the table of the model's docstring) so that
#: a change to the model's own table shows up as a failing test.
ALLOWED: dict[JobState, set[JobState]] = {
    S.QUEUED: {S.HELD, S.PRINTING, S.FAILED, S.CANCELLED, S.EXPIRED},
    S.HELD: {S.QUEUED, S.PRINTING, S.FAILED, S.CANCELLED, S.EXPIRED},
    S.PRINTING: {S.QUEUED, S.SENT, S.PRINTED, S.FAILED, S.INTERRUPTED},
    S.SENT: {S.QUEUED, S.PRINTED, S.FAILED, S.INTERRUPTED},
    S.PRINTED: set(),
    S.FAILED: set(),
    S.CANCELLED: set(),
    S.EXPIRED: set(),
    S.INTERRUPTED: set(),
}


def job() -> Job:
    return Job(id="j", printer="p", source="test", kind=JobKind.RAW, payload=b"x", created=1.0)


class TransitionTests(SynchronousTestCase):
    def test_happy_path(self) -> None:
        j = job()
        self.assertEqual(j.transition(S.PRINTING, 2.0), S.QUEUED)
        self.assertEqual((j.started, j.attempts), (2.0, 1))
        j.transition(S.PRINTED, 3.0)
        self.assertEqual((j.state, j.finished, j.success), (S.PRINTED, 3.0, True))

    def test_every_pair(self) -> None:
        """Exactly the pairs in the table are allowed; final states are dead ends."""
        self.assertEqual(set(ALLOWED), set(S))  # the table covers every state
        self.assertIs(job().state, S.QUEUED)  # (new) -> queued
        for old in S:
            for new in S:
                j = job()
                j.state = old
                if new in ALLOWED[old]:
                    self.assertEqual(j.transition(new, 2.0), old, (old, new))
                    self.assertEqual(j.state, new)
                else:
                    self.assertRaises(InvalidTransition, j.transition, new, 2.0)
                    self.assertEqual(j.state, old)
        self.assertEqual(FINAL, {s for s, targets in ALLOWED.items() if not targets})
        for final in FINAL:
            self.assertTrue(final.final)

    def test_hold_keeps_its_start(self) -> None:
        j = job()
        j.transition(S.HELD, 5.0)
        self.assertEqual(j.held_since, 5.0)
        j.transition(S.QUEUED, 6.0)
        self.assertIsNone(j.held_since)

    def test_reason_kept_for_final(self) -> None:
        j = job()
        j.transition(S.FAILED, 2.0, "PRINTER: boom")
        self.assertEqual(j.summary()["reason"], "PRINTER: boom")
        self.assertTrue(j.state.final)

    def test_expiry(self) -> None:
        j = job()
        self.assertFalse(j.expired_at(10.0))
        j.expires = 10.0
        self.assertFalse(j.expired_at(9.9))
        self.assertTrue(j.expired_at(10.0))
