"""Dashboard extensions of the WebSocket API (sans-IO, used by ``messages.Session``).

- ``{"tipo":"subscribe"}``: the connection gets a ``snapshot`` (every printer's state and
  its recent jobs) and from then on an ``event`` for every job change and printer change,
  so that the dashboard never polls. Events that happen while the snapshot is being read
  from the journal wait behind it: applied in order, snapshot + events are never stale.
- ``{"tipo":"validate","id":...,"datos":{document}}``: the document's categorized errors
  (``validation`` reply), computed in a thread, for validation as you type; with
  ``"strict": true`` what intake had to interpret is an error too.

Queue lengths change when jobs are enqueued, which happens just after the job's first event:
a printer's queue figures are therefore re-sent on the next reactor turn after job events,
coalesced per printer and only when they changed.
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ticketd.jobs.model import JobEvent
from ticketd.jobs.service import PrinterEvent, PrinterSnapshot, PrintService
from ticketd.web import replies
from ticketd.web.frames import BadRequest, safe_id
from ticketd.web.replies import Message

SNAPSHOT_JOBS = 200  # recent jobs in a snapshot, of every printer: the dashboard's list
MAX_PENDING = 5000  # events kept behind a snapshot being read (beyond: the feed restarts)
MAX_VALIDATING = 4  # validations in flight per connection


# --- messages -----------------------------------------------------------------------------

class Subscriber(Protocol):
    """What the feed needs of a connection (``messages.Session``)."""

    peer: str

    def send(self, message: Message) -> None: ...

    def fail(self, f: Any, request_id: str | None) -> None: ...


def printer_state(snap: PrinterSnapshot) -> dict[str, Any]:
    """One printer as the dashboard shows it: status and queue figures."""
    status = snap.status
    state: dict[str, Any] = {
        "name": snap.name, "connection": snap.connection,
        "status": status.text, "ok": status.ok, "paper_near_end": status.paper_near_end,
        "queue": snap.queue, "capacity": snap.capacity, "held": snap.held,
        "printing": snap.printing, "paused": snap.paused,
    }
    if status.detail:
        state["detail"] = status.detail
    return state


def job_event(event: JobEvent) -> Message:
    job = event.job
    message = replies.extension("event", f"job {job.id}: {job.state.value}", event="job",
                                job=job.summary(),
                                old=event.old.value if event.old is not None else None)
    if event.progress is not None:
        message["progress"] = event.progress
    return message


def hold_event(event: PrinterEvent, limit: int = SNAPSHOT_JOBS) -> Message:
    """A printer's hold took (or let go) its waiting jobs: one message, naming the most
    recent ``limit`` of them (those a dashboard shows); ``count`` says how many in all."""
    held = bool(event.held)
    jobs = event.held or event.resumed
    return replies.extension(
        "event", f"printer {event.printer}: {len(jobs)} jobs {'held' if held else 'resumed'}",
        event="hold", printer=event.printer, held=held, progress=event.progress,
        count=len(jobs), jobs=[j.id for j in jobs[-limit:]])


def printer_event(snap: PrinterSnapshot) -> Message:
    return replies.extension("event", f"printer {snap.name}: {snap.status.text}",
                             event="printer", printer=snap.name, state=printer_state(snap))


def snapshot(service: PrintService, limit: int = SNAPSHOT_JOBS) -> Deferred[Message]:
    """Every printer's state now and the ``limit`` most recent jobs from the journal."""
    printers = [printer_state(p) for p in service.printers()]

    def built(found: list[Any]) -> Message:
        jobs = [job.summary() for job in found]  # newest first
        return replies.extension("snapshot", f"{len(printers)} printer(s), {len(jobs)} recent "
                                 "job(s)", printers=printers, jobs=jobs)

    return service.recent(None, limit).addCallback(built)


def validation(request_id: str | None, errors: list[str]) -> Message:
    message = replies.extension("validation", f"{len(errors)} error(s)" if errors else "valid",
                                valid=not errors, errors=errors)
    if request_id is not None:
        message["id"] = request_id
    return message


# --- the live feed ------------------------------------------------------------------------

class Feed:
    """One subscribed connection: messages wait here until its snapshot has been sent.

    More than MAX_PENDING of them (an event storm during a slow journal read) are not
    kept: the backlog is dropped, and the snapshot being read, stale without it, is
    replaced by a fresh one once it arrives (``overflowed``). The client then gets one
    snapshot that is up to date, never one with a silent gap after it."""

    def __init__(self, session: Subscriber) -> None:
        self.session = session
        self.pending: list[Message] | None = []
        self.overflowed = False

    def push(self, message: Message) -> None:
        if self.pending is None:
            self.session.send(message)
        elif self.overflowed:
            return  # the fresh snapshot will include it
        elif len(self.pending) < MAX_PENDING:
            self.pending.append(message)
        else:
            self.pending = []
            self.overflowed = True

    def release(self, snap: Message) -> None:
        pending, self.pending = self.pending or [], None
        self.session.send(snap)
        for message in pending:
            self.session.send(message)


class Live:
    """The hub's side: who is subscribed, and what every event becomes for them."""

    log = Logger()

    def __init__(self, service: PrintService, clock: Any) -> None:
        self.service = service
        self.clock = clock
        self.feeds: dict[Subscriber, Feed] = {}
        self.validating: dict[Subscriber, int] = {}
        self._sent: dict[str, dict[str, Any]] = {}  # last printer state sent, per printer
        self._refresh: set[str] = set()  # printers whose queue figures may have changed

    def closed(self, session: Subscriber) -> None:
        self.feeds.pop(session, None)
        self.validating.pop(session, None)

    def publish(self, event: Any) -> None:
        """A job or printer event from the job manager: to every subscriber. Never raises
        (the hub routes results after this)."""
        if not self.feeds:
            return
        try:
            self._publish(event)
        except Exception:
            self.log.failure("dashboard: event {event!r} not published", event=event)

    def _publish(self, event: Any) -> None:
        if isinstance(event, JobEvent):
            self._broadcast(job_event(event))
            if not self._refresh:
                self.clock.callLater(0, self._refresh_printers)
            self._refresh.add(event.job.printer)
        else:
            if isinstance(event, PrinterEvent) and (event.held or event.resumed):
                self._broadcast(hold_event(event))
            snap = self.service.printer(getattr(event, "printer", None) or "")
            if snap is not None:
                self._send_printer(snap)

    def _broadcast(self, message: Message) -> None:
        shared = replies.Shared(message)  # one encoding, one frame, for every feed
        for feed in list(self.feeds.values()):
            feed.push(shared)

    def _send_printer(self, snap: PrinterSnapshot, only_if_changed: bool = False) -> None:
        message = printer_event(snap)
        if only_if_changed and self._sent.get(snap.name) == message["state"]:
            return
        self._sent[snap.name] = message["state"]
        self._broadcast(message)

    def _refresh_printers(self) -> None:
        """Logged if it fails: the next job event schedules it again."""
        names, self._refresh = self._refresh, set()
        try:
            for name in sorted(names):
                snap = self.service.printer(name)
                if snap is not None and self.feeds:
                    self._send_printer(snap, only_if_changed=True)
        except Exception:
            self.log.failure("dashboard: queue figures not refreshed",
                             periodic_task="dashboard refresh")

    # --- commands (called by Session.dispatch) -------------------------------------------

    def subscribe(self, session: Subscriber, message: dict[str, Any]) -> None:
        self._start(session, safe_id(message))

    def _start(self, session: Subscriber, request_id: str | None) -> None:
        """Read a snapshot for ``session``; events wait behind it in a new Feed."""
        feed = Feed(session)
        self.feeds[session] = feed  # before reading: nothing that happens next is missed

        def ready(snap: Message) -> None:
            if self.feeds.get(session) is not feed:
                return  # closed, or subscribed again meanwhile
            if feed.overflowed:
                self.log.info("dashboard {peer}: more than {n} events while its snapshot "
                              "was read: reading a fresh one", peer=session.peer,
                              n=MAX_PENDING)
                self._start(session, request_id)
                return
            if request_id is not None:
                snap["id"] = request_id
            feed.release(snap)
            for p in self.service.printers():
                self._sent.setdefault(p.name, printer_state(p))

        def failed(f: Any) -> None:
            if self.feeds.get(session) is feed:
                del self.feeds[session]
            session.fail(f, request_id)

        snapshot(self.service).addCallbacks(ready, failed)

    def validate(self, session: Subscriber, message: dict[str, Any]) -> None:
        request_id = safe_id(message)
        datos = message.get("datos")
        if datos is None:
            raise BadRequest("Field 'datos' is required for type 'validate'", request_id)
        if self.validating.get(session, 0) >= MAX_VALIDATING:
            raise BadRequest("Too many validations in progress: wait for their replies",
                             request_id)
        self.validating[session] = self.validating.get(session, 0) + 1

        def done(errors: list[str]) -> None:
            session.send(validation(request_id, list(errors)))

        def settle(result: Any) -> Any:
            if session in self.validating:
                self.validating[session] -= 1
            return result

        if message.get("strict") is True:
            d = self.service.validate(datos, strict=True)
        else:
            d = self.service.validate(datos)
        d.addBoth(settle)
        d.addCallbacks(done, lambda f: session.fail(f, request_id))


__all__ = ["Live", "Feed", "Subscriber", "snapshot", "printer_state", "job_event",
           "printer_event", "validation"]
