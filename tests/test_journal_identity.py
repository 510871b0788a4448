"""The journal knows itself: ``open_journal`` against the state directory's journal.id.

A first start creates both; a journal that is missing, empty, truncated, garbage or
another directory's where the id file says one existed is refused with one line naming
the file, never opened empty."""

from __future__ import annotations

import shutil
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from ticketd.jobs.journal import ID_NAME, JOURNAL_NAME, Insert, Journal, open_journal
from ticketd.jobs.model import Job, JobKind
from ticketd.state_lock import StateError, StateLock


def job(i: int) -> Job:
    return Job(id=f"j{i}", printer="p", source="test", kind=JobKind.RAW,
               payload=b"x" * 2000, created=1.0, updated=1.0)


class IdentityTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.dir = Path(self.mktemp())
        self.dir.mkdir()
        self.path = self.dir / JOURNAL_NAME
        self.id_path = self.dir / ID_NAME

    def first_start(self, jobs: int = 0) -> str:
        journal = open_journal(self.dir)
        journal.write([Insert(job(i)) for i in range(jobs)])
        ident = journal.identity()
        journal._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        journal.close()
        assert ident is not None
        return ident

    def refusal(self) -> str:
        with self.assertRaises(StateError) as caught:
            open_journal(self.dir).close()
        line = str(caught.exception)
        self.assertNotIn("\n", line)
        self.assertTrue(line.startswith(str(self.path)), line)
        return line

    def test_first_start_creates_both(self) -> None:
        ident = self.first_start()
        self.assertEqual(self.id_path.read_text().strip(), ident)
        again = open_journal(self.dir)
        self.addCleanup(again.close)
        self.assertEqual(again.identity(), ident)

    def test_a_journal_from_before_ids_is_adopted(self) -> None:
        Journal(self.path).close()
        journal = open_journal(self.dir)
        self.addCleanup(journal.close)
        self.assertEqual(self.id_path.read_text().strip(), journal.identity())

    def test_deleted(self) -> None:
        self.first_start()
        self.path.unlink()
        line = self.refusal()
        self.assertIn("missing", line)
        self.assertIn(f"remove {self.id_path}", line)
        self.assertFalse(self.path.exists())  # not recreated empty

    def test_emptied(self) -> None:
        self.first_start()
        self.path.write_bytes(b"")
        self.assertIn("empty", self.refusal())

    def test_truncated(self) -> None:
        self.first_start(jobs=200)
        data = self.path.read_bytes()
        self.path.write_bytes(data[: len(data) // 2])
        self.assertIn("corrupt or unreadable", self.refusal())

    def test_garbage(self) -> None:
        self.first_start()
        self.path.write_bytes(b"\x00garbage" * 4096)
        self.assertIn("corrupt or unreadable", self.refusal())

    def test_foreign(self) -> None:
        self.first_start()
        other = Path(self.mktemp())
        other.mkdir()
        open_journal(other).close()
        shutil.copy(other / JOURNAL_NAME, self.path)
        self.assertIn("this is not the journal", self.refusal())

    def test_closing_the_journal_releases_the_lock(self) -> None:
        lock = StateLock(self.dir)
        lock.acquire()
        journal = open_journal(self.dir, lock=lock)
        second = StateLock(self.dir)
        self.assertRaises(StateError, second.acquire)
        journal.close()
        second.acquire()
        second.release()
