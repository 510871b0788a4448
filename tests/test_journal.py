"""The SQLite journal: idempotent inserts, recovery order, retention clean-up."""

from __future__ import annotations

from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from ticketd.jobs.journal import BARRIER, Insert, Journal, Update
from ticketd.jobs.model import Job, JobKind, JobState, encode_document


def job(i: str, created: float = 100.0) -> Job:
    return Job(id=i, printer="p", source="test", kind=JobKind.RAW, payload=b"x" + i.encode(),
               created=created, updated=created)


class JournalTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.journal = Journal(Path(self.mktemp()) / "j.sqlite3")
        self.addCleanup(self.journal.close)

    def test_insert_is_idempotent_on_the_id(self) -> None:
        a = job("a")
        self.assertEqual(self.journal.write([Insert(a)]), [None])
        self.assertGreater(a.seq, 0)
        existing = self.journal.write([Insert(job("a")), BARRIER])[0]
        assert existing is not None
        self.assertEqual((existing.id, existing.seq), ("a", a.seq))

    def test_payload_round_trip(self) -> None:
        document = {"commands": [{"type": "cut"}], "ñ": "€"}
        doc = Job(id="d", printer="p", source="ws", kind=JobKind.DOCUMENT,
                  payload=encode_document(document), created=1.0)
        self.journal.write([Insert(doc), Insert(job("r"))])
        self.assertEqual(self.journal.get("d", with_payload=True).document(), document)
        self.assertEqual(self.journal.get("r", with_payload=True).payload, b"xr")

    def test_unfinished_in_acceptance_order(self) -> None:
        jobs = [job(f"j{i}") for i in range(5)]
        self.journal.write([Insert(j) for j in jobs])
        jobs[1].transition(JobState.PRINTING, 101)
        self.journal.write([Update.of(jobs[1])])
        jobs[1].transition(JobState.PRINTED, 102)
        jobs[3].transition(JobState.HELD, 101)
        self.journal.write([Update.of(jobs[1]), Update.of(jobs[3])])
        self.assertEqual([j.id for j in self.journal.unfinished()], ["j0", "j2", "j3", "j4"])
        self.assertEqual([s for _, s, _ in self.journal.history(jobs[1].seq)],
                         ["queued", "printing", "printed"])

    def test_cleanup_by_age_and_count(self) -> None:
        jobs = [job(f"j{i}", created=float(i)) for i in range(10)]
        self.journal.write([Insert(j) for j in jobs])
        for j in jobs[:8]:
            j.transition(JobState.PRINTING, j.created)
            j.transition(JobState.PRINTED, j.created)
        self.journal.write([Update.of(j) for j in jobs[:8]])
        # Older than 3.0: j0-j2 go; keep at most 4 finished: j3 goes too.
        self.assertEqual(self.journal.cleanup(before=3.0, keep=4), 4)
        remaining = sorted(j.id for j in self.journal.recent(limit=100))
        self.assertEqual(remaining, ["j4", "j5", "j6", "j7", "j8", "j9"])
        # Unfinished jobs are never cleaned up, however old.
        self.assertEqual(self.journal.cleanup(before=1e9, keep=0), 4)
        self.assertEqual(sorted(j.id for j in self.journal.recent(limit=100)), ["j8", "j9"])

    def test_one_bad_insert_fails_alone(self) -> None:
        bad = Job(id="bad", printer="p", source="mqtt", kind=JobKind.DOCUMENT,
                  payload="not bytes", created=1.0)  # type: ignore[arg-type]
        results = self.journal.write([Insert(job("a")), Insert(bad), Insert(job("b"))])
        self.assertIsNone(results[0])
        self.assertIsInstance(results[1], TypeError)
        self.assertIsNone(results[2])
        self.assertEqual(sorted(j.id for j in self.journal.recent(limit=10)), ["a", "b"])
