"""The sans-IO WebSocket message handler against a real JobManager (tests.fakes.Rig):
fake printer connections, a Clock, inline threads, no sockets."""

from __future__ import annotations

import base64
import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from ticketd.jobs.service import CancelResult
from ticketd.printers.status import READY, PrinterStatus
from ticketd.web import replies
from ticketd.web.messages import Hub, Session
from tests.fakes import Rig, config

PAPER_OUT = PrinterStatus(online=False, paper_out=True)
PRINTERS = ('[printers.p1]\nconnection = "virtual"\nqueue_capacity = 3\ndefault = true\n'
            'aliases = ["58mm PT-210"]\n'
            '[printers.p2]\nconnection = "virtual"\nqueue_capacity = 5\n')
DOC = {"version": "1.0", "profile": {"model": "58mm PT-210", "paper_width": 58},
       "commands": [{"type": "text", "data": {"content": {"text": "Añejo café 1,50 €"}}},
                    {"type": "cut", "data": {"mode": "partial"}}]}


EXTENSION_KINDS = ("job", "event", "snapshot", "validation")


def kind(message: dict[str, Any]) -> str:
    if message["tipo"] == "info" and message.get("status") in EXTENSION_KINDS:
        return str(message["status"])
    return str(message["tipo"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Client:
    """One fake connection: what the session sends lands in ``out``."""

    def __init__(self, hub: Hub, **kw: Any) -> None:
        self.out: list[dict[str, Any]] = []
        self.session: Session = hub.open(self.out.append, "test", **kw)

    def __call__(self, message: Any) -> dict[str, Any]:
        """Send; return the first new reply (or {} if none yet)."""
        before = len(self.out)
        text = message if isinstance(message, (str, bytes)) else json.dumps(message)
        self.session.received(text.encode() if isinstance(text, str) else text)
        return self.out[before] if len(self.out) > before else {}

    def tipos(self) -> list[str]:
        """Each message's type; ticketd's own replies (``info`` with ``status`` job, event,
        snapshot or validation) by that status."""
        return [kind(m) for m in self.out]


class Base(TestCase):
    printers = PRINTERS
    hub_options: dict[str, Any] = {}

    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), self.printers))
        self.rig.start()
        self.hub = Hub(self.rig.service, clock=self.rig.clock, **self.hub_options)
        self.hub.start()
        self.c = Client(self.hub)

    def tearDown(self) -> Deferred:
        self.hub.stop()
        return self.rig.stop()

    def raw(self, job_id: str | None = "j1", data: bytes = b"hello\n", **datos: Any) -> dict:
        message: dict[str, Any] = {"tipo": "raw", "datos": {"data": b64(data), **datos}}
        if job_id is not None:
            message["id"] = job_id
        return message


class GreetingAndSimpleTests(Base):
    def test_info_on_connect(self) -> None:
        self.assertEqual(self.c.out, [{"tipo": "info", "status": "connected",
                                       "mensaje": replies.GREETING}])

    def test_ping_echoes_id(self) -> None:
        self.assertEqual(self.c({"tipo": "ping", "id": "p-1"}),
                         {"tipo": "pong", "id": "p-1", "status": "ok"})
        self.assertEqual(self.c({"tipo": "ping"}), {"tipo": "pong", "status": "ok"})

    def test_status_default_and_named(self) -> None:
        self.assertEqual(self.c({"tipo": "status"}),  # all printers, as /health counts them
                         {"tipo": "status", "status": "ok", "current": 0, "capacity": 8,
                          "mensaje": "Queue: 0/8", "printers": [
                              {"name": "p1", "current": 0, "capacity": 3, "status": "Ready"},
                              {"name": "p2", "current": 0, "capacity": 5, "status": "Ready"}]})
        self.rig.connections["p2"].status = PAPER_OUT
        self.rig.queues["p2"].poll()
        self.c(self.raw("a", printer="p2"))  # the worker holds this one: it counts
        self.c(self.raw("b", printer="p2"))
        reply = self.c({"tipo": "status", "id": "s", "datos": {"printer": "P2"}})
        self.assertEqual((reply["current"], reply["capacity"], reply["mensaje"], reply["id"],
                          reply["printer"]), (2, 5, "Queue: 2/5", "s", "p2"))
        reply = self.c({"tipo": "status", "datos": {"printer": "nope"}})
        self.assertEqual(reply["tipo"], "error")
        self.assertTrue(reply["mensaje"].startswith("PRINTER: unknown printer 'nope'"))

    def test_get_printers_configured_only(self) -> None:
        reply = self.c({"tipo": "get_printers"})
        self.assertEqual(reply["tipo"], "printers")
        self.assertEqual([p["name"] for p in reply["printers"]], ["p1", "p2"])
        self.assertEqual(reply["printers"][0]["is_default"], True)
        # virtual printers are thermal printers to a POS page (is_virtual says which)
        self.assertEqual([(p["printer_type"], p["is_virtual"]) for p in reply["printers"]],
                         [("thermal", True), ("thermal", True)])
        self.assertEqual(reply["summary"], {"status": "ok", "detected_count": 2,
                                            "thermal_count": 2, "default_name": "p1"})


class TicketTests(Base):
    def test_document_ack_then_result(self) -> None:
        self.c({"tipo": "ticket", "id": "t1", "datos": DOC})
        self.assertEqual(self.c.tipos(), ["info", "ack", "result"])
        ack, result = self.c.out[1:]
        self.assertEqual({k: ack[k] for k in ("id", "status", "capacity", "printer", "mensaje")},
                         {"id": "t1", "status": "queued", "capacity": 3, "printer": "p1",
                          "mensaje": "Job queued for printing"})
        self.assertEqual(result, {"tipo": "result", "id": "t1", "status": "success",
                                  "mensaje": "Printed", "state": "printed"})
        written = self.rig.connections["p1"].writes
        self.assertEqual(len(written), 1)
        self.assertIn("Añejo café 1,50 €".encode("cp1252"), written[0][1])

    def test_invalid_document_is_refused_at_once(self) -> None:
        """Validated before the ack: an ``error`` naming the field, no ack, no job."""
        doc = {"version": "1.0", "profile": {"model": "p1"},
               "commands": [{"type": "text", "data": {"content": {
                   "text": "x", "content_style": {"size": "9x1"}}}}]}
        self.c({"tipo": "ticket", "id": "bad", "datos": doc})
        self.assertEqual(self.c.tipos(), ["info", "error"])
        self.assertEqual((self.c.out[1]["id"], self.c.out[1]["status"]), ("bad", "error"))
        self.assertTrue(self.c.out[1]["mensaje"].startswith(
            "VALIDATION: commands[0].data.content.content_style.size: '9x1'"), self.c.out[1])
        self.assertIsNone(self.successResultOf(self.rig.service.job("bad")))
        self.assertEqual(self.rig.connections["p1"].writes, [])
        self.c({"tipo": "ticket", "id": "bad", "datos": dict(doc, commands=[
            {"type": "text", "data": {"content": {"text": "x"}}}])})
        self.assertEqual(self.c.tipos()[-2:], ["ack", "result"])  # the id is free again

    def test_id_is_made_when_absent(self) -> None:
        ack = self.c(self.raw(None))
        self.assertEqual(len(ack["id"]), 32)
        int(ack["id"], 16)
        self.assertEqual(self.c.out[-1]["id"], ack["id"])

    def test_routing_by_model_and_unknown_printer(self) -> None:
        doc = dict(DOC, profile={"model": "nope"})
        self.rig.manager._default = None  # no default printer: unknown is an error
        reply = self.c({"tipo": "ticket", "id": "u", "datos": doc})
        self.assertEqual(reply["tipo"], "error")
        self.assertEqual(reply["id"], "u")
        self.assertEqual(reply["mensaje"],
                         "PRINTER: unknown printer 'nope'; configured printers: p1, p2")
        self.assertEqual(self.hub.waiting, {})

    def test_result_comes_when_printer_recovers(self) -> None:
        conn = self.rig.connections["p1"]
        conn.status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c(self.raw("h0"))  # taken by the worker, waiting for paper
        ack = self.c(self.raw("h1"))
        self.assertEqual((ack["status"], ack["current"], ack["position"]), ("queued", 2, 1))
        self.assertEqual(self.c.tipos(), ["info", "ack", "info", "ack", "info"])
        held = self.c.out[-1]
        self.assertEqual(held, {"tipo": "info", "id": "h1", "status": "held", "mensaje":
                                "Waiting: Out of paper (job h1 prints when the printer is "
                                "ready)"})
        conn.status = READY
        self.rig.clock.advance(5)
        self.assertEqual(self.c.out[-1], {"tipo": "result", "id": "h1", "status": "success",
                                          "mensaje": "Printed", "state": "printed"})
        self.assertIn({"tipo": "info", "id": "h1", "status": "resumed", "mensaje":
                       "Resumed: the printer is ready, job h1 is next in its queue"},
                      self.c.out)

    def test_queue_full(self) -> None:
        self.rig.connections["p1"].status = PAPER_OUT
        self.rig.queues["p1"].poll()
        for i in range(3):  # one held by the worker, two waiting: queue_capacity = 3
            self.assertEqual(self.c(self.raw(f"q{i}"))["tipo"], "ack")
        reply = self.c(self.raw("q3"))
        self.assertEqual(reply, {"tipo": "error", "id": "q3", "status": "error",
                                 "mensaje": "Queue full, please retry in a few seconds"})
        self.assertNotIn("q3", self.hub.waiting)

    def test_duplicate_of_finished_job(self) -> None:
        self.c(self.raw("d1"))
        ack = self.c(self.raw("d1", b"other\n"))
        self.assertEqual((ack["tipo"], ack["status"], ack["duplicate"], ack["state"]),
                         ("ack", "queued", True, "printed"))
        self.assertEqual(self.c.out[-1]["tipo"], "result")
        self.assertEqual(len(self.rig.connections["p1"].writes), 1)

    def test_duplicate_from_other_connection_gets_result_too(self) -> None:
        conn = self.rig.connections["p1"]
        conn.status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c(self.raw("d2"))
        other = Client(self.hub)
        ack = other(self.raw("d2"))
        self.assertEqual((ack["status"], ack["duplicate"], ack["state"]),
                         ("queued", True, "held"))
        conn.status = READY
        self.rig.clock.advance(5)
        for c in (self.c, other):
            self.assertEqual(c.out[-1]["tipo"], "result")
            self.assertEqual(c.out[-1]["status"], "success")
        self.assertEqual(len(conn.writes), 1)

    def test_result_kept_for_job_status_after_disconnect(self) -> None:
        conn = self.rig.connections["p1"]
        conn.status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c(self.raw("gone"))
        self.c.session.close()
        conn.status = READY
        self.rig.clock.advance(5)
        self.assertEqual(self.hub.waiting, {})
        later = Client(self.hub)
        reply = later({"tipo": "job_status", "id": "gone"})
        self.assertEqual(reply, {"tipo": "info", "id": "gone", "status": "job", "state": "printed",
                                 "printer": "p1", "result": "success", "mensaje": "Printed"})

    def test_job_status_queued_and_unknown(self) -> None:
        self.rig.connections["p1"].status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c(self.raw("s0"))
        self.c(self.raw("s1"))
        reply = self.c({"tipo": "job_status", "id": "s1"})
        self.assertEqual((reply["state"], reply["position"]), ("held", 1))
        self.assertEqual(self.c({"tipo": "job_status", "id": "zz"}),
                         {"tipo": "error", "id": "zz", "status": "error",
                          "mensaje": "Unknown job id: zz"})
        self.assertEqual(self.c({"tipo": "job_status"})["mensaje"],
                         "Field 'id' is required for type 'job_status'")

    def test_cancel_queued_and_too_late(self) -> None:
        self.rig.connections["p1"].status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c(self.raw("c1"))
        other = Client(self.hub)
        self.assertEqual(other({"tipo": "cancel", "id": "c1"}),
                         {"tipo": "result", "id": "c1", "status": "error",
                          "mensaje": "CANCELLED: cancelled by request", "state": "cancelled"})
        # the sender hears of it as an error result (old clients know success|error)
        self.assertEqual(self.c.out[-1]["tipo"], "result")
        self.assertEqual(self.c.out[-1]["status"], "error")
        self.assertTrue(self.c.out[-1]["mensaje"].startswith("CANCELLED"))
        reply = other({"tipo": "cancel", "id": "c1"})
        self.assertEqual((reply["tipo"], reply["mensaje"]),
                         ("error", "Job c1 is already cancelled and cannot be cancelled"))
        self.assertEqual(self.rig.connections["p1"].writes, [])

    def test_cancel_by_sender_answers_once(self) -> None:
        self.rig.connections["p1"].status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c(self.raw("c2"))
        self.c({"tipo": "cancel", "id": "c2"})
        self.assertEqual(self.c.tipos(), ["info", "ack", "info", "result"])
        self.assertEqual((self.c.out[-1]["status"], self.c.out[-1]["state"]),
                         ("error", "cancelled"))

    def test_cancel_pending_when_the_connection_closes(self) -> None:
        """Too late to cancel, but the connection closed meanwhile: it must not wait again."""
        self.rig.connections["p1"].status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c(self.raw("c3"))
        gate: Deferred[Any] = Deferred()
        self.rig.manager.cancel = lambda job_id: gate  # type: ignore[method-assign]
        self.c({"tipo": "cancel", "id": "c3"})
        self.c.session.close()
        job = self.rig.manager._open["c3"]
        gate.callback(CancelResult(job, False, "Job c3 is being printed"))
        self.assertEqual((self.hub.waiting, self.c.session.jobs), ({}, set()))

    def test_warnings_in_result(self) -> None:
        doc = dict(DOC, commands=[{"type": "text", "data": {"content": {"text": "漢"}}}])
        self.c({"tipo": "ticket", "id": "w", "datos": doc})
        result = self.c.out[-1]
        self.assertEqual(result["status"], "success")
        self.assertTrue(result["warnings"], result)


class BadInputTests(Base):
    def check(self, message: Any, mensaje: str, job_id: str | None = None) -> None:
        expected = {"tipo": "error", "status": "error", "mensaje": mensaje}
        if job_id is not None:
            expected["id"] = job_id
        reply = self.c(message)
        if mensaje.endswith("..."):
            self.assertTrue(reply["mensaje"].startswith(mensaje[:-3]), reply)
            reply["mensaje"] = mensaje
        self.assertEqual(reply, expected)

    def test_each_error(self) -> None:
        self.check("{not json", "JSON: malformed message: ...")
        self.check("", "JSON: malformed message: ...")
        self.check(b"\xff\xfe", "JSON: malformed message: ...")
        self.check("[1, 2]", "JSON: a message must be a JSON object")
        self.check('"ticket"', "JSON: a message must be a JSON object")
        self.check('{"tipo": "ping", "x": NaN}', "JSON: malformed message: ...")
        self.check("[" * 100000 + "]" * 100000, "JSON: malformed message: ...")
        self.check({"id": "x"}, "Field 'tipo' is required", "x")
        self.check({"tipo": "foo"}, "Unknown message type: foo")
        self.check({"tipo": 7}, "Unknown message type: 7")
        self.check({"tipo": "ticket", "id": "m"}, "Field 'datos' is required for type 'ticket'",
                   "m")
        self.check({"tipo": "ticket", "datos": None},
                   "Field 'datos' is required for type 'ticket'")
        self.check({"tipo": "ticket", "datos": [1]},
                   "Field 'datos' must be a JSON object (a print document)")
        self.check({"tipo": "ticket", "id": "", "datos": DOC},
                   "Field 'id' must be a printable string of 1-128 characters")
        self.check({"tipo": "ticket", "id": "a\nb", "datos": DOC},
                   "Field 'id' must be a printable string of 1-128 characters")
        self.check({"tipo": "ticket", "id": "x" * 129, "datos": DOC},
                   "Field 'id' must be a printable string of 1-128 characters")
        self.check({"tipo": "raw", "id": "r"}, "Field 'datos' is required for type 'raw'", "r")
        self.check({"tipo": "raw", "datos": {"data": "%%%"}},
                   "RAW: 'datos.data' is not valid base64")
        self.check({"tipo": "raw", "datos": {"data": ""}}, "RAW: 'datos.data' is empty")
        self.check({"tipo": "raw", "datos": {"data": 5}},
                   "RAW: 'datos' must be an object with 'data' (base64 ESC/POS)")
        self.check('{"tipo": "ticket", "id": "s", "datos": {"v": "\\ud800"}}',
                   "JSON: the message contains an unpaired surrogate escape")
        self.assertEqual(self.hub.waiting, {})
        self.assertEqual(self.rig.connections["p1"].writes, [])
        # still usable
        self.assertEqual(self.c({"tipo": "ping", "id": 1})["tipo"], "pong")

    def test_binary_frame(self) -> None:
        self.c.session.received(b'{"tipo":"ping"}', True)
        self.assertEqual(self.c.out[-1]["mensaje"], replies.BINARY)

    def test_numeric_id_becomes_string(self) -> None:
        self.assertEqual(self.c(self.raw(42))["id"], "42")  # type: ignore[arg-type]

    def test_internal_error_is_answered(self) -> None:
        def broken(**kw: Any) -> None:
            raise RuntimeError("boom")

        self.rig.manager.submit = broken  # type: ignore[method-assign]
        reply = self.c(self.raw("x"))
        self.assertEqual(reply, {"tipo": "error", "id": "x", "status": "error",
                                 "mensaje": replies.INTERNAL})
        self.assertEqual(self.hub.waiting, {})
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
