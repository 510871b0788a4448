"""A blocking ticketd client for scripts: no reactor, nothing running in the background.

``print_document(doc)`` connects, sends, waits for the job's end and returns a
:class:`PrintResult`, or raises :class:`PrintError` (``.category``, ``.message``). The
socket is read only while a call waits (websocket-client, one connection per call unless a
:class:`Connection` is kept); while a job waits its state is polled with ``job_status``, so
that ``on_progress`` sees ``held`` and ``printing`` as they happen.
"""

from __future__ import annotations

import base64
import json
import os
import select
import time
import uuid
from typing import Any, Callable, Iterator

import attrs
import websocket

from ticketd.client_url import BadURL, default_url, websocket_url

Message = dict[str, Any]
Match = Callable[[Message], bool]
POLL = 0.5
FINAL = ("printed", "failed", "cancelled", "expired", "interrupted")


@attrs.frozen
class PrintResult:
    """How a job ended (``state`` ``printed`` for a call that returned)."""

    id: str
    state: str
    message: str
    warnings: tuple[str, ...] = ()


@attrs.frozen
class Progress:
    """A step of a job while it waits: ``queued``, ``held`` (``message``: the printer's
    fault, e.g. ``Out of paper``), ``printing``."""

    id: str
    state: str
    message: str = ""
    printer: str | None = None


@attrs.frozen
class JobState:
    """``job_status``: a job's state; ``result`` (``success`` | ``error``) once it ended."""

    id: str
    state: str
    message: str
    printer: str | None = None
    result: str | None = None
    warnings: tuple[str, ...] = ()
    position: int | None = None
    reprint_of: str | None = None


class PrintError(Exception):
    """Not printed: ``category`` is the text before the colon (``PRINTER``, ``VALIDATION``,
    ``CANCELLED`` ...; ``ERROR`` when the text has none), ``message`` the whole text."""

    category = "ERROR"

    def __init__(self, message: str, *, id: str | None = None, state: str | None = None,
                 warnings: tuple[str, ...] = (), category: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.id, self.state, self.warnings = id, state, warnings
        self.category = category or _category(message) or type(self).category


class CannotConnect(PrintError):
    """The daemon could not be reached, or the connection broke."""

    category = "CONNECTION"


class NoResult(PrintError):
    """The job did not end within the timeout; it is still the daemon's (ask ``job_status``)."""

    category = "TIMEOUT"


def _category(text: str) -> str | None:
    head, sep, _ = text.partition(":")
    return head if sep and head.isupper() and head.isalpha() else None


def new_id() -> str:
    """A job id: sending the same job again with it never prints it twice."""
    return "py-" + uuid.uuid4().hex[:24]


class Connection:
    """One WebSocket connection to ticketd; use it as a context manager.

    ``auth_token`` goes into every job message, ``admin_token`` into ``cancel`` and the
    operator messages. Messages that come while another is awaited are kept, not lost.
    """

    def __init__(self, url: str | None = None, *, auth_token: str | None = None,
                 admin_token: str | None = None, timeout: float = 10.0) -> None:
        try:
            self.url = websocket_url(url or default_url())
        except BadURL as e:
            raise CannotConnect(f"bad URL {e}") from None
        self.auth_token, self.admin_token = auth_token, admin_token
        try:
            self._ws = websocket.create_connection(self.url, timeout=timeout,
                                                   suppress_origin=True)
        except websocket.WebSocketBadStatusException as e:
            raise CannotConnect(f"cannot connect to {self.url}: the server answered "
                                f"HTTP {e.status_code}: {_body(e)}") from None
        except (OSError, websocket.WebSocketException) as e:
            raise CannotConnect(f"cannot connect to {self.url}: {_reason(e)}") from None
        self._kept: list[Message] = []
        self.request(None, lambda m: m.get("tipo") == "info", timeout)  # the greeting

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._ws.close(timeout=1)
        except (OSError, websocket.WebSocketException):
            pass

    # --- plumbing --------------------------------------------------------------------------

    def send(self, message: Message) -> None:
        try:
            self._ws.send(json.dumps(message))
        except (OSError, websocket.WebSocketException) as e:
            raise CannotConnect(f"connection to {self.url} lost: {_reason(e)}") from None

    def _receive(self, timeout: float) -> Message | None:
        """The next message, or None once ``timeout`` passed without one."""
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            while True:
                left = deadline - time.monotonic()
                pending = getattr(self._ws.sock, "pending", lambda: 0)()
                if not pending and not select.select([self._ws.sock], [], [], max(left, 0))[0]:
                    return None
                opcode, frame = self._ws.recv_data_frame(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    raise CannotConnect(f"the daemon closed the connection: "
                                        f"{frame.data[2:].decode(errors='replace')}")
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    try:
                        message = json.loads(getattr(frame, "data", frame))
                    except ValueError:
                        continue
                    if isinstance(message, dict):
                        return message
        except (OSError, ValueError, websocket.WebSocketException) as e:
            raise CannotConnect(f"connection to {self.url} lost: {_reason(e)}") from None

    def _messages(self, timeout: float) -> Iterator[Message]:
        """Kept messages first, then those arriving before ``timeout`` ends."""
        while self._kept:
            yield self._kept.pop(0)
        deadline = time.monotonic() + timeout
        while (message := self._receive(deadline - time.monotonic())) is not None:
            yield message

    def request(self, message: Message | None, match: Match, timeout: float = 10.0) -> Message:
        """Send ``message`` and return the first reply ``match`` accepts."""
        if message is not None:
            self.send(message)
        passed: list[Message] = []
        try:
            for reply in self._messages(timeout):
                if match(reply):
                    return reply
                passed.append(reply)
        finally:
            self._kept[:0] = passed
        raise NoResult(f"no answer from {self.url} within {timeout:g} s")

    def _with_tokens(self, message: Message, admin: bool = False) -> Message:
        if self.auth_token is not None:
            message["auth_token"] = self.auth_token
        if admin and self.admin_token is not None:
            message["admin_token"] = self.admin_token
        return message

    # --- requests --------------------------------------------------------------------------

    def printers(self) -> Message:
        """The ``printers`` reply (``printers``: each printer, ``summary``)."""
        reply = self.request({"tipo": "get_printers"}, lambda m: m.get("tipo") in (
            "printers", "error") and "id" not in m)
        if reply.get("tipo") != "printers":
            raise PrintError(str(reply.get("mensaje")))
        return reply

    def printer_name(self, name: str) -> str:
        """The configured printer ``name`` (or alias, any case) means; refused here, since a
        document for an unknown model would go to the default printer."""
        configured = [p for p in self.printers().get("printers", []) if p.get("configured")]
        for p in configured:
            if name.casefold() in (n.casefold() for n in [p.get("name", ""),
                                                          *p.get("aliases", [])]):
                return str(p["name"])
        names = ", ".join(str(p.get("name")) for p in configured) or "none"
        raise PrintError(f"PRINTER: unknown printer '{name}'; configured printers: {names}")

    def status(self, printer: str | None = None) -> Message:
        rid = new_id()
        message: Message = {"tipo": "status", "id": rid}
        if printer is not None:
            message["datos"] = {"printer": printer}
        return self.request(message, _reply_to(rid, ("status", "error")))

    def submit(self, message: Message, admin: bool = False) -> Message:
        """Send a job message (``ticket``, ``raw``, ``reprint``, ``test_page``); the ``ack``.
        A refusal raises PrintError."""
        job_id = message.get("id")
        if job_id is None and message.get("tipo") in ("ticket", "raw"):
            job_id = message["id"] = new_id()
        # a reprint or test page without an id gets the daemon's: its first ack is the one
        match = (_reply_to(job_id, ("ack", "error")) if job_id is not None else
                 lambda m: m.get("tipo") in ("ack", "error"))
        ack = self.request(self._with_tokens(message, admin), match)
        if ack.get("tipo") == "error":
            raise PrintError(str(ack.get("mensaje")), id=job_id)
        return ack

    def job_status(self, job_id: str) -> JobState | None:
        """The job's state; None for an id the daemon does not know."""
        reply = self.request(self._with_tokens({"tipo": "job_status", "id": job_id}),
                             _job_reply(job_id))
        if reply.get("tipo") == "error":
            if str(reply.get("mensaje", "")).startswith("Unknown job id"):
                return None
            raise PrintError(str(reply.get("mensaje")), id=job_id)
        return JobState(id=job_id, state=str(reply.get("state")),
                        message=str(reply.get("mensaje", "")), printer=reply.get("printer"),
                        result=reply.get("result"), warnings=tuple(reply.get("warnings", ())),
                        position=reply.get("position"), reprint_of=reply.get("reprint_of"))

    def cancel(self, job_id: str) -> PrintResult:
        """Cancel a waiting job: its result (``cancelled``); a refusal raises PrintError."""
        reply = self.request(self._with_tokens({"tipo": "cancel", "id": job_id}, admin=True),
                             lambda m: m.get("id") == job_id and (m.get("tipo") == "error" or (
                                 m.get("tipo") == "result" and m.get("state") == "cancelled")))
        if reply.get("tipo") == "error":
            raise PrintError(str(reply.get("mensaje")), id=job_id)
        return _result(reply)

    def wait(self, job_id: str, timeout: float = 60.0,
             on_progress: Callable[[Progress], None] | None = None,
             on_tick: Callable[[], None] | None = None) -> PrintResult:
        """Wait for the job's end: its result if printed, else PrintError (NoResult once
        ``timeout`` passed). ``on_progress`` sees each change; ``on_tick`` each poll."""
        deadline = time.monotonic() + timeout
        seen = "queued"

        def step(state: str, text: str, printer: str | None = None) -> None:
            nonlocal seen
            if state != seen:
                seen = state
                if on_progress is not None:
                    on_progress(Progress(job_id, state, text, printer))

        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoResult(f"no result within {timeout:g} s: job {job_id} is still {seen}",
                               id=job_id, state=seen)
            for m in self._messages(min(POLL, left)):
                if m.get("id") != job_id:
                    continue
                if m.get("tipo") == "result":
                    return _ended(_result(m))
                if m.get("tipo") == "info" and m.get("status") == "held":
                    step("held", held_reason(str(m.get("mensaje", "")), job_id))
                elif m.get("tipo") == "info" and m.get("status") == "sent":
                    step("sent", str(m.get("mensaje", "")))  # at the printer, unconfirmed
                elif m.get("tipo") == "info" and m.get("status") == "resumed":
                    step("queued", str(m.get("mensaje", "")))
                elif m.get("tipo") == "info" and m.get("status") == "job":
                    state = str(m.get("state"))
                    if state in FINAL:
                        return _ended(PrintResult(job_id, state, str(m.get("mensaje", "")),
                                                  tuple(m.get("warnings", ()))))
                    text = str(m.get("mensaje", ""))
                    step(state, held_reason(text, job_id) if state == "held" else text,
                         m.get("printer"))
            if on_tick is not None:
                on_tick()
            self.send(self._with_tokens({"tipo": "job_status", "id": job_id}))


def held_reason(text: str, job_id: str) -> str:
    """``Waiting: Out of paper (job 42 prints when ...)`` → ``Out of paper``; inside a
    sent job: ``Out of paper (the printer stopped inside this job)``."""
    text = text.removesuffix(f" (job {job_id} prints when the printer is ready)")
    text = text.removesuffix(f": job {job_id} finishes when the printer is ready, without "
                             "being sent again")
    return text.removeprefix("Waiting: ")


def _reply_to(job_id: str, tipos: tuple[str, ...]) -> Match:
    return lambda m: m.get("id") == job_id and m.get("tipo") in tipos


def _job_reply(job_id: str) -> Match:
    return lambda m: m.get("id") == job_id and (
        m.get("tipo") == "error" or (m.get("tipo") == "info" and m.get("status") == "job"))


def _result(m: Message) -> PrintResult:
    state = m.get("state") or ("printed" if m.get("status") == "success" else "failed")
    return PrintResult(str(m.get("id")), str(state), str(m.get("mensaje", "")),
                       tuple(m.get("warnings", ())))


def _ended(result: PrintResult) -> PrintResult:
    if result.state != "printed":
        raise PrintError(result.message, id=result.id, state=result.state,
                         warnings=result.warnings)
    return result


def _reason(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "connection refused (is ticketd running?)"
    return str(e) or type(e).__name__


def _body(e: Any) -> str:
    body = getattr(e, "resp_body", None) or b""
    text = body.decode(errors="replace").strip() if isinstance(body, bytes) else str(body)
    return text[:200] or "refused"


# --- the script API ------------------------------------------------------------------------

def print_document(document: Message, *, printer: str | None = None, url: str | None = None,
                   id: str | None = None, auth_token: str | None = None,
                   timeout: float = 60.0,
                   on_progress: Callable[[Progress], None] | None = None) -> PrintResult:
    """Print a v1 document and wait until it printed. ``printer`` (name or alias) must
    exist; ``url`` defaults to ``TICKETD_URL``, else ``ws://127.0.0.1:8766/ws``."""
    with Connection(url, auth_token=auth_token, timeout=min(timeout, 10.0)) as c:
        if printer is not None:
            profile = dict(document.get("profile") or {}, model=c.printer_name(printer))
            document = dict(document, profile=profile)
        ack = c.submit({"tipo": "ticket", "id": id or new_id(), "datos": document})
        return c.wait(str(ack["id"]), timeout, on_progress)


def print_raw(data: bytes, *, printer: str | None = None, url: str | None = None,
              id: str | None = None, auth_token: str | None = None, timeout: float = 60.0,
              on_progress: Callable[[Progress], None] | None = None) -> PrintResult:
    """Print raw ESC/POS bytes on ``printer`` (else the default printer) and wait."""
    datos: Message = {"data": base64.b64encode(data).decode("ascii")}
    if printer is not None:
        datos["printer"] = printer
    with Connection(url, auth_token=auth_token, timeout=min(timeout, 10.0)) as c:
        ack = c.submit({"tipo": "raw", "id": id or new_id(), "datos": datos})
        return c.wait(str(ack["id"]), timeout, on_progress)


def job_status(id: str, *, url: str | None = None, auth_token: str | None = None,
               timeout: float = 10.0) -> JobState | None:
    """The state of job ``id`` (any client's); None when the daemon does not know it."""
    with Connection(url, auth_token=auth_token, timeout=timeout) as c:
        return c.job_status(id)


def admin_token_from(state_dir: str | None = None) -> str | None:
    """``TICKETD_ADMIN_TOKEN``, else ``STATE/admin-token`` (made by the daemon)."""
    token = os.environ.get("TICKETD_ADMIN_TOKEN", "").strip()
    if token or state_dir is None:
        return token or None
    with open(os.path.join(state_dir, "admin-token"), encoding="utf-8") as f:
        return f.read().strip() or None
