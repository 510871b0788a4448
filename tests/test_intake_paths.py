"""Intake warnings travel with the job, and strict mode reaches every door: the job, the
WebSocket ``result``, ``job_status``, the dashboard feed and the job's log line; ``validate``
with ``"strict": true``, ``POST /validate?strict=1`` and ``[server] strict_documents``."""
from __future__ import annotations

import io
import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase
from twisted.web.test.requesthelper import DummyRequest

from ticketd.jobs.model import Job, JobKind
from ticketd.jobs.prepare import preparer
from ticketd.jobs.printer_work import PreparationError
from ticketd.web.messages import Hub
from ticketd.web.preview_resources import ValidateResource
from tests.fakes import Rig, config
from tests.test_ws_messages import PRINTERS, Client

OLD = {"version": "1.0", "profile": {"model": "58mm PT-210", "width": 384},
       "commands": [{"type": "text", "data": {"content": "Hola", "style": {"bold": True}}},
                    {"type": "logo", "data": {}},
                    {"type": "cut", "data": {"mode": "PARTIAL"}}]}
WARNINGS = ["profile.width: read as paper_width",
            "profile.paper_width: 384 dots read as 58 mm",
            "commands[0].data.content: a plain string, read as content.text",
            "commands[0].data.style: read as content.content_style",
            "commands[1].type: unknown command type 'logo', skipped",
            "commands[2].data.mode: 'PARTIAL' read as 'partial'"]


class Base(TestCase):
    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), PRINTERS))
        self.rig.start()
        self.hub = Hub(self.rig.service, clock=self.rig.clock)
        self.hub.start()
        self.c = Client(self.hub)

    def tearDown(self) -> Deferred:
        self.hub.stop()
        return self.rig.stop()


class WarningsTravelTests(Base):
    def test_job_result_job_status_feed_and_log(self) -> None:
        logged: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        feed = Client(self.hub)
        feed({"tipo": "subscribe"})
        self.c({"tipo": "ticket", "id": "old", "datos": OLD})
        result = self.c.out[-1]
        self.assertEqual((result["tipo"], result["status"]), ("result", "success"))
        self.assertEqual(result["warnings"], WARNINGS)
        status = Client(self.hub)({"tipo": "job_status", "id": "old"})
        self.assertEqual(status["warnings"], WARNINGS)
        events = [m for m in feed.out if m.get("event") == "job"]
        self.assertEqual(events[-1]["job"]["warnings"], WARNINGS)
        lines = [e for e in logged if e.get("job") == "old" and "warnings" in e]
        self.assertEqual(lines[0]["warnings"], "; ".join(WARNINGS))
        self.assertIn(b"Hola", self.rig.connections["p1"].writes[0][1])


class StrictTests(Base):
    def test_websocket_validate_strict(self) -> None:
        reply = self.c({"tipo": "validate", "id": "v", "datos": OLD})
        self.assertEqual((reply["valid"], reply["errors"]), (True, []))
        reply = self.c({"tipo": "validate", "id": "s", "datos": OLD, "strict": True})
        self.assertFalse(reply["valid"])
        self.assertEqual(reply["errors"], ["VALIDATION: " + w for w in WARNINGS])

    def test_http_validate_strict(self) -> None:
        resource = ValidateResource(self.rig.service, 1 << 20)

        def post(args: dict[bytes, list[bytes]]) -> dict[str, Any]:
            request = DummyRequest([b""])
            request.method = b"POST"
            request.args = args
            request.content = io.BytesIO(json.dumps(OLD).encode())
            resource.render(request)
            return json.loads(b"".join(request.written))

        self.assertEqual(post({}), {"valid": True, "errors": []})
        strict = post({b"strict": [b"1"]})
        self.assertEqual(strict["errors"], ["VALIDATION: " + w for w in WARNINGS])

    def test_strict_documents_refuse_the_job(self) -> None:
        self.rig.service._strict = True  # [server] strict_documents
        self.c({"tipo": "ticket", "id": "strict", "datos": OLD})
        self.assertEqual(self.c.tipos(), ["info", "error"])  # at once, never acked
        error = self.c.out[-1]
        self.assertEqual(error["id"], "strict")
        self.assertTrue(error["mensaje"].startswith(
            "VALIDATION: profile.width: read as paper_width; "), error)
        self.assertEqual(self.rig.connections["p1"].writes, [])

    def test_strict_rendering_of_a_recovered_job(self) -> None:
        """A job not validated at submission (recovered from an older journal) is read
        in full when it is rendered, strict mode included."""
        job = Job(id="old", printer="p1", source="ws", kind=JobKind.DOCUMENT,
                  payload=json.dumps(OLD).encode(), created=0.0)
        self.assertRaises(PreparationError, preparer(strict=True), job)
        data, warnings = preparer()(job)
        self.assertEqual(list(warnings), WARNINGS)

    def test_config_switch(self) -> None:
        self.assertFalse(self.rig.config.server.strict_documents)
        cfg = config(self.mktemp(), "[server]\nstrict_documents = true\n" + PRINTERS)
        self.assertTrue(cfg.server.strict_documents)
