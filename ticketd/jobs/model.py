"""Jobs and their state machine: plain objects, no reactor, no I/O.

A job is one print request for one printer. Every transport (WebSocket, MQTT) creates jobs
through the job manager and watches their states; the printer service moves them along.

States and transitions (anything not listed is refused with :class:`InvalidTransition`)::

    from \\ to   queued  held  printing  sent  printed  failed  cancelled  expired  interrupted
    (new)          x
    queued               x       x                        x        x         x
    held           x             x                        x        x         x
    printing       x                       x      x       x                            x
    sent           x                              x       x                            x
    printed, failed, cancelled, expired, interrupted: final

      new ──► queued ◄──► held          (a printer fault pauses the queue; Ready resumes it)
                │  ╲        │ ╲
                │   ╲───────┼──► cancelled | expired | failed (render error, hold timeout)
                ▼           ▼
             printing ──► printed | failed (I/O error, write timeout)
                │ ╲  ╲
                │  ╲  ╲──► sent ──► printed   (the printer confirmed: the paper is out)
                │   ╲       ╰─────► failed | queued | interrupted (lost by the printer; died)
                │    ╲──► queued     (retry after an I/O error, if configured)
                ▼
           interrupted                  (daemon died mid-write: nobody knows if it printed)

- ``queued → failed`` covers a document that does not validate or render: it never reaches
  the printer, so it never was ``printing``.
- ``held`` is the printer's hold carried by its waiting jobs in memory (``holds.py``): on
  disk such a job stays ``queued``, and the hold is one row for the printer.
- Every other change is on disk before the job takes it (``changes.py``).
- ``sent``: the printer has all of the job's bytes and the paper is not out yet; it is
  ``printed`` when the printer's in-order answer arrives (the printer's ``confirm``:
  ``process_id`` or ``gs_r``); an answer that comes with the write (within 50 ms: the
  paper was out already) takes ``printing → printed`` at once. Printers without one (``realtime``, ``none``) go from
  ``printing`` to ``printed`` as before. A ``sent`` job cannot be cancelled; the printer
  losing it (switched off while the paper was out) fails it; recorded before the answer
  and the daemon died: ``interrupted`` on restart (the answer went to the dead connection).
- ``printing → interrupted`` is only ever set on restart, by the job manager's recovery: a
  job recorded as printing when the process died. It is not reprinted unless the printer's
  config says ``reprint_interrupted = true``; then recovery takes ``printing → queued``.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ticketd import jsoncodec


class JobState(enum.Enum):
    QUEUED = "queued"
    HELD = "held"
    PRINTING = "printing"
    SENT = "sent"
    PRINTED = "printed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    INTERRUPTED = "interrupted"

    @property
    def final(self) -> bool:
        return self in FINAL

    @property
    def waiting(self) -> bool:
        """Still in the queue: may be cancelled, may expire."""
        return self in (JobState.QUEUED, JobState.HELD)

    @property
    def at_printer(self) -> bool:
        """Its bytes are going or went to the printer: it cannot be cancelled."""
        return self in (JobState.PRINTING, JobState.SENT)


FINAL = frozenset({JobState.PRINTED, JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED,
                   JobState.INTERRUPTED})

_S = JobState
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    _S.QUEUED: frozenset({_S.HELD, _S.PRINTING, _S.FAILED, _S.CANCELLED, _S.EXPIRED}),
    _S.HELD: frozenset({_S.QUEUED, _S.PRINTING, _S.FAILED, _S.CANCELLED, _S.EXPIRED}),
    _S.PRINTING: frozenset({_S.QUEUED, _S.SENT, _S.PRINTED, _S.FAILED, _S.INTERRUPTED}),
    _S.SENT: frozenset({_S.QUEUED, _S.PRINTED, _S.FAILED, _S.INTERRUPTED}),
}


class JobKind(enum.Enum):
    DOCUMENT = "document"  # a v1 print document (dict), rendered by ticketd
    RAW = "raw"            # ESC/POS bytes as sent by the client


def encode_document(document: Any) -> bytes:
    """A document as compact UTF-8 JSON, the form a document job keeps in memory and in
    the journal: one bytes object instead of hundreds of dicts and strings, so a backlog
    of thousands of receipts costs little memory and no long garbage-collector passes.
    Raises ValueError for text that UTF-8 cannot hold (a lone surrogate)."""
    return jsoncodec.dumps_compact(document)


class InvalidTransition(Exception):
    """A state change the machine does not allow (a bug or a race, never user input)."""


@attrs.define(eq=False)
class Job:
    """One print request and where it is in its life.

    Mutable on purpose: the job manager owns each Job and is the only writer; listeners get
    the job with each event and read it at once. Compared by identity: there is one Job
    object per job id in the daemon.
    """

    id: str
    printer: str
    source: str  # "ws" | "mqtt" | "cli" | "test"
    kind: JobKind
    #: ESC/POS for RAW; for DOCUMENT the document as UTF-8 JSON (encode_document). None
    #: once the job is finished (the journal keeps it) or when read without it.
    payload: bytes | None
    created: float
    state: JobState = JobState.QUEUED
    reason: str | None = None
    warnings: tuple[str, ...] = ()
    expires: float | None = None  # unix time after which it must not start printing
    updated: float = 0.0
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    bytes_written: int = 0
    seq: int = 0  # order of acceptance; queues resume in this order after a restart
    #: How long a printer fault may hold the job, in seconds: None = the printer's
    #: ``hold_timeout``; 0 = never held, a fault fails it at once (the original MQTT
    #: server's way, which tills rely on). Journaled: it survives a restart.
    hold: float | None = None
    held_since: float | None = None  # in memory only: when the current hold began
    reprint_of: str | None = None  # the finished job whose bytes this one prints again
    #: In memory only: the document was read and validated when it was submitted (its
    #: payload is the v1 document intake made of it), so rendering need not do it again.
    checked: bool = False

    def transition(self, new: JobState, at: float, reason: str | None = None) -> JobState:
        """Move to ``new``; returns the old state. Raises InvalidTransition."""
        old = self.state
        if new not in TRANSITIONS.get(old, frozenset()):
            raise InvalidTransition(f"job {self.id}: {old.value} -> {new.value}")
        self.state = new
        self.updated = at
        if reason is not None or new.final or new is JobState.QUEUED:
            self.reason = reason
        if new is JobState.HELD:
            self.held_since = self.held_since or at
        else:
            self.held_since = None
        if new is JobState.PRINTING:
            self.started = at
            self.attempts += 1
        if new.final:
            self.finished = at
        return old

    def document(self) -> Any:
        """A DOCUMENT job's document, parsed again (in the thread that renders it)."""
        if self.payload is None:
            raise ValueError(f"job {self.id}: its payload is not in memory")
        return jsoncodec.loads(bytes(self.payload))

    @property
    def never_held(self) -> bool:
        """A fault fails this job at once instead of holding it."""
        return self.hold == 0

    def hold_limit(self, printer_default: float) -> float:
        """Seconds this job may stay held."""
        return printer_default if self.hold is None else self.hold

    def expired_at(self, now: float) -> bool:
        return self.expires is not None and now >= self.expires

    @property
    def success(self) -> bool:
        return self.state is JobState.PRINTED

    def summary(self) -> dict[str, Any]:
        """The job as JSON-friendly data (journal queries, job_status, the dashboard)."""
        return {
            "id": self.id, "printer": self.printer, "source": self.source,
            "kind": self.kind.value, "state": self.state.value, "reason": self.reason,
            "warnings": list(self.warnings), "created": self.created,
            "updated": self.updated, "started": self.started, "finished": self.finished,
            "expires": self.expires, "attempts": self.attempts,
            "bytes": self.bytes_written,
            **({"reprint_of": self.reprint_of} if self.reprint_of is not None else {}),
        }


@attrs.frozen
class JobEvent:
    """A job changed state. ``progress`` is a human text such as "Waiting: Out of paper"."""

    job: Job
    old: JobState | None
    new: JobState
    progress: str | None = None

