"""``GET /health``: Ticket Daemon's fields, plus (extension) each printer's detail.

:func:`report` is a plain function of the manager's state; the resource only serialises it.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request

import ticketd
from ticketd.jobs.manager import JobManager

DEGRADED_UTILIZATION = 0.9
THERMAL = ("network", "serial", "usb", "file", "cups", "win32")


def printer_type(connection: str) -> str:
    """Ticket Daemon's guess: receipt printers are thermal; ours may be virtual too."""
    return "virtual" if connection == "virtual" else "thermal"


def summary(manager: JobManager) -> dict[str, Any]:
    printers = manager.config.printers
    thermal = sum(1 for p in printers if p.connection in THERMAL)
    default = next((p.name for p in printers if p.default), printers[0].name if printers else "")
    return {
        "status": "ok" if thermal else ("warning" if printers else "error"),
        "detected_count": len(printers),
        "thermal_count": thermal,
        "default_name": default,
    }


def report(manager: JobManager, uptime: float) -> tuple[int, dict[str, Any]]:
    """(HTTP code, body). Degraded (503): a printer not Ready, or a queue ≥ 90 % full."""
    queues = list(manager.queues.values())
    current = sum(q.length for q in queues)
    capacity = sum(q.config.queue_capacity for q in queues)
    detail = []
    degraded = not manager.running
    for q in queues:
        full = q.length / q.config.queue_capacity
        if not q.status.ok or full >= DEGRADED_UTILIZATION or not q.running:
            degraded = True
        detail.append({
            "name": q.printer, "connection": q.config.connection, "status": q.status.text,
            "ok": q.status.ok, "paper_near_end": q.status.paper_near_end,
            "queue": q.length, "capacity": q.config.queue_capacity, "held": q.held,
            "printing": q.current.id if q.current is not None and q.writing else None,
            "jobs_processed": q.jobs_processed, "jobs_failed": q.jobs_failed,
            "last_error": q.last_error,
        })
    body = {
        "status": "degraded" if degraded else "ok",
        "queue": {"current": current, "capacity": capacity,
                  "utilization": round(current / capacity, 4) if capacity else 0.0},
        "worker": {"running": all(q.running for q in queues) and bool(queues),
                   "jobs_processed": sum(q.jobs_processed for q in queues),
                   "jobs_failed": sum(q.jobs_failed for q in queues)},
        "printers": summary(manager),
        "build": {"name": "ticketd", "version": ticketd.__version__},
        "uptime_seconds": int(uptime),
        "printer_detail": detail,
    }
    return (503 if degraded else 200), body


class HealthResource(Resource):
    isLeaf = True

    def __init__(self, manager: JobManager, started: float) -> None:
        super().__init__()
        self.manager = manager
        self.started = started

    def render_GET(self, request: Request) -> bytes:
        code, body = report(self.manager, self.manager.clock.seconds() - self.started)
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(body).encode()
