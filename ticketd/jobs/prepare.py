"""Turning a job into the bytes for its printer (runs in the printer's thread)."""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger

from ticketd.jobs.model import Job, JobKind
from ticketd.jobs.printer_work import Prepare, PreparationError
from ticketd.jobs.render_processes import RenderProcesses


log = Logger()


def preparer(image_cache: Any = None, *, strict: bool = False,
             processes: RenderProcesses | None = None) -> Prepare:
    """A ``prepare(job) -> (bytes, warnings)`` that renders documents with a shared,
    thread-safe image cache (a shop logo is converted once for every printer), or in one
    of the render ``processes`` when one is idle (with the process's own cache).
    ``strict`` (``[server] strict_documents``): a document intake had to interpret fails
    instead."""

    def in_this_thread(payload: bytes, checked: bool) -> tuple[bytes, tuple[str, ...]]:
        from ticketd.documents import DocumentError, render_kept
        try:  # checked: read and validated when it was submitted (admission.py)
            rendered = render_kept(payload, checked=checked, strict=strict,
                                   image_cache=image_cache)
        except DocumentError as e:
            raise PreparationError(str(e)) from None
        return rendered.data, tuple(rendered.warnings)

    def prepare(job: Job) -> tuple[bytes, tuple[str, ...]]:
        if job.payload is None:
            raise ValueError(f"job {job.id}: its payload is not in memory")
        payload = bytes(job.payload)
        if job.kind is JobKind.RAW:
            return payload, ()
        made = processes.render(payload, job.checked, strict) if processes else None
        data, warnings = made if made is not None else in_this_thread(payload, job.checked)
        if warnings:
            log.info("job {job}: rendered with {n} warning(s): {warnings}", job=job.id,
                     n=len(warnings), warnings="; ".join(warnings))
        if job.checked:  # intake's warnings came with the job; a second render repeats
            warnings = tuple(dict.fromkeys(job.warnings + warnings))
        return data, warnings

    return prepare
