"""The job journal: every job and every state change, in SQLite, before anyone is told.

Blocking code with no Twisted in it; the daemon runs it in one dedicated thread through
:class:`ticketd.jobs.commit.GroupCommitter`, which batches the changes made while the
previous transaction was being written into the next transaction (group commit).

WAL mode. ``synchronous=NORMAL`` (the default, ``[state] sync = "normal"``) makes each
commit safe against a crash of the process (kill -9): the WAL is in the OS before the
commit returns. ``sync = "full"`` also survives power loss, at the price of an fsync per
transaction.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

import attrs

from ticketd.jobs.model import Job, JobKind, JobState

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
    hold REAL
);
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (state) WHERE state IN ('queued','held','printing');
CREATE INDEX IF NOT EXISTS jobs_printer ON jobs (printer, seq);
CREATE INDEX IF NOT EXISTS jobs_updated ON jobs (updated);
CREATE TABLE IF NOT EXISTS events (
    job_seq INTEGER NOT NULL,
    at REAL NOT NULL,
    state TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_seq);
"""

_COLUMNS = ("seq, id, printer, source, kind, payload, state, reason, warnings, created, "
            "updated, started, finished, expires, attempts, bytes, hold")
#: Columns added after the first release: (name, type), added to an older journal on open.
_ADDED_COLUMNS = (("hold", "REAL"),)


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
class Barrier:
    """Writes nothing; its Deferred fires once every change submitted before it is on disk."""


BARRIER = Barrier()
Change = Insert | Update | Barrier


def _payload(blob: bytes | None) -> bytes | None:
    return None if blob is None else bytes(blob)


def _job(row: Sequence[object], with_payload: bool = True) -> Job:
    (seq, id_, printer, source, kind, payload, state, reason, warnings, created, updated,
     started, finished, expires, attempts, nbytes, hold) = row
    k = JobKind(kind)
    return Job(id=id_, printer=printer, source=source, kind=k,
               payload=_payload(payload) if with_payload else None,  # type: ignore[arg-type]
               created=created, state=JobState(state), reason=reason,
               warnings=tuple(json.loads(warnings)), expires=expires, updated=updated,
               started=started, finished=finished, attempts=attempts, bytes_written=nbytes,
               seq=seq, hold=hold)


class Journal:
    """One SQLite database; use from a single thread at a time."""

    def __init__(self, path: Path, sync: str = "normal") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
        self._db.executescript(SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        """A journal written by an older ticketd lacks the newer columns: add them (empty),
        so its jobs are recovered, not lost."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for name, kind in _ADDED_COLUMNS:
            if name not in have:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self._db.close()

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
                results.append(None)
            if rows:
                db.executemany("UPDATE jobs SET state=?, reason=?, warnings=?, updated=?, "
                               "started=?, finished=?, attempts=?, bytes=? WHERE seq=?", rows)
                db.executemany("INSERT INTO events VALUES (?,?,?,?)", events)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return results

    def _insert_alone(self, job: Job) -> Job | Exception | None:
        self._db.execute("SAVEPOINT one_job")
        try:
            result = self._insert(job)
        except (sqlite3.Error, ValueError, TypeError) as e:  # a bad record fails alone
            self._db.execute("ROLLBACK TO one_job")
            self._db.execute("RELEASE one_job")
            return e
        self._db.execute("RELEASE one_job")
        return result

    def _insert(self, job: Job) -> Job | None:
        cur = self._db.execute(
            f"INSERT INTO jobs ({_COLUMNS}) VALUES (NULL,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(id) DO NOTHING",
            (job.id, job.printer, job.source, job.kind.value, bytes(job.payload),
             job.state.value, job.reason, json.dumps(list(job.warnings)), job.created,
             job.updated or job.created, job.started, job.finished, job.expires,
             job.attempts, job.bytes_written, job.hold))
        if cur.rowcount == 0:
            return self.get(job.id)
        job.seq = int(cur.lastrowid or 0)  # the first state is the row's (created, state)
        return None

    def get(self, job_id: str, with_payload: bool = False) -> Job | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id=?", (job_id,)).fetchone()
        return _job(row, with_payload) if row else None

    def unfinished(self) -> list[Job]:
        """Jobs still queued, held or printing, in the order they were accepted."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE state IN ('queued','held','printing') "
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
            final = "state NOT IN ('queued','held','printing')"
            cut = db.execute(f"SELECT seq FROM jobs WHERE {final} ORDER BY seq DESC "
                             "LIMIT 1 OFFSET ?", (keep,)).fetchone()
            cond = f"{final} AND (updated < ?" + (" OR seq <= ?)" if cut else ")")
            args: tuple[float, ...] = (before, cut[0]) if cut else (before,)
            db.execute(f"DELETE FROM events WHERE job_seq IN (SELECT seq FROM jobs WHERE {cond})",
                       args)
            n = db.execute(f"DELETE FROM jobs WHERE {cond}", args).rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return n
