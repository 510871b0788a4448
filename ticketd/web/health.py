"""``GET /health``: Ticket Daemon's fields, plus (extension) each printer's detail; and
``GET /ready``, the same state as an HTTP status code.

:func:`report` is a plain function of the print service's printer snapshots; the resource
only serialises it.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from twisted.web.resource import Resource
from twisted.web.server import Request

import ticketd
from ticketd.config_printer import IN_ORDER_CONFIRM
from ticketd.jobs.service import JournalState, PrinterSnapshot, PrintService
from ticketd.web.access import request_has_admin

DEGRADED_UTILIZATION = 0.9
REALTIME_NOTE = ("no in-order confirmation: a job is printed once the printer has its "
                 "bytes, not once the paper is out")


def summary(printers: tuple[PrinterSnapshot, ...]) -> dict[str, Any]:
    """Ticket Daemon's printer summary. Every configured printer counts as thermal, virtual
    ones too: a POS page that looks for a thermal printer must find one."""
    default = next((p.name for p in printers if p.default), printers[0].name if printers else "")
    return {
        "status": "ok" if printers else "error",
        "detected_count": len(printers),
        "thermal_count": len(printers),
        "default_name": default,
    }


def problems(printers: tuple[PrinterSnapshot, ...], running: bool,
             journal: JournalState = JournalState()) -> list[str]:
    """Why the daemon is not ready to print everything it is sent (empty: ready)."""
    found = [] if running else ["the daemon is not running"]
    if not journal.ok:
        found.append(f"journal: {journal.error}")
    for p in printers:
        if not p.running:
            found.append(f"{p.name}: not running")
        elif not p.status.ok:
            found.append(f"{p.name}: {p.status.text}")
        elif p.queue / p.capacity >= DEGRADED_UTILIZATION:
            found.append(f"{p.name}: queue {p.queue}/{p.capacity}")
    return found


def report(service: PrintService, uptime: float, job_ids: bool = True) -> dict[str, Any]:
    """The ``/health`` body: Ticket Daemon's fields (``status`` ``ok`` or ``degraded``: a
    printer not Ready, a queue at 90 % or more, or the journal failing), then ticketd's
    extensions. Without ``job_ids`` a printing job is only ``true``: any page can read
    this."""
    printers = service.printers()
    journal = service.journal_state()
    current = sum(p.queue for p in printers)
    capacity = sum(p.capacity for p in printers)
    detail = [{
        "name": p.name, "connection": p.connection, "status": p.status.text,
        "ok": p.status.ok, "paper_near_end": p.status.paper_near_end,
        "queue": p.queue, "capacity": p.capacity, "held": p.held,
        "printing": p.printing if job_ids else (True if p.printing else None),
        "jobs_processed": p.jobs_processed, "jobs_failed": p.jobs_failed,
        "last_error": p.last_error,
        # what the status reading said besides its text, e.g. the device it could not open
        "detail": p.status.detail,
        "confirm": p.confirm, "unconfirmed": p.unconfirmed,
        **({} if p.confirm in IN_ORDER_CONFIRM else {"confirm_note": REALTIME_NOTE}),
    } for p in printers]
    return {
        "status": "degraded" if problems(printers, service.running, journal) else "ok",
        "queue": {"current": current, "capacity": capacity,
                  "utilization": round(100.0 * current / capacity, 2) if capacity else 0.0},
        "worker": {"running": all(p.running for p in printers) and bool(printers),
                   "jobs_processed": sum(p.jobs_processed for p in printers),
                   "jobs_failed": sum(p.jobs_failed for p in printers)},
        "printers": summary(printers),
        "build": {"env": "release", "date": "unknown", "time": "unknown",
                  "name": "ticketd", "version": ticketd.__version__},
        "uptime": int(uptime),
        # extensions
        "uptime_seconds": int(uptime),
        "printer_detail": detail,
        "journal": {"ok": journal.ok, "error": journal.error},
    }


class HealthResource(Resource):
    """``GET /health``, readable from any page (``Access-Control-Allow-Origin: *``, as Ticket
    Daemon serves it) and always 200 while the daemon runs: the state is in the body. The
    printing job's id only with the admin token (``X-Admin-Token``, which a page on another
    origin cannot send: no CORS preflight is answered)."""

    isLeaf = True

    def __init__(self, service: PrintService, started: float,
                 now: Callable[[], float], admin_token: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.started = started
        self.now = now
        self.admin_token = admin_token

    def render_GET(self, request: Request) -> bytes:
        body = report(self.service, self.now() - self.started,
                      job_ids=request_has_admin(request, self.admin_token))
        return _json(request, 200, body)


class ReadyResource(Resource):
    """``GET /ready``: 200 when every printer is Ready and no queue is nearly full, else 503
    with the reasons, for monitors that read only the status code."""

    isLeaf = True

    def __init__(self, service: PrintService) -> None:
        super().__init__()
        self.service = service

    def render_GET(self, request: Request) -> bytes:
        found = problems(self.service.printers(), self.service.running,
                         self.service.journal_state())
        return _json(request, 503 if found else 200, {"ready": not found, "problems": found})


def _json(request: Request, code: int, body: Any) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"access-control-allow-origin", b"*")
    return json.dumps(body).encode()
