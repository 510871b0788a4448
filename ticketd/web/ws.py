"""``/ws``: the Autobahn adapter over the sans-IO message handler (``messages.py``).

It only moves frames: text in → ``Session.received``, dicts out → one text frame each. What
it owns is the socket-level policy: message size (an ``error`` frame, then close 1009),
allowed Origins (refused in the handshake, HTTP 403), the ``?token=`` query, auto-ping, and
what may wait unsent for a client that does not read (``backlog.py``: close 1013).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.logger import Logger

from ticketd.config import ServerConfig
from ticketd.web import replies
from ticketd.web.backlog import SEND_BACKLOG_LIMIT, SendBacklog
from ticketd.web.messages import Hub, Session

OPEN_HANDSHAKE_TIMEOUT = 10.0
CLOSE_HANDSHAKE_TIMEOUT = 2.0
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalise_origin(origin: str) -> str:
    """Autobahn compares ``scheme://host:port`` with the port filled in, so an origin written
    without its port (``https://pos.example.com``) would never match: add the default."""
    if origin == "null" or origin.endswith(":*"):
        return origin
    try:
        parts = urlsplit(origin)
        has_port = parts.port is not None
    except ValueError:
        return origin
    if has_port or parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return origin
    return f"{origin.rstrip('/')}:{_DEFAULT_PORTS[parts.scheme]}"


def allowed_origins(server: ServerConfig) -> list[str]:
    """The configured Origins, or by default the daemon's own and local pages on any port."""
    if server.allowed_origins:
        return [normalise_origin(o) for o in server.allowed_origins]
    own = server.listen if ":" not in server.listen else f"[{server.listen}]"
    return [f"http://{own}:{server.port}", "http://localhost:*", "http://127.0.0.1:*",
            "https://localhost:*", "https://127.0.0.1:*"]


class TicketServerProtocol(WebSocketServerProtocol):
    """One client connection. ``self.log`` is Autobahn's: ours is ``self.events``."""

    events = Logger()
    factory: "TicketServerFactory"
    session: Session | None = None
    backlog: SendBacklog | None = None
    _token_ok = False

    def onConnect(self, request: ConnectionRequest) -> None:  # noqa: N802 (Autobahn's names)
        token = request.params.get("token")
        hub = self.factory.hub
        if token is not None and hub.auth_token is not None:
            if not hub.token_ok(token[0] if token else None):
                self.events.warn("ws {peer}: connection refused (auth_failed): bad ?token=",
                                 peer=request.peer, reason="auth_failed", audit=True)
                raise ConnectionDeny(ConnectionDeny.FORBIDDEN, replies.BAD_TOKEN)
            self._token_ok = True
        return None

    def failHandshake(self, reason: str, code: int = 400,  # noqa: N802 (Autobahn's)
                      responseHeaders: Any = None) -> None:  # noqa: N803
        """Autobahn refuses a disallowed Origin here (no other hook sees it): audit it."""
        if "origin" in reason.lower() and "not allowed" in reason:
            self.events.warn("ws {peer}: connection refused (origin_refused): {why}",
                             peer=self.peer, why=reason, origin=self.websocket_origin,
                             reason="origin_refused", audit=True)
        super().failHandshake(reason, code, responseHeaders)

    def onOpen(self) -> None:  # noqa: N802
        self.backlog = SendBacklog(self.factory.send_backlog_limit)
        self.backlog.attach(self.transport)
        self.session = self.factory.hub.open(self._send, self.peer, authenticated=self._token_ok)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        """Autobahn's, less its debug line, whose arguments (highlighted names of the
        method and the peer) it builds for every read even with debug logging off."""
        self._dataReceived(data)

    def sendData(self, data: bytes, sync: bool = False,  # noqa: N802 (Autobahn's)
                 chopsize: int | None = None) -> None:
        """Autobahn's, less its debug line, for a frame of an open connection with nothing
        queued before it (no chopping, no octet logging); anything else goes to Autobahn's."""
        if sync or chopsize or self.send_queue or self.logOctets or \
                self.state != WebSocketServerProtocol.STATE_OPEN:
            super().sendData(data, sync, chopsize)
            return
        self.transport.write(data)
        self.trafficStats.outgoingOctetsWireLevel += len(data)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802,N803
        if self.session is not None:
            self.session.received(payload, isBinary)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:  # noqa: N802,N803
        if self.session is not None:
            self.session.close()
            self.session = None

    def _send(self, message: dict[str, Any]) -> None:
        if self.state != WebSocketServerProtocol.STATE_OPEN:
            return
        self.factory.hub.service.stages.run("ws.reply", self._send_now, message)

    def _send_now(self, message: dict[str, Any]) -> None:
        shared = isinstance(message, replies.Shared)  # to many connections: framed once
        data = message.encoded() if shared else replies.encode(message)
        if self.backlog is not None and not self.backlog.add(len(data)):
            self._too_slow()
            return
        if not shared:
            self.sendMessage(data, isBinary=False)
            return
        if message.prepared is None:
            message.prepared = self.factory.prepareMessage(data, isBinary=False)
        self.sendPreparedMessage(message.prepared)

    def _too_slow(self) -> None:
        """Messages pile up unsent: close (1013, try again later) rather than keep them.
        The close frame waits behind them; the close handshake's timeout drops the
        connection if the client still reads nothing."""
        assert self.backlog is not None
        self.events.warn("ws {peer}: closed (1013): over {waiting} bytes wait unsent, the "
                         "limit is {limit}: the client does not read its messages",
                         peer=self.peer, waiting=self.backlog.waiting,
                         limit=self.backlog.limit, reason="slow_reader")
        self.sendCloseFrame(code=1013, reasonUtf8=replies.SLOW_READER.encode(), isReply=False)

    def _max_message_size_exceeded(self, msg_size: int, max_msg_size: int, reason: str) -> None:
        """Autobahn's hook before it closes with 1009: tell the client why, in its language."""
        if self.state == WebSocketServerProtocol.STATE_OPEN and not self.failedByMe:
            self.events.info("ws {peer}: message of {size} bytes over the {limit} limit",
                             peer=self.peer, size=msg_size, limit=max_msg_size)
            self._send(replies.error(f"Message too large: {msg_size} bytes, the limit is "
                                     f"{max_msg_size} bytes"))
        super()._max_message_size_exceeded(msg_size, max_msg_size, reason)


class TicketServerFactory(WebSocketServerFactory):
    protocol = TicketServerProtocol
    send_backlog_limit = SEND_BACKLOG_LIMIT

    def __init__(self, hub: Hub, server: ServerConfig, reactor: Any = None) -> None:
        super().__init__(reactor=reactor)
        self.hub = hub
        origins = allowed_origins(server)
        ping = server.auto_ping_interval
        self.setProtocolOptions(
            maxMessagePayloadSize=server.max_message_size,
            maxFramePayloadSize=server.max_message_size,
            autoPingInterval=ping if ping > 0 else 0,
            autoPingTimeout=min(ping, 10.0) if ping > 0 else 0,
            openHandshakeTimeout=OPEN_HANDSHAKE_TIMEOUT,
            closeHandshakeTimeout=CLOSE_HANDSHAKE_TIMEOUT,
            failByDrop=False,
            allowedOrigins=[o for o in origins if o != "null"],
            allowNullOrigin="null" in origins,  # file:// pages send "Origin: null"
            # Every text frame is decoded as strict UTF-8 JSON by the message handler,
            # which answers bad bytes with an error; validating twice costs ~2 % per job.
            utf8validateIncoming=False,
        )


def resource(hub: Hub, server: ServerConfig, reactor: Any = None) -> WebSocketResource:
    """The ``/ws`` resource; the hub subscribes to job events at once (results routing)."""
    factory = TicketServerFactory(hub, server, reactor)
    hub.start()
    return WebSocketResource(factory)

