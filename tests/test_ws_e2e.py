"""End to end: the daemon as a subprocess, an emulated network printer, Autobahn clients."""

from __future__ import annotations

import urllib.request

from ticketd.documents import render
from ticketd.web import replies
from tests.ws_support import DaemonTestCase, doc, examples


class ExamplesTests(DaemonTestCase):
    async def test_every_example_prints_exactly(self) -> None:
        docs = examples()
        self.assertEqual(len(docs), 6, sorted(docs))
        for name, document in docs.items():
            expected = render(document).data
            start = len(self.emulator.received)
            ack = await self.within(self.client.ticket(document, f"ex-{name}"))
            self.assertEqual((ack["tipo"], ack["status"], ack["printer"]),
                             ("ack", "queued", "receipt"), (name, ack))
            result = await self.within(self.client.result(f"ex-{name}"))
            self.assertEqual(result, {"tipo": "result", "id": f"ex-{name}", "status": "success",
                                      "mensaje": "Printed", "state": "printed"}, name)
            await self.within(self.emulator.when_received(
                lambda b: len(b) >= start + len(expected)))
            got = self.emulator.received[start:]
            self.assertEqual(len(got), len(expected), name)
            self.assertTrue(got == expected, f"{name}: bytes at the printer differ")
        # the daemon timed each stage of those jobs (docs/architecture.rst)
        with urllib.request.urlopen(self.daemon.base_url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        for stage in ("ws.parse", "validate", "submit", "journal.accept", "render",
                      "journal.printing", "write", "journal.printed", "ws.reply",
                      "journal.transaction", "handoff.printer", "handoff.journal"):
            self.assertIn(f'ticketd_stage_calls_total{{stage="{stage}"}}', text)
        self.assertIn('ticketd_stage_seconds_total{clock="cpu",stage="render"}', text)


class MessageTypesTests(DaemonTestCase):
    async def test_status_ping_printers(self) -> None:
        self.assertEqual(self.client.messages[0]["tipo"], "info")
        self.assertEqual(self.client.messages[0]["status"], "connected")
        status = await self.within(self.client.status())
        self.assertEqual({k: status[k] for k in ("tipo", "status", "current", "capacity",
                                                  "mensaje")},  # every printer's queue
                         {"tipo": "status", "status": "ok", "current": 0, "capacity": 105,
                          "mensaje": "Queue: 0/105"})
        self.assertEqual([(p["name"], p["capacity"]) for p in status["printers"]],
                         [("receipt", 5), ("virt", 100)])
        status = await self.within(self.client.status("virtual"))
        self.assertEqual((status["printer"], status["mensaje"]), ("virt", "Queue: 0/100"))
        pong = await self.within(self.client.ping("p-7"))
        self.assertEqual(pong, {"tipo": "pong", "id": "p-7", "status": "ok"})
        listing = await self.within(self.client.printers())
        self.assertEqual(listing["tipo"], "printers")
        configured = [p for p in listing["printers"] if p.get("configured")]
        self.assertEqual([(p["name"], p["printer_type"], p["is_default"]) for p in configured],
                         [("receipt", "thermal", True), ("virt", "thermal", False)])
        self.assertEqual([p["is_virtual"] for p in configured], [False, True])
        self.assertEqual(configured[0]["status"], "ready")
        for p in listing["printers"]:
            self.assertEqual(set(p) >= {"name", "port", "driver", "status", "is_default",
                                        "is_virtual", "printer_type"}, True, p)
        summary = listing["summary"]
        self.assertEqual((summary["status"], summary["default_name"]), ("ok", "receipt"))
        self.assertGreaterEqual(summary["thermal_count"], 1)

    async def test_raw_job_status_cancel(self) -> None:
        ack = await self.within(self.client.raw(b"\x1b@raw bytes\n", "virt", "r-1"))
        self.assertEqual((ack["tipo"], ack["printer"]), ("ack", "virt"))
        result = await self.within(self.client.result("r-1"))
        self.assertEqual(result["status"], "success")
        spooled = self.daemon.spool("virt") / "r-1.bin"
        self.assertEqual(spooled.read_bytes(), b"\x1b@raw bytes\n")
        job = await self.within(self.client.job_status("r-1"))
        self.assertEqual((job["tipo"], job["state"], job["result"], job["mensaje"]),
                         ("info", "printed", "success", "Printed"))
        late = await self.within(self.client.cancel("r-1"))
        self.assertEqual((late["tipo"], late["mensaje"]),
                         ("error", "Job r-1 is already printed and cannot be cancelled"))
        self.emulator.set_fault("paper_out")
        await self.sleep(0.5)  # the daemon polls every 0.3 s
        await self.within(self.client.raw(b"first\n", job_id="c-0"))
        await self.within(self.client.raw(b"second\n", job_id="c-1"))
        cancelled = await self.within(self.client.cancel("c-1"))
        self.assertEqual(cancelled, {"tipo": "result", "id": "c-1", "status": "error",
                                     "mensaje": "CANCELLED: cancelled by request",
                                     "state": "cancelled"})
        self.emulator.set_fault("ready")
        self.assertEqual((await self.within(self.client.result("c-0")))["status"], "success")
        await self.within(self.emulator.when_received(b"first\n"))
        job = await self.within(self.client.job_status("c-1"))
        self.assertEqual(job["state"], "cancelled")
        self.assertNotIn(b"second", self.emulator.received)

    async def test_error_paths_keep_the_connection(self) -> None:
        c = self.client
        cases = [
            ("{nope", "JSON: malformed message: "),
            ("[1]", "JSON: a message must be a JSON object"),
            ({"tipo": "foo"}, "Unknown message type: foo"),
            ({"tipo": "ticket", "id": "e1"}, "Field 'datos' is required for type 'ticket'"),
            ({"tipo": "raw", "id": "e2", "datos": {"data": "!!"}},
             "RAW: 'datos.data' is not valid base64"),
            ({"tipo": "raw", "id": "e3", "datos": {"data": "aGk=", "printer": "nope"}},
             "PRINTER: unknown printer 'nope'; configured printers: receipt, virt"),
            ({"tipo": "job_status", "id": "never"}, "Unknown job id: never"),
        ]
        for message, mensaje in cases:
            d = c.wait_for(lambda m: m["tipo"] == "error")
            c.send(message)
            reply = await self.within(d)
            self.assertTrue(reply["mensaje"].startswith(mensaje), (message, reply))
        d = c.wait_for(lambda m: m["tipo"] == "error")
        c.send(b'{"tipo":"ping"}', binary=True)
        self.assertEqual((await self.within(d))["mensaje"], replies.BINARY)
        bad = doc("x")
        bad["commands"][0]["data"]["content"]["content_style"] = {"size": "9x1"}
        reply = await self.within(c.ticket(bad, "invalid-doc"))
        self.assertEqual(reply["tipo"], "error")  # validated before the ack: refused
        self.assertTrue(reply["mensaje"].startswith("VALIDATION: commands[0]"), reply)
        self.assertEqual((await self.within(c.ping()))["tipo"], "pong")
        self.assertIsNone(c.close_info)

    async def test_queue_full_over_the_socket(self) -> None:
        self.emulator.set_fault("paper_out")
        await self.sleep(0.5)
        kinds = []
        for i in range(7):
            kinds.append((await self.within(self.client.raw(b"q\n", job_id=f"q{i}")))["tipo"])
        # queue_capacity = 5: the one held in the worker's hand counts
        self.assertEqual(kinds, ["ack"] * 5 + ["error"] * 2)
        self.assertEqual(self.client.messages[-1]["mensaje"],
                         "Queue full, please retry in a few seconds")


class ResultsRoutingTests(DaemonTestCase):
    async def test_reconnect_and_ask(self) -> None:
        """A client that disconnects after the ack finds the result with job_status."""
        self.emulator.set_fault("paper_out")
        await self.sleep(0.5)
        document = doc("kept for later")
        ack = await self.within(self.client.ticket(document, "later-1"))
        self.assertEqual(ack["tipo"], "ack")
        await self.within(self.client.close())
        self.emulator.set_fault("ready")
        again = await self.connect()

        async def printed() -> bool:
            job = await self.within(again.job_status("later-1"))
            return job["state"] == "printed" and job

        job = await self.until(printed)
        self.assertEqual((job["result"], job["mensaje"]), ("success", "Printed"))
        self.assertNotIn("later-1", self.client.results)  # the closed connection got nothing
        self.assertTrue(self.emulator.received.endswith(render(document).data))

    async def test_repeated_id_prints_once(self) -> None:
        document = doc("only once")
        expected = render(document).data
        await self.within(self.client.ticket(document, "once"))
        self.assertEqual((await self.within(self.client.result("once")))["status"], "success")
        other = await self.connect()
        ack = await self.within(other.ticket(document, "once"))
        self.assertEqual((ack["tipo"], ack["status"], ack["duplicate"], ack["state"]),
                         ("ack", "queued", True, "printed"))
        self.assertEqual((await self.within(other.result("once")))["status"], "success")
        # while held: two connections send the same id; both get one result, one print
        self.emulator.set_fault("paper_out")
        await self.sleep(0.5)
        held = doc("held twice")
        acks = [await self.within(c.ticket(held, "twice")) for c in (self.client, other)]
        self.assertEqual([(a["status"], a.get("duplicate")) for a in acks],
                         [("queued", None), ("queued", True)])
        self.emulator.set_fault("ready")
        for c in (self.client, other):
            self.assertEqual((await self.within(c.result("twice")))["status"], "success")
        await self.sleep(0.3)
        received = self.emulator.received
        self.assertEqual(received.count(expected), 1)
        self.assertEqual(received.count(render(held).data), 1)
        self.assertEqual(len([m for m in other.messages if m["tipo"] == "result"]), 2)
