"""The server → client messages of the WebSocket API, as plain dicts (docs/protocol.rst,
"WebSocket API").

Kept apart from the handler so that every message's exact shape is in one place: existing
Ticket Daemon clients read ``tipo``, ``id``, ``status``, ``mensaje``, ``current`` and
``capacity``; everything else here is an extension they ignore. Absent fields are omitted.
"""

from __future__ import annotations

import json
from typing import Any

from ticketd.jobs.model import Job, JobState

Message = dict[str, Any]

GREETING = "ticketd: connected, ready to print"
QUEUED = "Job queued for printing"
DUPLICATE = "Job already received: it is not printed again"
PRINTED = "Printed"
BAD_TOKEN = "Invalid or missing auth token"
RATE_LIMITED = "Rate limit exceeded: please wait before submitting more jobs"
BINARY = "Binary messages are not supported: send one JSON object per text frame"
INTERNAL = "ERROR: internal error, the request was not carried out"
SLOW_READER = "Too many messages wait unsent: read them, then reconnect"


def encode(message: Message) -> bytes:
    """One text frame's payload. ASCII-escaped so that any echoed text (even a lone
    surrogate from a ``\\ud800`` escape) always encodes; JSON clients decode it the same."""
    return json.dumps(message, separators=(",", ":")).encode("ascii")


class Shared(dict):  # type: ignore[type-arg]
    """A message that goes to many connections (the live feed): encoded once, and framed
    once as an Autobahn prepared message (``ws.py``), however many connections get it.
    It is the message dict itself, so everything that reads messages reads it as one."""

    _data: bytes | None = None
    prepared: Any = None  # the adapter's prepared frame, made by the first connection

    def encoded(self) -> bytes:
        if self._data is None:
            self._data = encode(self)
        return self._data


def _with_id(message: Message, job_id: str | None) -> Message:
    if job_id is not None:
        message["id"] = job_id
    return message


def info() -> Message:
    return {"tipo": "info", "status": "connected", "mensaje": GREETING}


def error(mensaje: str, job_id: str | None = None) -> Message:
    return _with_id({"tipo": "error", "status": "error", "mensaje": mensaje}, job_id)


def pong(ping_id: Any) -> Message:
    """Upstream's ``id`` is a string: a numeric ping id comes back as its string."""
    message: Message = {"tipo": "pong", "status": "ok"}
    if ping_id is not None:
        message["id"] = ping_id if isinstance(ping_id, str) else _number_text(ping_id)
    return message


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ack(job_id: str, *, printer: str, current: int, capacity: int, position: int | None,
        duplicate: bool = False, state: JobState | None = None) -> Message:
    """``status`` is always ``queued`` (upstream's only value); a repeated id says so in
    the extensions ``duplicate`` and ``state``."""
    message: Message = {"tipo": "ack", "id": job_id, "status": "queued",
                        "current": current, "capacity": capacity,
                        "mensaje": DUPLICATE if duplicate else QUEUED, "printer": printer}
    if position is not None:
        message["position"] = position
    if duplicate:
        message["duplicate"] = True
        if state is not None:
            message["state"] = state.value
    return message


def queue_status(current: int, capacity: int, request_id: Any = None, *,
                 printer: str | None = None,
                 printers: list[dict[str, Any]] | None = None) -> Message:
    """The queue figures: of one printer (``printer``, when the request named one), else the
    totals of all printers, as ``/health`` has them, with each printer's figures in the
    extension ``printers``."""
    message: Message = {"tipo": "status", "status": "ok", "current": current,
                        "capacity": capacity, "mensaje": f"Queue: {current}/{capacity}"}
    if printer is not None:
        message["printer"] = printer
    if printers is not None:
        message["printers"] = printers
    if request_id is not None:
        message["id"] = request_id
    return message


def outcome(job: Job) -> tuple[str, str]:
    """(status, mensaje) of an ended job. A job cancelled by someone else reads as an error
    to the client that sent it: old clients know only ``success`` and ``error``."""
    if job.state is JobState.PRINTED:
        return "success", PRINTED
    return "error", job.reason or f"ERROR: job {job.state.value}"


def result(job: Job) -> Message:
    """``status`` is ``success`` or ``error`` only; the extension ``state`` says which end
    it was (a cancelled job: ``error``, ``CANCELLED: ...``, ``state: "cancelled"``)."""
    status, mensaje = outcome(job)
    message: Message = {"tipo": "result", "id": job.id, "status": status, "mensaje": mensaje,
                        "state": job.state.value}
    if job.warnings:
        message["warnings"] = list(job.warnings)
    return message


def held(job_id: str, progress: str | None) -> Message:
    """A job of this connection waits for its printer (an ``info``, which every client
    handles): ``Waiting: Out of paper (job 42 prints when the printer is ready)``."""
    waiting = progress or "Waiting for the printer"
    return {"tipo": "info", "id": job_id, "status": "held",
            "mensaje": f"{waiting} (job {job_id} prints when the printer is ready)"}


def sent(job_id: str) -> Message:
    """The printer has all of the job; ``result`` follows when it confirms the paper."""
    return {"tipo": "info", "id": job_id, "status": "sent",
            "mensaje": f"Sent: the printer has job {job_id}; printed once the printer "
                       "confirms the paper came out"}


def stopped_inside(job_id: str, progress: str) -> Message:
    """A fault stopped the printer inside the job (``held``, with ``mid_job``): it finishes
    by itself when the fault is cleared, never sent twice."""
    return {"tipo": "info", "id": job_id, "status": "held", "mid_job": True,
            "mensaje": f"{progress}: job {job_id} finishes when the printer is ready, "
                       "without being sent again"}


def resumed(job_id: str) -> Message:
    return {"tipo": "info", "id": job_id, "status": "resumed",
            "mensaje": f"Resumed: the printer is ready, job {job_id} is next in its queue"}


def extension(kind: str, mensaje: str, **fields: Any) -> Message:
    """A reply to one of ticketd's own requests: an ``info`` (a type every Ticket Daemon
    client knows, whose ``status`` is free text) with ``status`` naming what it carries."""
    return {"tipo": "info", "status": kind, "mensaje": mensaje, **fields}


def job_state(job: Job, position: int | None = None, waiting: str | None = None) -> Message:
    """``job_status`` reply (extension): the state and, once ended, the result fields.
    ``waiting``: why a queued job waits (its printer paused by the operator)."""
    if job.state.final:
        result, mensaje = outcome(job)
    else:
        result, mensaje = None, waiting or job.reason or f"Job {job.id} is {job.state.value}"
    message = extension("job", mensaje, id=job.id, state=job.state.value, printer=job.printer)
    if job.reprint_of is not None:
        message["reprint_of"] = job.reprint_of
    if position is not None and job.state.waiting:
        message["position"] = position
    if result is not None:
        message["result"] = result
        if job.warnings:
            message["warnings"] = list(job.warnings)
    return message


def printers(listing: list[dict[str, Any]], summary: dict[str, Any]) -> Message:
    return {"tipo": "printers", "status": "ok", "printers": listing, "summary": summary}
