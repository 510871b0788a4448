"""Receipt pictures over HTTP: ``POST /preview``, ``POST /validate`` and
``GET /jobs/<id>/preview.png``.

The work (validation, rendering, drawing the PNG) is the print service's, off the reactor;
these resources only map its answers to HTTP. Bad input always gets a clear answer:
400 with ``{"errors": ["VALIDATION: ...", ...]}`` (the categories of the WebSocket API),
413 for a body over ``server.max_message_size``, 503 ``BUSY: ...`` while too many previews
wait their turn already.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ticketd.jobs.service import Busy, DocumentError, PrintService
from ticketd.web.access import BAD_ADMIN_TOKEN, request_has_admin, tokens_match

Answer = tuple[int, bytes, bytes]  # (HTTP code, content type, body)
JSON = b"application/json"
PNG = b"image/png"
TEXT = b"text/plain; charset=utf-8"


def _json(code: int, body: Any) -> Answer:
    return code, JSON, json.dumps(body).encode()


class _Worker(Resource):
    """Writes the Answer of one print-service call per request."""

    isLeaf = True
    log = Logger()

    def __init__(self, service: PrintService) -> None:
        super().__init__()
        self.service = service

    def answer(self, request: Request, d: Deferred[Answer], invalid: int = 400) -> Any:
        """``d`` fires with the Answer; a DocumentError becomes ``invalid`` + its errors."""
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))

        def write(result: Answer) -> None:
            if gone:
                return
            code, ctype, body = result
            request.setResponseCode(code)
            request.setHeader(b"content-type", ctype)
            request.setHeader(b"cache-control", b"no-store")
            request.write(body)
            request.finish()

        def failed(f: Any) -> None:
            if f.check(DocumentError):
                write(_json(invalid, {"errors": f.value.errors}))
                return
            if f.check(Busy):
                request.setHeader(b"retry-after", b"1")
                write(_json(503, {"errors": [str(f.value)]}))
                return
            self.log.failure("{path}: request failed", f, path=request.path)
            if not gone:
                write(_json(500, {"errors": ["ERROR: internal error, nothing was rendered"]}))

        d.addCallbacks(write, failed)
        return NOT_DONE_YET


class _DocumentPost(_Worker):
    """A POST whose body is one v1 document, at most ``max_size`` bytes."""

    def __init__(self, service: PrintService, max_size: int) -> None:
        super().__init__(service)
        self.max_size = max_size

    def body(self, request: Request) -> bytes | None:
        """The body, or None after answering 413."""
        length = request.getHeader(b"content-length") or b""
        too_big = length.isdigit() and int(length) > self.max_size
        data = b""
        if not too_big and request.content is not None:
            data = request.content.read(self.max_size + 1)
        if too_big or len(data) > self.max_size:
            request.setResponseCode(413)
            request.setHeader(b"content-type", JSON)
            request.write(json.dumps({"errors": [
                f"ERROR: the document is over the {self.max_size} bytes limit"]}).encode())
            request.finish()
            return None
        return data


class PreviewResource(_DocumentPost):
    """``POST /preview[?format=text]``: the document's receipt as PNG (or text)."""

    def render_POST(self, request: Request) -> Any:  # noqa: N802
        data = self.body(request)
        if data is None:
            return NOT_DONE_YET
        fmt = (request.args.get(b"format") or [b"png"])[0].decode("ascii", "replace")
        if fmt == "text":
            d = self.service.preview_text(data).addCallback(
                lambda lines: (200, TEXT, ("\n".join(lines) + "\n").encode("utf-8")))
        else:
            d = self.service.preview_png(data).addCallback(lambda png: (200, PNG, png))
        return self.answer(request, d)


class ValidateResource(_DocumentPost):
    """``POST /validate[?strict=1]``: the document's errors, for validation as you type;
    ``strict``: what intake had to interpret is an error too."""

    def render_POST(self, request: Request) -> Any:  # noqa: N802
        data = self.body(request)
        if data is None:
            return NOT_DONE_YET
        flag = (request.args.get(b"strict") or [b""])[0].lower()
        if flag in (b"1", b"true", b"yes"):
            d = self.service.validate(data, strict=True)
        else:
            d = self.service.validate(data)
        d.addCallback(lambda errors: _json(200, {"valid": not errors, "errors": errors}))
        return self.answer(request, d)


class JobsResource(Resource):
    """``/jobs/<id>/preview.png`` (the id URL-quoted; ``%2F`` stays inside the id): another
    client's receipt, so the admin token is needed (``X-Admin-Token``)."""

    def __init__(self, service: PrintService, auth_token: str | None,
                 admin_token: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.auth_token = auth_token
        self.admin_token = admin_token

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802
        rest = request.postpath
        if len(rest) == 1 and rest[0] == b"preview.png" and path:
            return JobPreviewResource(self, path.decode("utf-8", "replace"))
        return _NotFound()


class JobPreviewResource(_Worker):
    def __init__(self, jobs: JobsResource, job_id: str) -> None:
        super().__init__(jobs.service)
        self.jobs = jobs
        self.job_id = job_id

    def render_GET(self, request: Request) -> Any:  # noqa: N802
        token = self.jobs.auth_token
        if token is not None and not _token_ok(request, token):
            return _error(request, 401, "Invalid or missing auth token")
        if not request_has_admin(request, self.jobs.admin_token):
            return _error(request, 401, BAD_ADMIN_TOKEN)

        def found(png: bytes | None) -> Answer:
            if png is None:
                return _json(404, {"errors": [f"Unknown job id: {self.job_id}"]})
            return 200, PNG, png

        return self.answer(request, self.service.job_png(self.job_id).addCallback(found),
                           invalid=422)


class _NotFound(Resource):
    isLeaf = True

    def render(self, request: Request) -> bytes:
        return _error(request, 404, "Not found")


def _error(request: Request, code: int, message: str) -> bytes:
    body = json.dumps({"errors": [message]}).encode()
    request.setResponseCode(code)
    request.setHeader(b"content-type", JSON)
    return body


def _token_ok(request: Request, token: str) -> bool:
    """``?token=`` (an ``<img>`` cannot send headers) or ``Authorization: Bearer``."""
    given = (request.args.get(b"token") or [b""])[0]
    header = request.getHeader(b"authorization") or b""
    if header.lower().startswith(b"bearer "):
        given = header[7:].strip()
    return tokens_match(given, token)
