"""The dashboard at ``/``: one static page (``static/``: HTML, JS, CSS; no build step, no
CDN) that talks to ``/ws`` (``subscribe``, ``validate``, ``ticket``, ``cancel``,
``job_status`` and the operator's ``reprint``, ``pause``, ``resume``, ``clear``,
``test_page``) and to the preview resources, plus ``/examples`` (the shipped example
documents, listed as JSON). It holds from a 1366x768 screen down to a phone.

The page never holds the auth token in its HTML: when the server has one, the page asks
for it and keeps it in the browser's sessionStorage. The admin token (``access.py``) is in
the page, rendered per request into a ``<meta>``: only a same-origin script can read it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from twisted.web.resource import NoResource, Resource
from twisted.web.server import Request
from twisted.web.static import File

from ticketd.config import ServerConfig
from ticketd.jobs.service import PrintService
from ticketd.web.preview_resources import JobsResource, PreviewResource, ValidateResource

STATIC = Path(__file__).resolve().parent / "static"
EXAMPLES = STATIC / "examples"
#: Only the page's own scripts, styles and sockets; images also from blob: (previews).
CSP = (b"default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
       b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")


class StaticFiles(File):
    """The page's files; no directory listings."""

    def directoryListing(self) -> Resource:  # noqa: N802
        return NoResource()


class IndexResource(Resource):
    """``/``: index.html, read per request (small) so that an upgrade shows at once, with
    the admin token in its ``<meta name="ticketd-admin-token">``."""

    isLeaf = True

    def __init__(self, admin_token: str | None = None) -> None:
        super().__init__()
        self.admin_token = admin_token

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"content-security-policy", CSP)
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"referrer-policy", b"no-referrer")
        page = (STATIC / "index.html").read_bytes()
        token = html.escape(self.admin_token or "", quote=True).encode("ascii",
                                                                       "xmlcharrefreplace")
        return page.replace(b'name="ticketd-admin-token" content=""',
                            b'name="ticketd-admin-token" content="' + token + b'"', 1)


class ExamplesResource(Resource):
    """``/examples``: ``{"examples": [{"name", "url"}]}``; the files are under /static/."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        names = sorted(p.name for p in EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"examples": [
            {"name": n[:-5], "url": f"/static/examples/{n}"} for n in names]}).encode()


def mount(root: Resource, service: PrintService, server: ServerConfig,
          admin_token: str | None = None) -> Resource:
    """Put the dashboard's resources on ``root``; returns the index resource for ``/``.
    ``admin_token`` None: no admin checks (the daemon always passes one)."""
    root.putChild(b"static", StaticFiles(str(STATIC)))
    root.putChild(b"examples", ExamplesResource())
    root.putChild(b"preview", PreviewResource(service, server.max_message_size))
    root.putChild(b"validate", ValidateResource(service, server.max_message_size))
    root.putChild(b"jobs", JobsResource(service, server.auth_token, admin_token))
    return IndexResource(admin_token)
