"""``/metrics``: the Prometheus exposition of the daemon's own registry.

Rendered on the reactor, not in a thread: the collector reads queues, printer status and
connections that the reactor owns, and ``generate_latest`` over a few dozen series takes a
fraction of a millisecond. prometheus_client's own ``MetricsResource`` is not used: it
imports the global reactor at import time and renders in the reactor's thread pool.
"""

from __future__ import annotations

from twisted.web.resource import Resource
from twisted.web.server import Request

from ticketd.metrics import Metrics
from ticketd.web.access import BAD_ADMIN_TOKEN, request_has_admin


class MetricsResource(Resource):
    """With ``admin_token`` (``[server] metrics_token = true``) a scrape must carry it:
    ``Authorization: Bearer`` (Prometheus' ``bearer_token``) or ``X-Admin-Token``."""

    isLeaf = True

    def __init__(self, metrics: Metrics, admin_token: str | None = None) -> None:
        super().__init__()
        self.metrics = metrics
        self.admin_token = admin_token

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        if not request_has_admin(request, self.admin_token, bearer=True):
            request.setResponseCode(401)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return f"{BAD_ADMIN_TOKEN}\n".encode()
        accept = request.getHeader(b"accept")
        body, content_type = self.metrics.render(accept.decode("latin-1") if accept else None)
        request.setHeader(b"content-type", content_type.encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        return body
