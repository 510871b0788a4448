"""The WebSocket API's message handling, without sockets (docs/protocol.rst, "WebSocket
API").

A :class:`Hub` (one per server, its routing in ``routing.py``) holds what all connections share: the print
service, the tokens, the rate limit, and the routing of each job's news to the connections
waiting for it. A :class:`Session` (one per connection) turns each incoming frame into a command
and its replies, handed to a ``send(dict)`` callback; ``ws.py`` only moves bytes.

Bad input never raises: each frame gets exactly one immediate reply (plus a later
``result`` for an accepted job), and a frame that is refused leaves nothing behind.
"""

from __future__ import annotations

import base64
import binascii
import collections
import uuid
from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ticketd.jobs.model import Job, JobKind
from ticketd.jobs.service import CancelResult, SubmitError, Submission
from ticketd.web import replies
from ticketd.web.access import BAD_ADMIN_TOKEN, OwnJobs, tokens_match
from ticketd.web import operator
from ticketd.web.frames import (BadRequest, Refused, deadline_of, decode, job_id_of, safe_id,
                                show)
from ticketd.web.routing import Routing
from ticketd.web.ratelimit import TokenBucket
from ticketd.web.replies import Message

#: Messages that change or reveal jobs need the token; ``status``, ``ping`` and
#: ``get_printers`` do not (Ticket Daemon's schema allows ``auth_token`` only on ``ticket``).
NEEDS_TOKEN = frozenset({"ticket", "raw", "cancel", "job_status", "subscribe",
                         *operator.COMMANDS})
#: Other clients' jobs need the admin token (access.py): not a cancel of one's own job.
NEEDS_ADMIN = frozenset({"subscribe", "cancel", *operator.COMMANDS})
Send = Callable[[Message], None]


class Hub(Routing):
    """One per server: opens a Session per connection."""

    def open(self, send: Send, peer: str = "", *, authenticated: bool = False) -> Session:
        """A new connection: the ``info`` greeting is sent at once."""
        session = Session(self, send, peer, authenticated=authenticated)
        self.sessions.add(session)
        session.send(replies.info())
        return session


class Session:
    """One connection: each frame in, its replies out through ``send``."""

    log = Logger()

    def __init__(self, hub: Hub, send: Send, peer: str = "", *,
                 authenticated: bool = False) -> None:
        self.hub = hub
        self._send = send
        self.peer = peer
        self.authenticated = authenticated
        self.open = True
        self.jobs: set[str] = set()  # ids whose result this connection waits for
        self.own = OwnJobs()  # ids this connection sent: it may cancel them
        self._unacked: collections.Counter[str] = collections.Counter()
        self._held: dict[str, list[Message]] = {}  # news of a job that came before its ack
        self.bucket = (TokenBucket(hub.rate_limit, hub.clock.seconds())
                       if hub.rate_limit > 0 else None)

    def send(self, message: Message) -> None:
        if self.open:
            self._send(message)

    def close(self) -> None:
        self.open = False
        self.hub.closed(self)

    # --- frames ----------------------------------------------------------------------------

    def received(self, frame: bytes | str, binary: bool = False) -> None:
        """Handle one frame; never raises (a bug in a command answers INTERNAL)."""
        message: dict[str, Any] = {}
        try:
            if binary:
                raise BadRequest(replies.BINARY)
            message = self.hub.service.stages.run("ws.parse", decode, frame)
            self.dispatch(message)
        except Refused as e:
            self._audit(show(message.get("tipo")), e.job_id, e.reason, str(e))
            self.send(replies.error(str(e), e.job_id))
        except BadRequest as e:
            self.log.info("ws {peer}: refused {tipo}: {why}", peer=self.peer,
                          tipo=show(message.get("tipo")), why=str(e))
            self.send(replies.error(str(e), e.job_id))
        except Exception:
            self.log.failure("ws {peer}: error handling a message", peer=self.peer)
            self.send(replies.error(replies.INTERNAL, safe_id(message)))

    def _audit(self, tipo: str, job_id: str | None, reason: str, why: str) -> None:
        self.log.warn("ws {peer}: {tipo} refused ({reason}): {why}", peer=self.peer,
                      tipo=tipo, reason=reason, why=why, job=job_id, audit=True)

    def dispatch(self, message: dict[str, Any]) -> None:
        tipo = message.get("tipo")
        if tipo is None:
            raise BadRequest("Field 'tipo' is required", safe_id(message))
        handler = self.COMMANDS.get(tipo) if isinstance(tipo, str) else None
        if handler is None:
            raise BadRequest(f"Unknown message type: {show(tipo)}", safe_id(message))
        if tipo in NEEDS_TOKEN and not self.authenticated and self.hub.auth_token is not None:
            if not self.hub.token_ok(message.get("auth_token")):
                raise Refused(replies.BAD_TOKEN, safe_id(message), "auth_failed")
        job_id, admin = safe_id(message), self.hub.admin_token
        own = tipo == "cancel" and (job_id is None or job_id in self.own)
        if tipo in NEEDS_ADMIN and admin is not None and not own:
            if not tokens_match(message.get("admin_token"), admin):
                raise Refused(BAD_ADMIN_TOKEN, job_id, "auth_failed")
        handler(self, message)

    # --- commands --------------------------------------------------------------------------

    def ping(self, message: dict[str, Any]) -> None:
        ping_id = message.get("id")
        self.send(replies.pong(ping_id if isinstance(ping_id, (str, int, float)) else None))

    def status(self, message: dict[str, Any]) -> None:
        datos = message.get("datos")
        name = datos.get("printer") if isinstance(datos, dict) else None
        request_id = safe_id(message)
        if isinstance(name, str):  # extension: one printer's figures
            snap = self.hub.service.printer(self._printer(name, request_id, explicit=True))
            assert snap is not None
            self.send(replies.queue_status(snap.queue, snap.capacity, request_id,
                                           printer=snap.name))
            return
        snaps = self.hub.service.printers()  # the totals, as /health has them
        self.send(replies.queue_status(
            sum(p.queue for p in snaps), sum(p.capacity for p in snaps), request_id,
            printers=[{"name": p.name, "current": p.queue, "capacity": p.capacity,
                       "status": p.status.text} for p in snaps]))

    def ticket(self, message: dict[str, Any]) -> None:
        job_id = job_id_of(message, required=False)
        datos = message.get("datos")
        if datos is None:
            raise BadRequest("Field 'datos' is required for type 'ticket'", job_id)
        if not isinstance(datos, dict):
            raise BadRequest("Field 'datos' must be a JSON object (a print document)", job_id)
        profile = datos.get("profile")
        model = profile.get("model") if isinstance(profile, dict) else None
        printer = self._printer(model if isinstance(model, str) else None, job_id)
        self._submit(job_id, "ticket", self._print(message, job_id, printer, JobKind.DOCUMENT,
                                                   datos))

    def raw(self, message: dict[str, Any]) -> None:
        job_id = job_id_of(message, required=False)
        datos = message.get("datos")
        if datos is None:
            raise BadRequest("Field 'datos' is required for type 'raw'", job_id)
        if not isinstance(datos, dict) or not isinstance(datos.get("data"), str):
            raise BadRequest("RAW: 'datos' must be an object with 'data' (base64 ESC/POS)",
                             job_id)
        try:
            data = base64.b64decode(datos["data"], validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("RAW: 'datos.data' is not valid base64", job_id) from None
        if not data:
            raise BadRequest("RAW: 'datos.data' is empty", job_id)
        name = datos.get("printer")
        if name is not None and not isinstance(name, str):
            raise BadRequest("Field 'datos.printer' must be a string", job_id)
        printer = self._printer(name, job_id, explicit=True)
        self._submit(job_id, "raw", self._print(message, job_id, printer, JobKind.RAW, data))

    def job_status(self, message: dict[str, Any]) -> None:
        job_id = job_id_of(message, required=True)
        assert job_id is not None

        def found(job: Job | None) -> None:
            if job is None:
                self.send(replies.error(f"Unknown job id: {job_id}", job_id))
                return
            service = self.hub.service
            self.send(replies.job_state(job, service.position(job), service.waiting(job)))

        self._later(self.hub.service.job(job_id), found, job_id)

    def cancel(self, message: dict[str, Any]) -> None:
        job_id = job_id_of(message, required=True)
        assert job_id is not None
        waiting = job_id in self.jobs
        if waiting:  # one answer for the canceller: the job's result below
            self.hub.unwait(job_id, self)
            self.jobs.discard(job_id)

        def done(outcome: CancelResult) -> None:  # self.open: closed meanwhile, never re-wait
            if outcome.cancelled and outcome.job is not None:
                self.send(replies.result(outcome.job))  # error, "CANCELLED: ...", state
                return
            job = outcome.job
            if waiting and self.open and job is not None and not job.state.final:
                self.hub.wait(job_id, self)  # too late to cancel: the result still comes
                self.jobs.add(job_id)
            elif waiting and job is not None:
                self.send(replies.result(job))
            self.send(replies.error(outcome.message, job_id))

        self._later(self.hub.service.cancel(job_id), done, job_id)

    def get_printers(self, message: dict[str, Any]) -> None:
        def listed(found: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
            self.send(replies.printers(*found))

        self._later(self.hub.service.discover(), listed, None)

    def subscribe(self, message: dict[str, Any]) -> None:
        self.hub.live.subscribe(self, message)

    def validate(self, message: dict[str, Any]) -> None:
        self.hub.live.validate(self, message)

    COMMANDS: dict[str, Callable[[Session, dict[str, Any]], None]] = {
        "ticket": ticket, "raw": raw, "status": status, "ping": ping,
        "get_printers": get_printers, "job_status": job_status, "cancel": cancel,
        "subscribe": subscribe, "validate": validate, **operator.COMMANDS,
    }

    # --- helpers ---------------------------------------------------------------------------

    def _printer(self, name: str | None, job_id: str | None, explicit: bool = False) -> str:
        """The configured printer that ``name`` (model, name or alias) routes to. An
        ``explicit`` name (``datos.printer``) must exist: no fallback to the default."""
        service = self.hub.service
        if explicit and name is not None:
            if service.printer_named(name) is None:
                known = ", ".join(service.names())
                raise Refused(f"PRINTER: unknown printer {name!r}; configured printers: "
                              f"{known}", job_id, "unknown_printer")
        try:
            return service.route(name)
        except SubmitError as e:
            raise Refused(str(e), job_id, e.audit or "unavailable") from None

    def _print(self, message: dict[str, Any], job_id: str | None, printer: str,
               kind: JobKind, payload: Any) -> Callable[[str], Deferred[Submission]]:
        """How a ``ticket`` or ``raw`` job is submitted, with its deadline."""
        expires = deadline_of(message, self.hub.clock.seconds(), job_id)
        return lambda job_id: self.hub.service.submit(
            job_id=job_id, printer=printer, source="ws", kind=kind, payload=payload,
            expires=expires)

    def _submit(self, job_id: str | None, tipo: str,
                submit: Callable[[str], Deferred[Submission]]) -> None:
        """Submit a job (``submit(job_id)``): ``ack`` or ``error``, later its ``result``."""
        if self.bucket is not None and not self.bucket.take(self.hub.clock.seconds()):
            raise Refused(replies.RATE_LIMITED, job_id, "rate_limited")
        job_id = job_id or uuid.uuid4().hex
        newly = job_id not in self.jobs
        # Wait before submitting: with an idle printer the job may end before the ack.
        self.hub.wait(job_id, self)
        self.jobs.add(job_id)
        self._unacked[job_id] += 1
        d = submit(job_id)

        def accepted(sub: Submission) -> None:
            job = sub.job
            if not sub.duplicate:
                self.own.add(job_id)
            self.send(replies.ack(job_id, printer=job.printer, current=sub.current,
                                  capacity=sub.capacity, position=sub.position,
                                  duplicate=sub.duplicate, state=job.state))
            if sub.duplicate and job.state.final and job_id in self.jobs:
                self.hub.unwait(job_id, self)
                self.jobs.discard(job_id)
                held = self._held.setdefault(job_id, [])
                if not any(m["tipo"] == "result" for m in held):
                    held.append(replies.result(job))
            self._settle(job_id, newly, refused=False)

        def refused(f: Any) -> None:
            self._settle(job_id, newly, refused=True)
            if f.check(SubmitError):
                mensaje = str(f.value)
                if f.value.audit is not None:  # refused at the door: an audit event
                    self._audit(tipo, job_id, f.value.audit, mensaje)
            else:
                self.log.failure("ws {peer}: submit {job} failed", f, peer=self.peer,
                                 job=job_id)
                mensaje = replies.INTERNAL
            self.send(replies.error(mensaje, job_id))

        d.addCallbacks(accepted, refused)
        d.addErrback(self.fail, job_id)

    def _settle(self, job_id: str, newly: bool, refused: bool) -> None:
        """The submit answered: forget a refused id, send a result held behind the ack."""
        self._unacked[job_id] -= 1
        if self._unacked[job_id] <= 0:
            del self._unacked[job_id]
        if refused and newly and job_id not in self._unacked:
            self.hub.unwait(job_id, self)
            self.jobs.discard(job_id)
        if job_id not in self._unacked and job_id in self._held:
            for held in self._held.pop(job_id):
                self.send(held)

    def deliver(self, job_id: str, message: Message) -> None:
        """News of a job (from the hub: held, resumed, its result): sent after its ack if
        that is still pending."""
        if self._unacked.get(job_id):
            self._held.setdefault(job_id, []).append(message)
        else:
            self.send(message)

    def _later(self, d: Deferred[Any], then: Callable[[Any], None], job_id: str | None) -> None:
        d.addCallback(then)
        d.addErrback(self.fail, job_id)

    def fail(self, f: Any, job_id: str | None) -> None:
        """A request that failed unexpectedly: logged, and answered INTERNAL."""
        self.log.failure("ws {peer}: error handling a message", f, peer=self.peer)
        self.send(replies.error(replies.INTERNAL, job_id))
