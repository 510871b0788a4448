"""``/health`` is CORS-open, so what it tells another origin carries no job id: the printing
job's id is there only with the admin token."""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase
from twisted.web.test.requesthelper import DummyRequest

from ticketd.jobs.model import JobKind
from ticketd.web.health import HealthResource
from tests.fakes import ManualRunner, Rig, config

PRINTERS = '[printers.p1]\nconnection = "virtual"\ndefault = true\n'


class PrintingIdTests(TestCase):
    def setUp(self) -> None:
        self.run = ManualRunner()
        self.rig = Rig(config(self.mktemp(), PRINTERS), run=self.run)
        self.rig.start()
        self.health = HealthResource(self.rig.service, 0.0, self.rig.clock.seconds, "adm")

    def tearDown(self) -> Deferred[None]:
        self.run.run_all()
        stopped = self.rig.stop()
        self.run.run_all()  # what stopping asks of the printer's thread
        return stopped

    def get(self, **headers: bytes) -> dict[str, Any]:
        request = DummyRequest([b""])
        request.requestHeaders.setRawHeaders(b"origin", [b"https://evil.example"])
        for name, value in headers.items():
            request.requestHeaders.setRawHeaders(name.replace("_", "-").encode(), [value])
        return json.loads(self.health.render_GET(request))

    def test_printing_id_only_with_the_admin_token(self) -> None:
        self.rig.manager.submit(job_id="secret-order-42", printer="p1", source="test",
                                kind=JobKind.RAW, payload=b"x")
        for _ in range(20):
            if self.rig.service.printers()[0].printing:
                break
            d, f, args = self.run.calls.pop(0)
            d.callback(f(*args))
        self.assertEqual(self.rig.service.printers()[0].printing, "secret-order-42")
        body = self.get()
        self.assertNotIn("secret-order-42", json.dumps(body))
        self.assertIs(body["printer_detail"][0]["printing"], True)
        self.assertNotIn("secret-order-42", json.dumps(self.get(x_admin_token=b"wrong")))
        admin = self.get(x_admin_token=b"adm")
        self.assertEqual(admin["printer_detail"][0]["printing"], "secret-order-42")
