"""``GET /health``: Ticket Daemon's fields, plus (extension) each printer's detail.

:func:`report` is a plain function of the print service's printer snapshots; the resource
only serialises it.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from twisted.web.resource import Resource
from twisted.web.server import Request

import ticketd
from ticketd.jobs.service import PrinterSnapshot, PrintService

DEGRADED_UTILIZATION = 0.9
THERMAL = ("network", "serial", "usb", "file", "cups", "win32")


def summary(printers: tuple[PrinterSnapshot, ...]) -> dict[str, Any]:
    thermal = sum(1 for p in printers if p.connection in THERMAL)
    default = next((p.name for p in printers if p.default), printers[0].name if printers else "")
    return {
        "status": "ok" if thermal else ("warning" if printers else "error"),
        "detected_count": len(printers),
        "thermal_count": thermal,
        "default_name": default,
    }


def report(service: PrintService, uptime: float) -> tuple[int, dict[str, Any]]:
    """(HTTP code, body). Degraded (503): a printer not Ready, or a queue ≥ 90 % full."""
    printers = service.printers()
    current = sum(p.queue for p in printers)
    capacity = sum(p.capacity for p in printers)
    detail = []
    degraded = not service.running
    for p in printers:
        if not p.status.ok or p.queue / p.capacity >= DEGRADED_UTILIZATION or not p.running:
            degraded = True
        detail.append({
            "name": p.name, "connection": p.connection, "status": p.status.text,
            "ok": p.status.ok, "paper_near_end": p.status.paper_near_end,
            "queue": p.queue, "capacity": p.capacity, "held": p.held,
            "printing": p.printing,
            "jobs_processed": p.jobs_processed, "jobs_failed": p.jobs_failed,
            "last_error": p.last_error,
        })
    body = {
        "status": "degraded" if degraded else "ok",
        "queue": {"current": current, "capacity": capacity,
                  "utilization": round(current / capacity, 4) if capacity else 0.0},
        "worker": {"running": all(p.running for p in printers) and bool(printers),
                   "jobs_processed": sum(p.jobs_processed for p in printers),
                   "jobs_failed": sum(p.jobs_failed for p in printers)},
        "printers": summary(printers),
        "build": {"name": "ticketd", "version": ticketd.__version__},
        "uptime_seconds": int(uptime),
        "printer_detail": detail,
    }
    return (503 if degraded else 200), body


class HealthResource(Resource):
    isLeaf = True

    def __init__(self, service: PrintService, started: float,
                 now: Callable[[], float]) -> None:
        super().__init__()
        self.service = service
        self.started = started
        self.now = now

    def render_GET(self, request: Request) -> bytes:
        code, body = report(self.service, self.now() - self.started)
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(body).encode()
