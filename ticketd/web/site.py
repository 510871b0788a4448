"""The one HTTP site: ``/health`` and ``/ws``; the dashboard is mounted beside them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.web.resource import Resource
from twisted.web.server import Site

from ticketd.jobs.manager import JobManager
from ticketd.web.health import HealthResource

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


def build_site(manager: JobManager, started: float, reactor: Any = None,
               metrics: Metrics | None = None) -> Site:
    """The Site; with ``reactor`` (the daemon always passes it) ``/ws`` is mounted too."""
    root = Root()
    root.putChild(b"health", HealthResource(manager, started))
    if metrics is not None:
        from ticketd.web.metrics import MetricsResource
        root.putChild(b"metrics", MetricsResource(metrics))
    if reactor is not None:
        root.putChild(b"ws", websocket(manager, reactor, metrics))
        from ticketd.web import dashboard
        root.index = dashboard.mount(root, manager, in_reactor_threads(reactor))
    site = Site(root)
    site.displayTracebacks = False
    return site


def websocket(manager: JobManager, reactor: Any, metrics: Metrics | None = None) -> Resource:
    """``/ws``: the message hub (results routing, discovery in the reactor's thread pool)."""
    from ticketd.web.discovery import Discovery
    from ticketd.web.messages import Hub
    from ticketd.web.ws import resource

    server = manager.config.server
    in_thread = in_reactor_threads(reactor)
    hub = Hub(manager, clock=reactor, auth_token=server.auth_token,
              rate_limit=server.rate_limit,
              discover=Discovery(manager, clock=reactor, run=in_thread), run=in_thread)
    if metrics is not None:
        metrics.watch_connections(lambda: len(hub.sessions))
    return resource(hub, server, reactor)


def in_reactor_threads(reactor: Any) -> Any:
    """``run(f, *args)`` in the reactor's shared thread pool (discovery, previews)."""
    from twisted.internet.threads import deferToThreadPool

    def in_thread(f: Any, *args: Any) -> Any:
        return deferToThreadPool(reactor, reactor.getThreadPool(), f, *args)
    return in_thread
