"""Exact in what we send: over one connection, every request type (Ticket Daemon's and
ticketd's own), good and bad, and a job held for paper then printed; every server message
validates against Ticket Daemon's schema (docs/schemas/upstream-websocket.schema.json) once
the fields ticketd adds are removed."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from ticketd.printers.status import READY, PrinterStatus
from ticketd.web.messages import Hub
from tests.fakes import Rig, config
from tests.test_ws_messages import DOC, PRINTERS

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "docs" / "schemas" /
                     "upstream-websocket.schema.json").read_text())
DEFINITIONS = SCHEMA["definitions"]
BY_TIPO = {"info": "InfoResponse", "ack": "AckResponse", "result": "ResultResponse",
           "error": "ErrorResponse", "pong": "PongResponse", "status": "StatusResponse",
           "printers": "PrintersResponse"}
PAPER_OUT = PrinterStatus(online=False, paper_out=True)


def upstream_part(message: dict[str, Any], definition: str) -> dict[str, Any]:
    """``message`` without the fields the upstream definition does not have (recursively
    for the printers' listing)."""
    schema = DEFINITIONS[definition]
    kept = {k: v for k, v in message.items() if k in schema["properties"]}
    if definition == "PrintersResponse":
        kept["printers"] = [upstream_part(p, "PrinterDetail") for p in kept["printers"]]
        kept["summary"] = upstream_part(kept["summary"], "PrinterSummary")
    return kept


def validator(definition: str) -> Draft7Validator:
    return Draft7Validator({"$ref": f"#/definitions/{definition}",
                            "definitions": DEFINITIONS})


def check(message: dict[str, Any]) -> list[str]:
    """The upstream schema's complaints about ``message`` (empty: it conforms)."""
    definition = BY_TIPO[message["tipo"]]
    return [e.message for e in validator(definition).iter_errors(
        upstream_part(message, definition))]


class UpstreamSchemaTests(TestCase):
    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), PRINTERS))
        self.rig.start()
        self.hub = Hub(self.rig.service, clock=self.rig.clock)
        self.hub.start()
        self.out: list[dict[str, Any]] = []
        self.session = self.hub.open(self.out.append, "schema")

    def tearDown(self) -> Deferred[None]:
        self.hub.stop()
        return self.rig.stop()

    def send(self, message: Any) -> None:
        frame = message if isinstance(message, (bytes, str)) else json.dumps(message)
        self.session.received(frame, binary=isinstance(frame, bytes) and frame[:1] == b"\0")
        self.rig.clock.advance(0)

    def raw(self, job_id: str, data: bytes = b"\x1b@hi\n", **datos: Any) -> dict[str, Any]:
        return {"tipo": "raw", "id": job_id,
                "datos": {"data": base64.b64encode(data).decode(), **datos}}

    def test_every_request_type_good_and_bad(self) -> None:
        conn = self.rig.connections["p1"]
        requests: list[Any] = [
            {"tipo": "ticket", "id": "t-good", "datos": DOC},
            {"tipo": "ticket", "id": "t-bad", "datos": {"version": "1.0", "commands": [
                {"type": "text", "data": {"content": {"text": "x", "content_style": {
                    "size": "9x1"}}}}]}},
            {"tipo": "ticket", "id": "t-none"},
            {"tipo": "ticket", "id": "t-list", "datos": []},
            self.raw("r-good"), {"tipo": "raw", "id": "r-bad", "datos": {"data": "!!"}},
            self.raw("r-nowhere", printer="nowhere"),
            {"tipo": "status"}, {"tipo": "status", "datos": {"printer": "p2"}},
            {"tipo": "status", "datos": {"printer": "nope"}},
            {"tipo": "ping", "id": "p-1"}, {"tipo": "ping", "id": 42}, {"tipo": "ping"},
            {"tipo": "get_printers"},
            {"tipo": "job_status", "id": "r-good"}, {"tipo": "job_status", "id": "zz"},
            {"tipo": "job_status"},
            {"tipo": "cancel", "id": "r-good"}, {"tipo": "cancel", "id": "zz"},
            {"tipo": "subscribe"}, {"tipo": "validate", "id": "v", "datos": DOC},
            {"tipo": "validate", "id": "v-bad", "datos": {"commands": "no"}},
            {"tipo": "nope"}, {"no": "tipo"}, "{not json", "[1, 2]", b"\0binary",
            self.raw("r-good"),  # the same id again: a duplicate
            # the operator's messages (no admin token configured here)
            {"tipo": "reprint", "datos": {"job": "r-good"}},
            {"tipo": "reprint", "id": "re-2", "datos": {"job": "zz"}},
            {"tipo": "pause", "datos": {"printer": "p2"}}, {"tipo": "clear", "id": "cl",
                                                            "datos": {"printer": "p2"}},
            {"tipo": "resume", "datos": {"printer": "p2"}},
            {"tipo": "test_page", "id": "tp", "datos": {"printer": "p2"}},
            {"tipo": "pause", "datos": {"printer": "nope"}}, {"tipo": "reprint"},
        ]
        for request in requests:
            self.send(request)
        # a job held for paper, its hold seen, cancelled; another held, then printed
        conn.status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.send(self.raw("h-cancel"))
        self.send(self.raw("h-print"))
        self.send({"tipo": "cancel", "id": "h-cancel"})
        conn.status = READY
        self.rig.clock.advance(5)

        tipos = [m["tipo"] for m in self.out]
        for expected in ("info", "ack", "result", "error", "pong", "status", "printers"):
            self.assertIn(expected, tipos)
        self.assertLessEqual({"held", "resumed", "connected"},
                             {m["status"] for m in self.out if m["tipo"] == "info"})
        for message in self.out:
            self.assertIn(message["tipo"], BY_TIPO, message)
            self.assertEqual(check(message), [], message)
        extensions = {m["status"] for m in self.out if m["tipo"] == "info"}
        self.assertLessEqual({"job", "validation", "snapshot", "event", "paused",
                              "resumed_printer", "cleared"}, extensions)
        results = {m["id"]: m for m in self.out if m["tipo"] == "result"}
        self.assertEqual((results["tp"]["status"], results["r-good~reprint-1"]["status"]),
                         ("success", "success"))
        self.assertEqual((results["h-print"]["status"], results["h-print"]["state"]),
                         ("success", "printed"))
        self.assertEqual((results["h-cancel"]["status"], results["h-cancel"]["state"]),
                         ("error", "cancelled"))
        self.assertTrue(results["h-cancel"]["mensaje"].startswith("CANCELLED: "))

    def test_held_job_seen_by_a_client_that_ignores_unknown_fields(self) -> None:
        conn = self.rig.connections["p1"]
        conn.status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.out.clear()
        self.send(self.raw("held"))
        conn.status = READY
        self.rig.clock.advance(5)
        seen = [(m["tipo"], m.get("status"), m.get("mensaje")) for m in self.out]
        self.assertEqual(seen, [
            ("ack", "queued", "Job queued for printing"),
            ("info", "held", "Waiting: Out of paper (job held prints when the printer is "
                             "ready)"),
            ("info", "resumed", "Resumed: the printer is ready, job held is next in its "
                                "queue"),
            ("result", "success", "Printed")])
