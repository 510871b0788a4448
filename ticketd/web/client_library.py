"""``GET /ticketd.js``: the browser client library (``static/ticketd.js``, an ES module).

A POS page on any origin imports it, and a module script is fetched in CORS mode: the file
is served with ``Access-Control-Allow-Origin: *``, like ``/health``. It holds no secret.
"""

from __future__ import annotations

from pathlib import Path

from twisted.web.resource import Resource
from twisted.web.server import Request

LIBRARY = Path(__file__).resolve().parent / "static" / "ticketd.js"


class ClientLibraryResource(Resource):
    """The module, read once when the site is built: no file I/O on the reactor per
    request (an upgrade restarts the daemon, which reads it again)."""

    isLeaf = True

    def __init__(self, path: Path = LIBRARY) -> None:
        super().__init__()
        self.body = path.read_bytes()

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setHeader(b"content-type", b"text/javascript; charset=utf-8")
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"access-control-allow-origin", b"*")
        request.setHeader(b"x-content-type-options", b"nosniff")
        return self.body
