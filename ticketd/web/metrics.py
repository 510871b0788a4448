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


class MetricsResource(Resource):
    isLeaf = True

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self.metrics = metrics

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        accept = request.getHeader(b"accept")
        body, content_type = self.metrics.render(accept.decode("latin-1") if accept else None)
        request.setHeader(b"content-type", content_type.encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        return body
