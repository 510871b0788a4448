"""Audit events (``audit=True``): refused jobs, auth failures and origin refusals, from the
sans-IO message handler and the Autobahn adapter (no sockets)."""

from __future__ import annotations

import base64
import json
from typing import Any

import txaio
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase, TestCase

import tests.test_ws_protocol as adapter
from ticketd.config import ServerConfig
from ticketd.printers.status import PrinterStatus
from ticketd.web.messages import Hub
from ticketd.web.ws import TicketServerFactory
from tests.fakes import Rig, config
from tests.test_ws_property import FakeService

PRINTERS = ('[printers.p1]\nconnection = "virtual"\nqueue_capacity = 1\ndefault = true\n')


def raw(job_id: str, **datos: Any) -> bytes:
    return json.dumps({"tipo": "raw", "id": job_id, "auth_token": "secret",
                       "datos": {"data": base64.b64encode(b"hi").decode(), **datos}}).encode()


def audits(events: Any) -> list[dict[str, Any]]:
    return [e for e in events if e.get("audit") is True]


class SessionAuditTests(TestCase):
    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), PRINTERS))
        self.rig.connections["p1"].status = PrinterStatus(online=False, paper_out=True)
        self.rig.start()
        self.hub = Hub(self.rig.service, clock=self.rig.clock, auth_token="secret",
                       rate_limit=2.0)
        self.hub.start()
        self.out: list[dict[str, Any]] = []
        self.session = self.hub.open(self.out.append, "10.0.0.7:5123")

    def tearDown(self) -> Deferred:
        self.hub.stop()
        return self.rig.stop()

    def send(self, frame: bytes, wait: float = 1.0) -> list[dict[str, Any]]:
        self.rig.clock.advance(wait)  # the rate limit (2/s) refills between frames
        with capturedLogs() as events:
            self.session.received(frame)
        return audits(events)

    def test_auth_failure(self) -> None:
        [event] = self.send(json.dumps({"tipo": "raw", "id": "x", "auth_token": "wrong",
                                        "datos": {"data": "aGk="}}).encode())
        self.assertEqual((event["reason"], event["peer"], event["job"]),
                         ("auth_failed", "10.0.0.7:5123", "x"))
        self.assertEqual(formatEvent(event), "ws 10.0.0.7:5123: raw refused (auth_failed): "
                                             "Invalid or missing auth token")
        self.assertEqual(self.send(json.dumps({"tipo": "ping"}).encode()), [])

    def test_refused_jobs(self) -> None:
        self.assertEqual(self.send(raw("j1")), [])  # accepted: held (paper out)
        [full] = self.send(raw("j2"))  # queue_capacity = 1: j1 fills it
        self.assertEqual((full["reason"], full["job"]), ("queue_full", "j2"))
        self.assertIn("Queue full", formatEvent(full))
        [unknown] = self.send(raw("j4", printer="nowhere"))
        self.assertEqual(unknown["reason"], "unknown_printer")
        reasons = [self.send(raw(f"r{i}"), wait=0)[0]["reason"] for i in range(3)]
        self.assertEqual(reasons, ["queue_full", "queue_full", "rate_limited"])  # burst of 2
        self.assertEqual(self.out[-1]["tipo"], "error")


class AdapterAuditTests(SynchronousTestCase):
    open = adapter.AdapterTests.open

    def setUp(self) -> None:
        self.clock = Clock()
        old = txaio.config.loop
        txaio.config.loop = self.clock
        self.addCleanup(setattr, txaio.config, "loop", old)
        self.hub = Hub(FakeService(), clock=self.clock, auth_token="t0k")
        self.factory = TicketServerFactory(self.hub, ServerConfig(port=8766, auth_token="t0k"),
                                           self.clock)

    def test_origin_refusal(self) -> None:
        with capturedLogs() as events:
            _, t = self.open(origin="http://evil.example")
        self.assertFalse(t.value().startswith(b"HTTP/1.1 101"))
        [event] = audits(events)
        self.assertEqual((event["reason"], event["origin"]),
                         ("origin_refused", "http://evil.example"))
        self.assertIn("connection refused (origin_refused)", formatEvent(event))
        with capturedLogs() as events:
            self.open(origin="http://localhost:3000")
        self.assertEqual(audits(events), [])

    def test_bad_query_token(self) -> None:
        with capturedLogs() as events:
            _, t = self.open("/ws?token=nope")
        self.assertTrue(t.value().startswith(b"HTTP/1.1 403"))
        [event] = audits(events)
        self.assertEqual(event["reason"], "auth_failed")
        self.assertTrue(formatEvent(event).endswith(
            ": connection refused (auth_failed): bad ?token="), formatEvent(event))
