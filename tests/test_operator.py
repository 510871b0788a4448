"""The operator's WebSocket messages (``reprint``, ``pause``, ``resume``, ``clear``,
``test_page``) through the sans-IO WebSocket layer against the real print service and job
manager (tests.fakes.Rig: fake printer connections, a Clock, inline threads), and once
through the real daemon over a socket (OverTheSocketTests)."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred

from ticketd.jobs.api import PAUSED
from ticketd.printers.virtual import spool_name
from ticketd.web.access import BAD_ADMIN_TOKEN
from tests.test_ws_live import events
from tests.test_ws_messages import DOC, PAPER_OUT, Base, Client
from tests.ws_support import DaemonTestCase

ADMIN = "adm-operator"
UNKNOWN = "PRINTER: unknown printer 'nope'; configured printers: p1, p2"


class OperatorBase(Base):
    hub_options = {"admin_token": ADMIN}

    def setUp(self) -> None:
        super().setUp()
        self.op = Client(self.hub)  # the dashboard: holds the admin token

    def ask(self, tipo: str, client: Client | None = None, **fields: Any) -> dict[str, Any]:
        return (client or self.op)({"tipo": tipo, "admin_token": ADMIN, **fields})

    def writes(self, printer: str = "p1") -> list[tuple[str | None, bytes]]:
        return self.rig.connections[printer].writes

    def pause_p1(self) -> None:
        reply = self.ask("pause", datos={"printer": "p1"})
        self.assertEqual((reply["tipo"], reply["status"], reply["printer"]),
                         ("info", "paused", "p1"), reply)


class AdminTokenTests(OperatorBase):
    def test_every_operator_message_needs_the_admin_token(self) -> None:
        self.c(self.raw("mine"))
        for message in ({"tipo": "reprint", "datos": {"job": "mine"}},
                        {"tipo": "pause", "datos": {"printer": "p1"}},
                        {"tipo": "resume", "datos": {"printer": "p1"}},
                        {"tipo": "clear", "datos": {"printer": "p1"}},
                        {"tipo": "test_page", "datos": {"printer": "p1"}}):
            for token in (None, "wrong"):
                sent = dict(message, admin_token=token) if token else message
                reply = self.c(sent)
                self.assertEqual((reply["tipo"], reply["mensaje"]), ("error", BAD_ADMIN_TOKEN),
                                 sent)
        self.assertEqual(len(self.writes()), 1)  # nothing reprinted, no test page
        self.assertFalse(self.rig.service.printer("p1").paused)  # type: ignore[union-attr]

    def test_the_auth_token_is_needed_too(self) -> None:
        self.hub.auth_token = "auth-1"
        reply = self.ask("pause", datos={"printer": "p1"})
        self.assertEqual(reply["mensaje"], "Invalid or missing auth token")
        reply = self.ask("pause", datos={"printer": "p1"}, auth_token="auth-1")
        self.assertEqual(reply["status"], "paused")


class ReprintTests(OperatorBase):
    def test_reprint_prints_the_same_bytes_as_a_new_job(self) -> None:
        self.c({"tipo": "ticket", "id": "t1", "datos": DOC})
        first = self.writes()[-1][1]
        ack = self.ask("reprint", datos={"job": "t1"})
        self.assertEqual((ack["tipo"], ack["id"], ack["status"], ack["printer"]),
                         ("ack", "t1~reprint-1", "queued", "p1"))
        result = self.op.out[-1]
        self.assertEqual((result["tipo"], result["id"], result["status"], result["state"]),
                         ("result", "t1~reprint-1", "success", "printed"))
        self.assertEqual(self.writes()[-1], ("t1~reprint-1", first))
        again = self.ask("reprint", datos={"job": "t1"})
        self.assertEqual(again["id"], "t1~reprint-2")  # the first id not yet used
        named = self.ask("reprint", id="again-7", datos={"job": "t1"})
        self.assertEqual((named["tipo"], named["id"]), ("ack", "again-7"))
        state = self.ask("job_status", id="t1~reprint-1")
        self.assertEqual((state["state"], state["reprint_of"]), ("printed", "t1"))
        self.assertNotIn("reprint_of", self.ask("job_status", id="t1"))
        self.assertEqual([w[1] for w in self.writes()], [first] * 4)

    def test_bytes_read_from_the_journal_when_memory_has_none(self) -> None:
        """Finished jobs may drop their payload in memory: the journal keeps it."""
        self.c(self.raw("r1", data=b"\x1b@kept in the journal\n"))
        self.rig.manager._recent["r1"].payload = None  # type: ignore[assignment]
        ack = self.ask("reprint", id="r1-again", datos={"job": "r1"})
        self.assertEqual(ack["tipo"], "ack", ack)
        self.assertEqual(self.writes()[-1], ("r1-again", b"\x1b@kept in the journal\n"))
        watcher = Client(self.hub)
        snap = self.ask("subscribe", watcher)
        jobs = {j["id"]: j for j in snap["jobs"]}
        self.assertEqual(jobs["r1-again"]["reprint_of"], "r1")
        self.assertNotIn("reprint_of", jobs["r1"])

    def test_refusals(self) -> None:
        reply = self.ask("reprint", id="n1", datos={"job": "nope"})
        self.assertEqual((reply["tipo"], reply["mensaje"], reply["id"]),
                         ("error", "JOB: unknown job 'nope'", "n1"))
        self.pause_p1()
        self.c(self.raw("waits"))
        reply = self.ask("reprint", datos={"job": "waits"})
        self.assertEqual((reply["tipo"], reply["mensaje"]),
                         ("error", "JOB: job 'waits' is not finished yet (state queued)"))
        self.ask("resume", datos={"printer": "p1"})
        self.c(self.raw("gone"))
        self.rig.manager._recent["gone"].payload = None  # type: ignore[assignment]
        journal = self.rig.manager.committer.journal
        journal._db.execute("UPDATE jobs SET payload=NULL WHERE id='gone'")
        reply = self.ask("reprint", datos={"job": "gone"})
        self.assertEqual((reply["tipo"], reply["mensaje"]),
                         ("error", "JOB: the bytes of job 'gone' are no longer kept"))
        reply = self.ask("reprint", datos={})
        self.assertEqual(reply["tipo"], "error")
        self.assertTrue(reply["mensaje"].startswith("Field 'datos.job' is required"), reply)
        self.assertEqual(len(self.writes()), 2)  # "waits" and "gone", nothing else


class PauseTests(OperatorBase):
    def test_paused_jobs_stay_queued_until_resumed(self) -> None:
        watcher = Client(self.hub)
        self.ask("subscribe", watcher)
        self.pause_p1()
        self.assertEqual(events(watcher, "printer")[-1]["state"]["paused"], True)
        self.assertEqual(self.ask("pause", datos={"printer": "P1"})["mensaje"],
                         "p1 is already paused")  # names in any case, as routing reads them
        self.c(self.raw("p-1"))
        self.c(self.raw("p-2"))
        self.rig.clock.advance(120)  # longer than hold_timeout: a pause never fails a job
        self.assertEqual(self.writes(), [])
        state = self.ask("job_status", id="p-1")
        self.assertEqual((state["state"], state["mensaje"], state["position"]),
                         ("queued", PAUSED, 1))
        self.assertEqual(self.c.tipos(), ["info", "ack", "ack"])
        snap = self.ask("subscribe", Client(self.hub))
        p1 = snap["printers"][0]
        self.assertEqual((p1["paused"], p1["queue"], p1["held"]), (True, 2, 0))
        self.c(self.raw("other", printer="p2"))  # another printer is not paused
        self.assertEqual(self.writes("p2")[-1][0], "other")
        reply = self.ask("resume", id="r", datos={"printer": "p1"})
        self.assertEqual((reply["tipo"], reply["status"], reply["printer"], reply["id"]),
                         ("info", "resumed_printer", "p1", "r"))
        self.assertEqual([w[0] for w in self.writes()], ["p-1", "p-2"])
        self.assertEqual([m["id"] for m in self.c.out if m["tipo"] == "result"],
                         ["other", "p-1", "p-2"])
        self.assertEqual(events(watcher, "printer")[-1]["state"]["paused"], False)
        self.assertEqual(self.ask("resume", datos={"printer": "p1"})["mensaje"],
                         "p1 was not paused")

    def test_a_paused_queue_stops_cleanly(self) -> None:
        self.pause_p1()
        self.c(self.raw("left"))
        return self.rig.stop().addCallback(  # the worker, waiting, lets the queue stop
            lambda _: self.assertEqual(self.rig.manager._open["left"].state.value, "queued"))

    def test_unknown_or_missing_printer(self) -> None:
        for tipo in ("pause", "resume", "clear", "test_page"):
            reply = self.ask(tipo, datos={"printer": "nope"})
            self.assertEqual((reply["tipo"], reply["mensaje"]), ("error", UNKNOWN), tipo)
            reply = self.ask(tipo)
            self.assertEqual((reply["tipo"], reply["mensaje"]),
                             ("error", f"Field 'datos.printer' is required for type '{tipo}'"))


class ClearTests(OperatorBase):
    def test_clear_cancels_every_waiting_job(self) -> None:
        self.rig.connections["p1"].status = PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c(self.raw("c-1"))  # held, in the worker's hand
        self.c(self.raw("c-2"))
        self.c(self.raw("c-3"))
        self.c(self.raw("elsewhere", printer="p2"))
        reply = self.ask("clear", id="cl", datos={"printer": "p1"})
        self.assertEqual(reply, {"tipo": "info", "status": "cleared", "id": "cl",
                                 "mensaje": "Cancelled 3 queued jobs on p1", "printer": "p1",
                                 "cancelled": ["c-1", "c-2", "c-3"]})
        results = [(m["id"], m["state"]) for m in self.c.out if m["tipo"] == "result"]
        self.assertEqual(results, [("elsewhere", "printed"), ("c-1", "cancelled"),
                                   ("c-2", "cancelled"), ("c-3", "cancelled")])
        self.assertEqual(self.rig.service.printer("p1").queue, 0)  # type: ignore[union-attr]
        again = self.ask("clear", datos={"printer": "p1"})
        self.assertEqual((again["mensaje"], again["cancelled"]),
                         ("Cancelled 0 queued jobs on p1", []))
        self.rig.connections["p1"].status = self.rig.connections["p2"].status
        self.rig.queues["p1"].poll()
        self.assertEqual(self.writes(), [])


class TestPageTests(OperatorBase):
    def test_test_page_prints_like_a_ticket(self) -> None:
        ack = self.ask("test_page", id="tp-1", datos={"printer": "p2"})
        self.assertEqual((ack["tipo"], ack["id"], ack["printer"]), ("ack", "tp-1", "p2"))
        result = self.op.out[-1]
        self.assertEqual((result["tipo"], result["status"], result["mensaje"]),
                         ("result", "success", "Printed"))
        job_id, data = self.writes("p2")[-1]
        self.assertEqual(job_id, "tp-1")
        for part in (b"Test page", b"p2", b"12345678901234567890123456789012345678901234567"
                     b"8", b"A\xf1ejo caf\xe9 1,50 \x80"):  # 80 mm: 48 columns; WPC1252
            self.assertIn(part, data)
        self.assertNotIn(b"123456789012345678901234567890123456789012345678" b"9", data)
        ack = self.ask("test_page", datos={"printer": "p1"})  # no id: one is made
        self.assertEqual(ack["tipo"], "ack")
        self.assertTrue(ack["id"])


class OverTheSocketTests(DaemonTestCase):
    """The same through the real daemon: a WebSocket, the wiring of tap.py, the journal."""

    server = f'admin_token = "{ADMIN}"'

    def ask(self, tipo: str, match: str, **fields: Any) -> Deferred[dict[str, Any]]:
        return self.within(self.client.request(
            {"tipo": tipo, "admin_token": ADMIN, **fields},
            lambda m: m.get("tipo") in ("error", match) or m.get("status") == match))

    async def test_reprint_pause_clear_and_test_page(self) -> None:
        await self.within(self.client.raw(b"\x1b@first\n", "virt", "e-1"))
        await self.within(self.client.result("e-1"))
        ack = await self.ask("reprint", "ack", datos={"job": "e-1"})
        self.assertEqual((ack["tipo"], ack["id"], ack["printer"]),
                         ("ack", "e-1~reprint-1", "virt"))
        result = await self.within(self.client.result("e-1~reprint-1"))
        self.assertEqual(result["state"], "printed")
        spool = self.daemon.spool("virt")
        reprinted = spool / spool_name('e-1~reprint-1')
        self.assertEqual(reprinted.read_bytes(), b"\x1b@first\n")
        state = await self.within(self.client.job_status("e-1~reprint-1"))
        self.assertEqual(state["reprint_of"], "e-1")

        paused = await self.ask("pause", "paused", datos={"printer": "receipt"})
        self.assertEqual(paused["mensaje"], "Paused receipt: its jobs wait until it is resumed")
        await self.within(self.client.raw(b"waits\n", "receipt", "e-2"))
        state = await self.within(self.client.job_status("e-2"))
        self.assertEqual((state["state"], state["mensaje"]), ("queued", PAUSED))
        cleared = await self.ask("clear", "cleared", datos={"printer": "receipt"})
        self.assertEqual(cleared["cancelled"], ["e-2"])
        self.assertEqual((await self.within(self.client.result("e-2")))["state"], "cancelled")
        resumed = await self.ask("resume", "resumed_printer", datos={"printer": "receipt"})
        self.assertEqual(resumed["printer"], "receipt")

        before = len(self.emulator.received)
        ack = await self.ask("test_page", "ack", id="e-tp", datos={"printer": "58mm PT-210"})
        self.assertEqual((ack["id"], ack["printer"]), ("e-tp", "receipt"))
        self.assertEqual((await self.within(self.client.result("e-tp")))["status"], "success")
        await self.within(self.emulator.when_received(lambda b: b"Test page" in b[before:]))
        self.assertNotIn(b"waits", self.emulator.received)
