"""A Twisted WebSocket client for ticketd (and Ticket Daemon): used by ``ticketd-print``,
the tests and the benchmark.

``connect(reactor, url)`` fires with a :class:`TicketClient` once the server's ``info``
greeting arrived. Requests return Deferreds for their immediate reply; ``result(job_id)``
fires with a job's ``result`` whenever it comes (even if it came before the call).
Every message received is also kept in ``client.messages`` for inspection.

Scripts without a reactor use the blocking client, re-exported here:
``print_document``, ``print_raw``, ``job_status`` (``ticketd/sync_client.py``).
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from autobahn.twisted.websocket import (WebSocketClientFactory, WebSocketClientProtocol,
                                        connectWS)
from twisted.internet.defer import Deferred, succeed

from ticketd.client_url import websocket_url
from ticketd.sync_client import (CannotConnect, Connection, JobState, NoResult,  # noqa: F401
                                 PrintError, PrintResult, Progress, job_status, print_document,
                                 print_raw)

Message = dict[str, Any]
Match = Callable[[Message], bool]


class ClientError(Exception):
    """Could not connect, or the connection closed while a reply was awaited."""


def _id() -> str:
    return uuid.uuid4().hex


class TicketClient:
    """One open connection. ``auth_token`` is added to every job message when set."""

    def __init__(self, protocol: "_Protocol", auth_token: str | None = None) -> None:
        self.protocol = protocol
        self.auth_token = auth_token
        self.messages: list[Message] = []
        self.results: dict[str, Message] = {}
        self._waiters: list[tuple[Match, Deferred[Message]]] = []
        self.closed: Deferred[tuple[bool, int | None, str | None]] = Deferred()
        self.close_info: tuple[bool, int | None, str | None] | None = None

    # --- plumbing --------------------------------------------------------------------------

    def received(self, message: Message) -> None:
        self.messages.append(message)
        if message.get("tipo") == "result":
            self.results[str(message.get("id"))] = message
        for entry in list(self._waiters):
            match, d = entry
            if match(message) and entry in self._waiters:
                self._waiters.remove(entry)
                d.callback(message)

    def lost(self, was_clean: bool, code: int | None, reason: str | None) -> None:
        self.close_info = (was_clean, code, reason)
        waiters, self._waiters = self._waiters, []
        for _, d in waiters:
            d.errback(ClientError(f"connection closed (code {code}): {reason}"))
        if not self.closed.called:
            self.closed.callback(self.close_info)

    def wait_for(self, match: Match) -> Deferred[Message]:
        """The next message for which ``match(message)`` holds."""
        d: Deferred[Message] = Deferred()
        if self.close_info is not None:
            d.errback(ClientError(f"connection closed: {self.close_info[2]}"))
            return d
        self._waiters.append((match, d))
        return d

    def send(self, message: Message | str | bytes, binary: bool = False) -> None:
        """Send a message as is (a dict is JSON-encoded; str/bytes go out verbatim)."""
        if isinstance(message, dict):
            payload = json.dumps(message).encode()
        elif isinstance(message, str):
            payload = message.encode("utf-8")
        else:
            payload = message
        self.protocol.sendMessage(payload, isBinary=binary)

    def request(self, message: Message, match: Match) -> Deferred[Message]:
        d = self.wait_for(match)
        self.send(message)
        return d

    def close(self) -> Deferred[Any]:
        if self.close_info is None:
            self.protocol.sendClose(1000)
        return self.closed if not self.closed.called else succeed(self.close_info)

    def _auth(self, message: Message) -> Message:
        if self.auth_token is not None:
            message["auth_token"] = self.auth_token
        return message

    # --- the API ---------------------------------------------------------------------------

    def ticket(self, document: Any, job_id: str | None = None) -> Deferred[Message]:
        """Send a document; fires with the ``ack`` or ``error`` for it."""
        job_id = job_id or _id()
        return self.request(self._auth({"tipo": "ticket", "id": job_id, "datos": document}),
                            _reply_to(job_id, ("ack", "error")))

    def raw(self, data: bytes, printer: str | None = None,
            job_id: str | None = None) -> Deferred[Message]:
        job_id = job_id or _id()
        datos: Message = {"data": base64.b64encode(data).decode("ascii")}
        if printer is not None:
            datos["printer"] = printer
        return self.request(self._auth({"tipo": "raw", "id": job_id, "datos": datos}),
                            _reply_to(job_id, ("ack", "error")))

    def result(self, job_id: str) -> Deferred[Message]:
        """The job's ``result`` (success or error), already received or still to come."""
        if job_id in self.results:
            return succeed(self.results[job_id])
        return self.wait_for(lambda m: m.get("tipo") == "result" and m.get("id") == job_id)

    def status(self, printer: str | None = None) -> Deferred[Message]:
        rid = _id()
        message: Message = {"tipo": "status", "id": rid}
        if printer is not None:
            message["datos"] = {"printer": printer}
        return self.request(message, _reply_to(rid, ("status", "error")))

    def ping(self, ping_id: str | None = None) -> Deferred[Message]:
        ping_id = ping_id or _id()
        return self.request({"tipo": "ping", "id": ping_id}, _reply_to(ping_id, ("pong",)))

    def printers(self) -> Deferred[Message]:
        return self.request({"tipo": "get_printers"},
                            lambda m: m.get("tipo") == "printers"
                            or (m.get("tipo") == "error" and "id" not in m))

    def job_status(self, job_id: str) -> Deferred[Message]:
        return self.request(self._auth({"tipo": "job_status", "id": job_id}),
                            lambda m: m.get("id") == job_id and (
                                m.get("tipo") == "error" or (m.get("tipo") == "info"
                                                             and m.get("status") == "job")))

    def cancel(self, job_id: str) -> Deferred[Message]:
        return self.request(self._auth({"tipo": "cancel", "id": job_id}),
                            lambda m: m.get("id") == job_id and (
                                m.get("tipo") == "error" or (m.get("tipo") == "result"
                                                             and m.get("state") == "cancelled")))


def _reply_to(job_id: str, tipos: tuple[str, ...]) -> Match:
    return lambda m: m.get("id") == job_id and m.get("tipo") in tipos


class _Protocol(WebSocketClientProtocol):
    client: TicketClient | None = None

    def onOpen(self) -> None:  # noqa: N802
        self.client = TicketClient(self, self.factory.auth_token)
        self.client.wait_for(lambda m: m.get("tipo") == "info").addCallbacks(
            lambda _: self.factory.ready(self.client), lambda _: None)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802,N803
        if self.client is None:
            return
        try:
            message = json.loads(payload)
        except ValueError:
            message = {"tipo": "<not json>", "raw": payload[:200]}
        if not isinstance(message, dict):
            message = {"tipo": "<not an object>", "raw": message}
        self.client.received(message)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:  # noqa: N802,N803
        if self.client is not None:
            self.client.lost(wasClean, code, reason)
        self.factory.failed(ClientError(reason or f"connection closed (code {code})"))


class _Factory(WebSocketClientFactory):
    protocol = _Protocol

    def __init__(self, url: str, *, auth_token: str | None, **kw: Any) -> None:
        super().__init__(url, **kw)
        self.auth_token = auth_token
        self.connected: Deferred[TicketClient] = Deferred()

    def ready(self, client: TicketClient) -> None:
        if not self.connected.called:
            self.connected.callback(client)

    def failed(self, error: Exception) -> None:
        if not self.connected.called:
            self.connected.errback(error)

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:  # noqa: N802
        self.failed(ClientError(f"cannot connect: {reason.getErrorMessage()}"))


def connect(reactor: Any, url: str = "ws://127.0.0.1:8766/ws", *, auth_token: str | None = None,
            query_token: str | None = None, origin: str | None = None,
            timeout: float = 10.0) -> Deferred[TicketClient]:
    """Open a connection; fires once the greeting arrived, fails with ClientError.

    ``auth_token`` goes into each job message; ``query_token`` into the URL (``?token=``).
    """
    url = websocket_url(url)
    if query_token is not None:
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, urlencode({"token": query_token})) if q)
        url = urlunsplit(parts._replace(query=query))
    factory = _Factory(url, auth_token=auth_token, origin=origin, reactor=reactor)
    factory.setProtocolOptions(openHandshakeTimeout=timeout, closeHandshakeTimeout=2)
    connector = connectWS(factory, timeout=timeout)
    d = factory.connected

    def expire() -> None:
        if not d.called:
            connector.disconnect()
            factory.failed(ClientError(f"no answer from {url} within {timeout:g} s"))

    call = reactor.callLater(timeout, expire)

    def done(result: Any) -> Any:
        if call.active():
            call.cancel()
        return result

    return d.addBoth(done)
