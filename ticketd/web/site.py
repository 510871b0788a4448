"""The one HTTP site: ``/health`` now; ``/ws`` and the dashboard are mounted beside it."""

from __future__ import annotations

from twisted.web.resource import Resource
from twisted.web.server import Site

from ticketd.jobs.manager import JobManager
from ticketd.web.health import HealthResource


class Root(Resource):
    def getChild(self, path: bytes, request: object) -> Resource:  # noqa: N802
        if path == b"":
            return self
        return super().getChild(path, request)  # type: ignore[arg-type]

    def render_GET(self, request: object) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")  # type: ignore[attr-defined]
        return b"ticketd is running. See /health.\n"


def build_site(manager: JobManager, started: float) -> Site:
    root = Root()
    root.putChild(b"health", HealthResource(manager, started))
    site = Site(root)
    site.displayTracebacks = False
    return site
