"""Raw HTTP over loopback for the web security tests: requests whose ``Host`` header, byte
timing and connection count the test chooses (an HTTP client library fixes them)."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from ticketd.web.site import build_site
from tests.fakes import Rig, config

PRINTERS = '[printers.p1]\nconnection = "virtual"\ndefault = true\n'


class Collect(Protocol):
    """Sends ``data`` on connect, keeps everything received; ``done`` fires at the close."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.received = b""
        self.done: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:  # noqa: N802
        if self.data:
            self.transport.write(self.data)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.received += data

    def connectionLost(self, reason: Failure = None) -> None:  # noqa: N802
        self.done.callback(self.received)


def request(method: str, path: str, host: str | None, headers: dict[str, str] | None = None,
            body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class SiteCase(TestCase):
    """The daemon's Site (``build_site`` with ``/ws`` and the dashboard) on a loopback port,
    over a rig with a virtual printer."""

    server = ""
    timeout = 30

    def setUp(self) -> None:
        from twisted.internet import reactor
        self.reactor = reactor
        tmp = self.mktemp()
        self.rig = Rig(config(tmp, f"[server]\n{self.server}\n" + PRINTERS))
        self.rig.start()
        self.addCleanup(self.rig.stop)
        self.site = self.build()
        self.port = reactor.listenTCP(0, self.site, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.number = self.port.getHost().port
        self.hub = self.site.resource.children[b"ws"]._factory.hub
        self.addCleanup(self.hub.stop)

    def build(self) -> Any:
        return build_site(self.rig.service, self.rig.config.server, clock=self.reactor,
                          started=0.0, reactor=self.reactor)

    def connect(self, data: bytes) -> Collect:
        from twisted.internet.endpoints import TCP4ClientEndpoint
        proto = Collect(data)
        factory = ClientFactory.forProtocol(lambda: proto)
        TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.number).connect(factory)
        return proto

    async def send(self, data: bytes) -> bytes:
        proto = self.connect(data)
        return await proto.done.addTimeout(10, self.reactor)

    async def get(self, path: str, host: str | None = "LOCAL", method: str = "GET",
                  **kw: Any) -> tuple[int, bytes]:
        """(status code, the whole response) for one request."""
        if host == "LOCAL":
            host = f"127.0.0.1:{self.number}"
        answer = await self.send(request(method, path, host, **kw))
        status = answer.split(b"\r\n", 1)[0].split(b" ")
        return (int(status[1]) if len(status) > 1 else 0), answer
