"""The one HTTP site: ``/health``, ``/ready``, ``/ticketd.js`` and ``/ws``; the dashboard is
mounted beside them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IAddress
from twisted.web.http import _GenericHTTPChannelProtocol
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from ticketd.config import ServerConfig
from ticketd.jobs.service import PrintService
from ticketd.web.access import admin_token
from ticketd.web.access_log import redacting_formatter
from ticketd.web.body_limit import bounded_request
from ticketd.web.client_library import ClientLibraryResource
from ticketd.web.connections import DeadlineChannel, PerClient, TooManyConnections
from ticketd.web.health import HealthResource, ReadyResource
from ticketd.web.hosts import HostRefused, host_allowed, own_names

if TYPE_CHECKING:
    from ticketd.metrics import Metrics


class Root(Resource):
    index: Resource | None = None  # the dashboard page, when mounted

    def getChild(self, path: bytes, request: object) -> Resource:  # noqa: N802
        if path == b"":
            return self.index or self
        return super().getChild(path, request)  # type: ignore[arg-type]

    def render_GET(self, request: object) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")  # type: ignore[attr-defined]
        return b"ticketd is running. See /health.\n"


class DaemonSite(Site):
    """The Site with the checks every request passes first, whatever its path: the
    ``Host`` header names this daemon (refused with 421 otherwise); the access log
    leaves tokens out; request heads have a deadline and each client address a number
    of connections (``connections.py``); request bodies over ``max_message_size`` are
    refused while they are read (``body_limit.py``)."""

    admin_token: str | None = None

    def __init__(self, resource: Resource, server: ServerConfig, **kw: Any) -> None:
        kw.setdefault("logFormatter", redacting_formatter)
        super().__init__(resource, **kw)
        self.server = server
        self.names = own_names(server)
        self.per_client = PerClient(server.max_connections_per_client)
        self.requestFactory = bounded_request(server.max_message_size)

    def protocol(self) -> _GenericHTTPChannelProtocol:  # the factory's protocol "class"
        return _GenericHTTPChannelProtocol(DeadlineChannel())

    def buildProtocol(self, addr: IAddress) -> Any:  # noqa: N802
        if self.per_client.full(addr):
            return TooManyConnections(self.per_client.limit)
        return self.per_client.wrap(super().buildProtocol(addr))

    def getResourceFor(self, request: Request) -> IResource:  # noqa: N802
        ports = (self.server.port, request.getHost().port)
        if not host_allowed(request.getHeader(b"host"), self.names, ports):
            return HostRefused()
        return super().getResourceFor(request)


def build_site(service: PrintService, server: ServerConfig, *, clock: Any,
               started: float, reactor: Any = None, metrics: Metrics | None = None,
               state_directory: Path | None = None) -> DaemonSite:
    """The Site; with ``reactor`` (the daemon always passes it) ``/ws`` and the dashboard
    are mounted too. Everything it serves goes through ``service``. The admin token is
    the configured one or kept in ``state_directory`` (``site.admin_token``)."""
    admin = admin_token(server, state_directory)
    root = Root()
    root.putChild(b"health", HealthResource(service, started, clock.seconds, admin))
    root.putChild(b"ready", ReadyResource(service))
    root.putChild(b"ticketd.js", ClientLibraryResource())
    if metrics is not None:
        from ticketd.web.metrics import MetricsResource
        root.putChild(b"metrics", MetricsResource(
            metrics, admin if server.metrics_token else None))
    if reactor is not None:
        root.putChild(b"ws", websocket(service, server, reactor, metrics, admin))
        from ticketd.web import dashboard
        root.index = dashboard.mount(root, service, server, admin)
    site = DaemonSite(root, server)
    site.admin_token = admin
    site.displayTracebacks = False
    return site


def websocket(service: PrintService, server: ServerConfig, reactor: Any,
              metrics: Metrics | None = None, admin: str | None = None) -> Resource:
    """``/ws``: the message hub over the Autobahn adapter."""
    from ticketd.web.messages import Hub
    from ticketd.web.ws import resource

    hub = Hub(service, clock=reactor, auth_token=server.auth_token,
              rate_limit=server.rate_limit, admin_token=admin)
    if metrics is not None:
        metrics.watch_connections(lambda: len(hub.sessions))
    return resource(hub, server, reactor)
