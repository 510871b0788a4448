"""The job journal: every job and every state change, in SQLite, before anyone is told.

Blocking code with no Twisted in it; the daemon runs it in one dedicated thread through
:class:`ticketd.jobs.commit.GroupCommitter`, which batches the changes made while the
previous transaction was being written into the next transaction (group commit).

WAL mode. ``synchronous=FULL`` (the default, ``[state] sync = "full"``) fsyncs the WAL at
each commit: an acked job survives a power cut; group commit makes it one fsync a batch. ``sync = "normal"`` only survives a crash of the process (kill -9): the WAL is
in the OS, not yet on the disk, when the commit returns.

The journal knows itself: an id in its ``meta`` table, repeated in ``journal.id`` beside
it. :func:`open_journal` refuses a journal that is missing, empty, foreign or unreadable
where the id file says one existed, rather than starting empty and forgetting jobs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Iterable, Sequence

import attrs

from ticketd.jobs.model import Job, JobKind, JobState
from ticketd.state_lock import StateError, StateLock

JOURNAL_NAME = "journal.sqlite3"
ID_NAME = "journal.id"
SYNC_MODES = ("full", "normal")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    printer TEXT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload BLOB,
    state TEXT NOT NULL,
    reason TEXT,
    warnings TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    started REAL,
    finished REAL,
    expires REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    hold REAL,
    reprint_of TEXT
);
DROP INDEX IF EXISTS jobs_open;
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs (state)
    WHERE state IN ('queued','held','printing','sent');
CREATE INDEX IF NOT EXISTS jobs_printer ON jobs (printer, seq);
CREATE INDEX IF NOT EXISTS jobs_updated ON jobs (updated);
CREATE TABLE IF NOT EXISTS events (
    job_seq INTEGER NOT NULL,
    at REAL NOT NULL,
    state TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_seq);
CREATE TABLE IF NOT EXISTS holds (
    printer TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

#: What one record can cause; anything else (a full disk, an I/O error, a read-only file:
#: sqlite3.OperationalError) is the journal's condition and fails the whole batch.
_BAD_RECORD = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError,
               sqlite3.ProgrammingError, ValueError, TypeError, OverflowError)

_COLUMNS = ("seq, id, printer, source, kind, payload, state, reason, warnings, created, "
            "updated, started, finished, expires, attempts, bytes, hold, reprint_of")
#: Columns added after the first release: (name, type), added to an older journal on open.
_ADDED_COLUMNS = (("hold", "REAL"), ("reprint_of", "TEXT"))


@attrs.frozen
class Insert:
    """Record a new job. If its id is already known, nothing is written and the batch
    result for it is the existing job (idempotency decided atomically by SQLite)."""

    job: Job


@attrs.frozen
class Update:
    """Record a job's new state (copied from the Job at the time the change was made)."""

    seq: int
    state: JobState
    reason: str | None
    warnings: tuple[str, ...]
    updated: float
    started: float | None
    finished: float | None
    attempts: int
    bytes_written: int

    @classmethod
    def of(cls, job: Job) -> "Update":
        return cls(job.seq, job.state, job.reason, job.warnings, job.updated, job.started,
                   job.finished, job.attempts, job.bytes_written)


@attrs.frozen
class PrinterHold:
    """Record that a printer's queue is held since ``since`` for ``reason`` (None: it is
    not held any more). One row per printer, however many jobs wait behind the fault: the
    jobs carry the hold by reference (the job manager marks them in memory)."""

    printer: str
    reason: str | None
    since: float | None = None


@attrs.frozen
class Barrier:
    """Writes nothing; its Deferred fires once every change submitted before it is on disk."""


BARRIER = Barrier()
Change = Insert | Update | PrinterHold | Barrier


def _payload(blob: bytes | None) -> bytes | None:
    return None if blob is None else bytes(blob)


def _job(row: Sequence[object], with_payload: bool = True) -> Job:
    (seq, id_, printer, source, kind, payload, state, reason, warnings, created, updated,
     started, finished, expires, attempts, nbytes, hold, reprint_of) = row
    k = JobKind(kind)
    return Job(id=id_, printer=printer, source=source, kind=k,
               payload=_payload(payload) if with_payload else None,  # type: ignore[arg-type]
               created=created, state=JobState(state), reason=reason,
               warnings=tuple(json.loads(warnings)), expires=expires, updated=updated,
               started=started, finished=finished, attempts=attempts, bytes_written=nbytes,
               seq=seq, hold=hold, reprint_of=reprint_of)


class Journal:
    """One SQLite database; use from a single thread at a time."""

    def __init__(self, path: Path, sync: str = "full", lock: StateLock | None = None) -> None:
        """``lock``: the state directory's lock, released when the journal is closed."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = lock
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
            self._db.executescript(SCHEMA)
            self._add_columns()
        except BaseException:
            self._db.close()
            raise

    def _add_columns(self) -> None:
        """A journal written by an older ticketd lacks the newer columns: add them (empty),
        so its jobs are recovered, not lost."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for name, kind in _ADDED_COLUMNS:
            if name not in have:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self._db.close()
        if self.lock is not None:
            self.lock.release()

    def identity(self) -> str | None:
        """The journal's id (None: a journal made before ids, or a new one)."""
        row = self._db.execute("SELECT value FROM meta WHERE key='id'").fetchone()
        return str(row[0]) if row else None

    def set_identity(self, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('id', ?)", (value,))

    def check(self) -> None:
        """Raise sqlite3.DatabaseError if the file is damaged (a truncated copy...)."""
        found = self._db.execute("PRAGMA quick_check").fetchone()
        if found is None or found[0] != "ok":
            raise sqlite3.DatabaseError(str(found[0]) if found else "quick_check failed")

    def write(self, changes: Iterable[Change]) -> list[Job | Exception | None]:
        """Apply ``changes`` in one transaction. For each Insert the result is None when the
        job was recorded (its ``seq`` is set on the Job), the existing Job when the id was
        already there, or the exception that refused it (only that Insert is undone: one
        bad job never sinks the others in its batch); for each Update it is None.

        Updates go in with one ``executemany`` after the inserts: an Update is only ever
        made for a job whose Insert was committed before (it needs the job's ``seq``), so
        the two never touch the same row in one batch.
        """
        db = self._db
        results: list[Job | Exception | None] = []
        rows: list[tuple[object, ...]] = []
        events: list[tuple[object, ...]] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            for c in changes:
                if isinstance(c, Insert):
                    results.append(self._insert_alone(c.job))
                    continue
                if isinstance(c, Update):
                    rows.append((c.state.value, c.reason,
                                 json.dumps(list(c.warnings)) if c.warnings else "[]",
                                 c.updated, c.started, c.finished, c.attempts,
                                 c.bytes_written, c.seq))
                    events.append((c.seq, c.updated, c.state.value, c.reason))
                elif isinstance(c, PrinterHold):
                    self._hold(c)
                results.append(None)
            if rows:
                db.executemany("UPDATE jobs SET state=?, reason=?, warnings=?, updated=?, "
                               "started=?, finished=?, attempts=?, bytes=? WHERE seq=?", rows)
                db.executemany("INSERT INTO events VALUES (?,?,?,?)", events)
            db.execute("COMMIT")
        except BaseException:
            _roll_back(db)
            raise
        return results

    def _hold(self, c: PrinterHold) -> None:
        if c.reason is None:
            self._db.execute("DELETE FROM holds WHERE printer=?", (c.printer,))
        else:  # a new fault on a held printer keeps the hold's start
            self._db.execute("INSERT INTO holds VALUES (?,?,?) ON CONFLICT(printer) DO "
                             "UPDATE SET reason=excluded.reason", (c.printer, c.reason, c.since))

    def holds(self) -> dict[str, float]:
        """The held printers and since when: a restart keeps counting ``hold_timeout``."""
        return {p: since for p, since in
                self._db.execute("SELECT printer, since FROM holds").fetchall()}

    def _insert_alone(self, job: Job) -> Job | Exception | None:
        self._db.execute("SAVEPOINT one_job")
        try:
            result = self._insert(job)
        except _BAD_RECORD as e:  # a bad record fails alone; a full disk fails the batch
            self._db.execute("ROLLBACK TO one_job")
            self._db.execute("RELEASE one_job")
            return e
        self._db.execute("RELEASE one_job")
        return result

    def _insert(self, job: Job) -> Job | None:
        cur = self._db.execute(
            f"INSERT INTO jobs ({_COLUMNS}) VALUES (NULL,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(id) DO NOTHING",
            (job.id, job.printer, job.source, job.kind.value, bytes(job.payload),
             job.state.value, job.reason, json.dumps(list(job.warnings)), job.created,
             job.updated or job.created, job.started, job.finished, job.expires,
             job.attempts, job.bytes_written, job.hold, job.reprint_of))
        if cur.rowcount == 0:
            return self.get(job.id)
        job.seq = int(cur.lastrowid or 0)  # the first state is the row's (created, state)
        return None

    def get(self, job_id: str, with_payload: bool = False) -> Job | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id=?", (job_id,)).fetchone()
        return _job(row, with_payload) if row else None

    def unfinished(self) -> list[Job]:
        """Jobs still queued, held, printing or sent, in the order they were accepted."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE state IN ('queued','held','printing','sent') "
            "ORDER BY seq").fetchall()
        return [_job(r) for r in rows]

    def recent(self, printer: str | None = None, limit: int = 50) -> list[Job]:
        if printer is None:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE printer=? ORDER BY seq DESC LIMIT ?",
                (printer, limit))
        return [_job(r, with_payload=False) for r in rows.fetchall()]

    def history(self, seq: int) -> list[tuple[float, str, str | None]]:
        """Every state of the job with its time: the accepted state from the job's row,
        then each recorded change."""
        first = self._db.execute("SELECT created FROM jobs WHERE seq=?", (seq,)).fetchone()
        changes = [tuple(r) for r in self._db.execute(
            "SELECT at, state, reason FROM events WHERE job_seq=? ORDER BY rowid", (seq,))]
        return ([(first[0], "queued", None)] if first else []) + changes  # type: ignore[list-item]

    def cleanup(self, before: float, keep: int) -> int:
        """Forget final jobs older than ``before``, and any beyond the newest ``keep``."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            final = "state NOT IN ('queued','held','printing','sent')"
            cut = db.execute(f"SELECT seq FROM jobs WHERE {final} ORDER BY seq DESC "
                             "LIMIT 1 OFFSET ?", (keep,)).fetchone()
            cond = f"{final} AND (updated < ?" + (" OR seq <= ?)" if cut else ")")
            args: tuple[float, ...] = (before, cut[0]) if cut else (before,)
            db.execute(f"DELETE FROM events WHERE job_seq IN (SELECT seq FROM jobs WHERE {cond})",
                       args)
            n = db.execute(f"DELETE FROM jobs WHERE {cond}", args).rowcount
            db.execute("COMMIT")
        except BaseException:
            _roll_back(db)
            raise
        return n


def _roll_back(db: sqlite3.Connection) -> None:
    """Undo a failed transaction, unless SQLite already did (a full disk or an I/O error
    at COMMIT rolls back by itself): the error worth logging is the one that failed it."""
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def _fresh_hint(id_path: Path) -> str:
    return (f"to start with an empty journal on purpose, remove {id_path} and the journal "
            "files")


def open_journal(directory: Path, sync: str = "full",
                 lock: StateLock | None = None) -> Journal:
    """The state directory's journal, checked against ``journal.id``; raises StateError
    (one line) for a journal that must not be used. A first start creates both."""
    path = directory / JOURNAL_NAME
    id_path = directory / ID_NAME
    try:
        expected = id_path.read_text(encoding="ascii").strip() if id_path.exists() else None
    except (OSError, UnicodeError) as e:
        raise StateError(f"{id_path}: cannot be read: {e}") from None
    if expected is not None:
        if not path.exists():
            raise StateError(f"{path}: the journal is missing but {id_path} says it existed "
                             f"(journal {expected}); restore it, or {_fresh_hint(id_path)}")
        if path.stat().st_size == 0:
            raise StateError(f"{path}: the journal is empty but {id_path} says it held "
                             f"journal {expected}; restore it, or {_fresh_hint(id_path)}")
    try:
        journal = Journal(path, sync, lock=None)
    except sqlite3.Error as e:
        raise StateError(f"{path}: the journal is corrupt or unreadable ({e}); restore it, "
                         f"or {_fresh_hint(id_path)}") from None
    try:
        journal.check()
        found = journal.identity()
        if expected is None:
            if found is None:
                found = uuid.uuid4().hex
                journal.set_identity(found)
            _write_id(id_path, found)
        elif found != expected:
            raise StateError(f"{path}: this is not the journal {id_path} names (found "
                             f"{found or 'no id'}, expected {expected}); restore the right "
                             f"one, or {_fresh_hint(id_path)}")
    except sqlite3.Error as e:
        journal.close()
        raise StateError(f"{path}: the journal is corrupt or unreadable ({e}); restore it, "
                         f"or {_fresh_hint(id_path)}") from None
    except BaseException:
        journal.close()
        raise
    journal.lock = lock
    return journal


def _write_id(id_path: Path, value: str) -> None:
    """Write the id file whole or not at all, and on disk before the first job."""
    tmp = id_path.with_name(id_path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, f"{value}\n".encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, id_path)
        dfd = os.open(id_path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as e:
        raise StateError(f"{id_path}: cannot be written: {e.strerror or e}") from None
