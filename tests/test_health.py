"""``/health`` as Ticket Daemon serves it (CORS-open, 200 while running, the state in the
body, its schema) and ``/ready``, the same judgement as a status code."""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase
from twisted.web.test.requesthelper import DummyRequest

from ticketd.jobs.model import JobKind
from ticketd.printers import status
from ticketd.printers.status import PrinterStatus
from ticketd.web.health import HealthResource, ReadyResource
from ticketd.web.live import snapshot
from tests.fakes import Rig, config
from tests.test_upstream_schema import upstream_part, validator

PAPER_OUT = PrinterStatus(online=False, paper_out=True)
PRINTERS = ('[printers.p1]\nconnection = "virtual"\nqueue_capacity = 4\ndefault = true\n'
            '[printers.p2]\nconnection = "virtual"\nqueue_capacity = 6\n')


def get(resource: Any, origin: bytes = b"https://pos.example.com"
        ) -> tuple[int, dict[str, Any], DummyRequest]:
    """A GET from a page on another origin."""
    request = DummyRequest([b""])
    request.requestHeaders.setRawHeaders(b"origin", [origin])
    body = resource.render_GET(request)
    return request.responseCode or 200, json.loads(body), request


class HealthTests(TestCase):
    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), PRINTERS))
        self.rig.start()
        self.health = HealthResource(self.rig.service, self.rig.clock.seconds() - 61,
                                     self.rig.clock.seconds)
        self.ready = ReadyResource(self.rig.service)

    def tearDown(self) -> Deferred[None]:
        return self.rig.stop()

    def test_ok_body_follows_the_upstream_schema(self) -> None:
        code, body, request = get(self.health)
        self.assertEqual(code, 200)
        self.assertEqual(request.responseHeaders.getRawHeaders(b"access-control-allow-origin"),
                         [b"*"])
        self.assertEqual(body["status"], "ok")
        self.assertEqual((body["uptime"], body["uptime_seconds"]), (61, 61))
        self.assertEqual(body["queue"], {"current": 0, "capacity": 10, "utilization": 0.0})
        self.assertEqual(body["printers"], {"status": "ok", "detected_count": 2,
                                            "thermal_count": 2, "default_name": "p1"})
        errors = [e.message for e in validator("HealthResponse").iter_errors(
            upstream_part(body, "HealthResponse"))]
        self.assertEqual(errors, [])
        self.assertEqual(get(self.ready)[:2], (200, {"ready": True, "problems": []}))

    def test_paper_out_is_200_with_the_state_in_the_body_and_ready_503(self) -> None:
        self.rig.connections["p1"].status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.rig.manager.submit(job_id="j1", printer="p1", source="test",
                                kind=JobKind.RAW, payload=b"x")
        code, body, request = get(self.health)
        self.assertEqual((code, body["status"]), (200, "degraded"))
        self.assertEqual(body["queue"], {"current": 1, "capacity": 10, "utilization": 10.0})
        p1 = body["printer_detail"][0]
        self.assertEqual((p1["status"], p1["ok"], p1["queue"], p1["held"]),
                         ("Out of paper", False, 1, 1))
        code, ready, request = get(self.ready)
        self.assertEqual((code, ready), (503, {"ready": False,
                                               "problems": ["p1: Out of paper"]}))
        self.assertEqual(request.responseHeaders.getRawHeaders(b"access-control-allow-origin"),
                         [b"*"])

    def test_the_device_that_could_not_be_opened_is_named(self) -> None:
        """The status text stays Ticket Daemon's; ``detail`` (extension) says why."""
        reason = "cannot open serial printer /dev/ttyUSB7: No such file or directory"
        self.rig.connections["p1"].status = status.not_connected(reason)
        self.rig.queues["p1"].poll()
        p1, p2 = get(self.health)[1]["printer_detail"]
        self.assertEqual((p1["status"], p1["ok"], p1["detail"]),
                         ("Printer not connected", False, reason))
        self.assertIsNone(p2["detail"])
        # The dashboard's live feed carries the same words.
        shown = self.successResultOf(snapshot(self.rig.service))["printers"][0]
        self.assertEqual((shown["status"], shown["detail"]), ("Printer not connected", reason))
