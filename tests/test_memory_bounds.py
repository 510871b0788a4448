"""Bounded memory: finished jobs drop their payload (previews still read it from the
journal), a WebSocket client that stops reading is closed, previews wait in a bounded
line (503 beyond), and request bodies over the limit are refused while they are read."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.logger import capturedLogs
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers
from twisted.web.server import Site

from ticketd.client import connect
from ticketd.jobs.model import JobKind, JobState
from ticketd.jobs.service import Busy, PrintService
from ticketd.printers.status import PrinterStatus
from ticketd.web import dashboard
from ticketd.web.site import Root
from tests.fakes import ManualRunner, Rig, config
from tests.http_support import SiteCase, request
from tests.test_ws_messages import DOC, Client

PRINTERS = '[printers.p1]\nconnection = "virtual"\ndefault = true\n'
PNG_MAGIC = b"\x89PNG"


def result(d: Deferred[Any]) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "did not fire synchronously"
    return out[0]


class PayloadTests(TestCase):
    """A finished job keeps its metadata and result in memory, not its payload."""

    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), PRINTERS))
        self.rig.start()
        self.m = self.rig.manager

    def tearDown(self) -> Deferred:
        return self.rig.stop()

    def submit(self, job_id: str, kind: JobKind, payload: Any) -> None:
        result(self.m.submit(job_id=job_id, printer="p1", source="test", kind=kind,
                             payload=payload))

    def test_printed_jobs_drop_their_payload_and_still_preview(self) -> None:
        self.submit("raw-1", JobKind.RAW, b"\x1b@raw job\n" * 1000)
        self.submit("doc-1", JobKind.DOCUMENT, DOC)
        for job_id in ("raw-1", "doc-1"):
            job = result(self.m.get(job_id))
            self.assertIs(job.state, JobState.PRINTED)
            self.assertIsNone(job.payload)  # the one Job object in memory
            self.assertIsNotNone(result(self.m.stored(job_id)).payload)  # the journal's
            png = result(self.rig.service.job_png(job_id))
            self.assertTrue(png.startswith(PNG_MAGIC), job_id)

    def test_job_status_of_a_finished_job(self) -> None:
        from ticketd.web.messages import Hub
        hub = Hub(self.rig.service, clock=self.rig.clock)
        hub.start()
        self.addCleanup(hub.stop)
        self.submit("raw-2", JobKind.RAW, b"hello\n")
        reply = Client(hub)({"tipo": "job_status", "id": "raw-2"})
        self.assertEqual((reply["state"], reply["result"], reply["id"]),
                         ("printed", "success", "raw-2"))

    def test_a_waiting_job_keeps_its_payload_until_it_ends(self) -> None:
        self.rig.connections["p1"].status = PrinterStatus(paper_out=True)
        self.rig.clock.advance(5)
        self.submit("held", JobKind.RAW, b"later\n")
        [job] = [j for j in self.m.open_jobs() if j.id == "held"]
        self.assertEqual(job.payload, b"later\n")
        result(self.m.cancel("held"))
        self.assertIs(job.state, JobState.CANCELLED)
        self.assertIsNone(job.payload)


class PreviewLineTests(TestCase):
    """At most ``parallel`` previews drawn and ``waiting`` waiting; beyond, Busy / 503."""

    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), '[server]\nmax_message_size = 65536\n' +
                              PRINTERS))
        self.rig.start()
        self.addCleanup(self.rig.stop)
        self.runner = ManualRunner()
        self.service = PrintService(self.rig.manager, run=self.runner, scanners=(),
                                    parallel=1, waiting=2)

    def test_the_service_refuses_past_the_waiting_line(self) -> None:
        doc = json.dumps(DOC).encode()
        pending = [self.service.preview_png(doc) for _ in range(3)]  # 1 drawn, 2 waiting
        refused = self.service.preview_text(doc)
        self.failureResultOf(refused, Busy)
        self.assertEqual(str(self.failureResultOf(self.service.job_png("x"), Busy).value),
                         "BUSY: too many previews waiting, retry")
        self.runner.run_all()
        for d in pending:
            self.assertTrue(self.successResultOf(d).startswith(PNG_MAGIC))
        again = self.service.preview_text(doc)  # the line is free again
        self.runner.run_all()
        self.assertTrue(self.successResultOf(again))

    def test_http_answers_503(self) -> Any:
        from twisted.internet import reactor
        root = Root()
        root.index = dashboard.mount(root, self.service, self.rig.config.server)
        port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}/preview".encode()
        agent = Agent(reactor)

        def post() -> Deferred[Any]:
            body = FileBodyProducer(io.BytesIO(json.dumps(DOC).encode()))
            return agent.request(b"POST", url, Headers({}), body)

        async def go() -> None:
            first = [post() for _ in range(3)]
            while len(self.runner.calls) < 1 or len(self.service._pictures.waiting) < 2:
                await task.deferLater(reactor, 0.01, lambda: None)
            response = await post().addTimeout(20, reactor)
            body = json.loads(await readBody(response))
            self.assertEqual((response.code, body),
                             (503, {"errors": ["BUSY: too many previews waiting, retry"]}))
            while self.runner.calls:
                self.runner.run_all()
                await task.deferLater(reactor, 0.01, lambda: None)
            for d in first:
                response = await d.addTimeout(20, reactor)
                self.assertEqual(response.code, 200)
                await readBody(response)

        return ensureDeferred(go())


class BodyLimitTests(SiteCase):
    server = "max_message_size = 4096"

    def test_a_declared_length_over_the_limit_is_refused_before_the_body(self) -> Any:
        async def go() -> None:
            head = request("POST", "/preview", f"127.0.0.1:{self.number}")
            head = head.replace(b"Connection: close", b"Content-Length: 50000000\r\n"
                                b"Connection: close")
            with capturedLogs() as events:
                answer = await self.send(head + b"{" * 1000)  # 1 KB of 50 MB, then waits
            self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer[:200])
            self.assertTrue(answer.endswith(
                b'{"errors": ["ERROR: the request body is over the 4096 bytes limit"]}'))
            self.assertTrue([e for e in events if e.get("limit") == 4096])

        return ensureDeferred(go())

    def test_a_chunked_body_is_cut_once_past_the_limit(self) -> Any:
        async def go() -> None:
            head = (f"POST /preview HTTP/1.1\r\nHost: 127.0.0.1:{self.number}\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
            chunk = b"400\r\n" + b"x" * 0x400 + b"\r\n"
            answer = await self.send(head + chunk * 6)  # 6 KB, no last chunk: never ends
            self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer[:200])

        return ensureDeferred(go())

    def test_a_body_within_the_limit_is_served(self) -> Any:
        async def go() -> None:
            code, answer = await self.get("/validate", method="POST",
                                          body=json.dumps(DOC).encode())
            self.assertEqual(code, 200, answer[:300])

        return ensureDeferred(go())


class SlowReaderTests(SiteCase):
    """A WebSocket client that reads nothing while messages pile up is closed (1013)."""

    timeout = 60

    def test_closed_with_1013_and_a_log_line(self) -> Any:
        factory = self.site.resource.children[b"ws"]._factory
        factory.send_backlog_limit = 256 * 1024

        async def go() -> None:
            client = await connect(self.reactor, f"ws://127.0.0.1:{self.number}/ws")
            client.protocol.transport.pauseProducing()  # the client stops reading
            [session] = list(self.hub.sessions)
            big = {"tipo": "info", "status": "event", "mensaje": "x" * 200_000}
            with capturedLogs() as events:
                for _ in range(200):  # 40 MB: past the kernel's buffers and the limit
                    if session not in self.hub.sessions:
                        break
                    session.send(big)
                deadline = time.monotonic() + 30
                while session in self.hub.sessions and time.monotonic() < deadline:
                    await task.deferLater(self.reactor, 0.05, lambda: None)
            self.assertNotIn(session, self.hub.sessions)
            lines = [e for e in events if e.get("reason") == "slow_reader"]
            self.assertEqual(len(lines), 1)
            self.assertIn("closed (1013)", lines[0]["log_format"])
            client.protocol.transport.resumeProducing()

        return ensureDeferred(go())
