"""The emulator's control API: a tiny JSON-over-HTTP interface for scripts and people.

``GET /state``, ``POST /state`` with ``{"fault": "paper_out"}`` (or
``{"fault": "disconnect_after", "bytes": N}``, ``{"fault": "slow", "rate": N}``,
``{"fault": "power_off"}``: off and on again, the buffer lost, an open cover still open;
``"ready"`` after a
paper-out puts a new roll in), ``GET /received`` (per-connection byte counts and the print
mechanism's figures; ``?raw=1`` adds base64 bytes, with ``paper``: what came out).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from ticketd.emulator.core import ACTIONS, LINE_FAULTS, STATUS_FAULTS, Emulator


def _json(request: Request, body: Any, code: int = 200) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(body).encode() + b"\n"


class StateResource(Resource):
    isLeaf = True

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    def render_GET(self, request: Request) -> bytes:
        return _json(request, dict(self.emulator.state.as_dict(),
                                   mechanism=self.emulator.mechanism.as_dict(),
                                   faults=list(STATUS_FAULTS + LINE_FAULTS + ACTIONS)))

    def render_POST(self, request: Request) -> bytes:
        try:
            body = json.loads(request.content.read() or b"{}")
        except ValueError as e:
            return _json(request, {"error": f"not JSON: {e}"}, 400)
        if not isinstance(body, dict) or not isinstance(body.get("fault"), str):
            return _json(request, {"error": 'expected {"fault": NAME, ...}'}, 400)
        try:
            state = self.emulator.set_fault(body["fault"], nbytes=body.get("bytes"),
                                            rate=body.get("rate"))
        except ValueError as e:
            return _json(request, {"error": str(e)}, 400)
        return _json(request, state.as_dict())


class ReceivedResource(Resource):
    isLeaf = True

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    def render_GET(self, request: Request) -> bytes:
        raw = request.args.get(b"raw", [b"0"])[0] not in (b"0", b"", b"false")
        body = self.emulator.summary()
        if raw:
            body["received"] = base64.b64encode(self.emulator.received).decode()
            body["paper"] = base64.b64encode(self.emulator.paper).decode()
            for entry, record in zip(body["connections"], self.emulator.connections):
                entry["raw"] = base64.b64encode(bytes(record.raw)).decode()
                entry["payload"] = base64.b64encode(bytes(record.payload)).decode()
        return _json(request, body)


def control_site(emulator: Emulator) -> Site:
    root = Resource()
    root.putChild(b"state", StateResource(emulator))
    root.putChild(b"received", ReceivedResource(emulator))
    site = Site(root)
    site.noisy = False
    site.displayTracebacks = False
    return site
