"""Receipt pictures over HTTP: ``POST /preview``, ``POST /validate`` and
``GET /jobs/<id>/preview.png``.

The work (validation, rendering, drawing the PNG) is plain functions run through an injected
thread runner, never on the reactor, and at most :data:`PARALLEL` at a time so that a burst
of previews cannot starve the printers' threads of CPU. Bad input always gets a clear answer:
400 with ``{"errors": ["VALIDATION: ...", ...]}`` (the categories of the WebSocket API),
413 for a body over ``server.max_message_size``.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Callable

from twisted.internet.defer import Deferred, DeferredSemaphore
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ticketd.jobs.model import Job, JobKind

PARALLEL = 2
Run = Callable[..., Deferred[Any]]
Answer = tuple[int, bytes, bytes]  # (HTTP code, content type, body)
JSON = b"application/json"
PNG = b"image/png"


# --- plain functions (run in a thread) ----------------------------------------------------

def _json(code: int, body: Any) -> Answer:
    return code, JSON, json.dumps(body).encode()


def preview_document(body: bytes, fmt: str = "png") -> Answer:
    """A v1 document (JSON bytes) → its receipt as PNG (or text lines), or 400 + errors."""
    from ticketd.documents import DocumentError, render
    from ticketd.receipt_image import render_png, render_text

    try:
        rendered = render(body)
    except DocumentError as e:
        return _json(400, {"errors": e.errors})
    dots = rendered.profile.dots
    if fmt == "text":
        text = "\n".join(render_text(rendered.data, dots=dots)) + "\n"
        return 200, b"text/plain; charset=utf-8", text.encode("utf-8")
    return 200, PNG, render_png(rendered.data, dots=dots)


def validate_document(body: bytes) -> Answer:
    """``{"valid": bool, "errors": [...]}`` for a v1 document (JSON bytes); always 200."""
    from ticketd.documents import validate

    errors = validate(body)
    return _json(200, {"valid": not errors, "errors": errors})


def job_png(job: Job, dots: int) -> Answer:
    """A journaled job's picture: documents are rendered again (same bytes as printed),
    raw jobs are drawn as they are, ``dots`` wide (the printer's width)."""
    from ticketd.receipt_image import render_png

    if job.kind is JobKind.RAW:
        return 200, PNG, render_png(bytes(job.payload or b""), dots=dots)
    from ticketd.documents import DocumentError, render
    try:
        rendered = render(job.document())
    except DocumentError as e:
        return _json(422, {"errors": e.errors})
    return 200, PNG, render_png(rendered.data, dots=rendered.profile.dots)


# --- resources ----------------------------------------------------------------------------

class _Worker(Resource):
    """Runs one plain function per request in a thread and writes its Answer."""

    isLeaf = True
    log = Logger()

    def __init__(self, run: Run, limit: DeferredSemaphore) -> None:
        super().__init__()
        self.run = run
        self.limit = limit

    def answer(self, request: Request, f: Callable[..., Answer], *args: Any) -> Any:
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
            self.log.failure("{path}: request failed", f, path=request.path)
            if not gone:
                write(_json(500, {"errors": ["ERROR: internal error, nothing was rendered"]}))

        d = self.limit.run(self.run, f, *args)
        d.addCallbacks(write, failed)
        return NOT_DONE_YET


class _DocumentPost(_Worker):
    """A POST whose body is one v1 document, at most ``max_size`` bytes."""

    def __init__(self, run: Run, limit: DeferredSemaphore, max_size: int) -> None:
        super().__init__(run, limit)
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
        return self.answer(request, preview_document, data, fmt)


class ValidateResource(_DocumentPost):
    """``POST /validate``: the document's errors, for validation as you type."""

    def render_POST(self, request: Request) -> Any:  # noqa: N802
        data = self.body(request)
        if data is None:
            return NOT_DONE_YET
        return self.answer(request, validate_document, data)


class JobsResource(Resource):
    """``/jobs/<id>/preview.png`` (the id URL-quoted; ``%2F`` stays inside the id)."""

    def __init__(self, manager: Any, run: Run, limit: DeferredSemaphore, dots: Callable[[str], int],
                 auth_token: str | None) -> None:
        super().__init__()
        self.manager, self.run, self.limit = manager, run, limit
        self.dots = dots
        self.auth_token = auth_token

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802
        rest = request.postpath
        if len(rest) == 1 and rest[0] == b"preview.png" and path:
            return JobPreviewResource(self, path.decode("utf-8", "replace"))
        return _NotFound()


class JobPreviewResource(_Worker):
    def __init__(self, jobs: JobsResource, job_id: str) -> None:
        super().__init__(jobs.run, jobs.limit)
        self.jobs = jobs
        self.job_id = job_id

    def render_GET(self, request: Request) -> Any:  # noqa: N802
        token = self.jobs.auth_token
        if token is not None and not _token_ok(request, token):
            return _error(request, 401, "Invalid or missing auth token")
        committer = self.jobs.manager.committer
        d = committer.read(committer.journal.get, self.job_id, True)

        def found(job: Job | None) -> None:
            if job is None or job.payload is None:
                _error(request, 404, f"Unknown job id: {self.job_id}", finish=True)
                return
            self.answer(request, job_png, job, self.jobs.dots(job.printer))

        d.addCallback(found)
        d.addErrback(lambda f: (self.log.failure("job preview", f),
                                _error(request, 500, "ERROR: internal error", finish=True)))
        return NOT_DONE_YET


class _NotFound(Resource):
    isLeaf = True

    def render(self, request: Request) -> bytes:
        return _error(request, 404, "Not found")


def _error(request: Request, code: int, message: str, finish: bool = False) -> bytes:
    body = json.dumps({"errors": [message]}).encode()
    request.setResponseCode(code)
    request.setHeader(b"content-type", JSON)
    if finish:
        request.write(body)
        request.finish()
    return body


def _token_ok(request: Request, token: str) -> bool:
    """``?token=`` (an ``<img>`` cannot send headers) or ``Authorization: Bearer``."""
    given = (request.args.get(b"token") or [b""])[0]
    header = request.getHeader(b"authorization") or b""
    if header.lower().startswith(b"bearer "):
        given = header[7:].strip()
    return hmac.compare_digest(given, token.encode("utf-8"))
