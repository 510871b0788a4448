"""Receipt pictures and text for previews: plain functions, run in a thread by the print
service (:mod:`ticketd.jobs.service`).

Documents are rendered to ESC/POS first and the bytes drawn by the ESC/POS interpreter
(:mod:`ticketd.receipt_image`), so a preview shows what the printer gets; raw jobs are
drawn as they are.
"""

from __future__ import annotations

from typing import Any

from ticketd.jobs.model import Job, JobKind


def document_png(document: Any) -> bytes:
    """A v1 document (JSON bytes or parsed) → its receipt as PNG, as wide as its paper.
    Raises DocumentError for an invalid document."""
    from ticketd.documents import render
    from ticketd.receipt_image import render_png

    rendered = render(document)
    return render_png(rendered.data, dots=rendered.profile.dots)


def document_text(document: Any) -> list[str]:
    """The receipt's text lines as the ESC/POS interpreter reads them back."""
    from ticketd.documents import render
    from ticketd.receipt_image import render_text

    rendered = render(document)
    return list(render_text(rendered.data, dots=rendered.profile.dots))


def job_png(job: Job, dots: int) -> bytes:
    """A journaled job's picture: documents are rendered again (the same bytes as printed),
    raw jobs drawn ``dots`` wide (their printer's width). DocumentError for a document that
    no longer renders."""
    if job.kind is JobKind.RAW:
        from ticketd.receipt_image import render_png
        return render_png(bytes(job.payload or b""), dots=dots)
    return document_png(job.document())


def validate_document(document: Any, strict: bool = False) -> list[str]:
    """The document's categorized errors (empty when it is valid); ``strict``: what intake
    had to interpret is an error too."""
    from ticketd.documents import validate

    return list(validate(document, strict=strict))
