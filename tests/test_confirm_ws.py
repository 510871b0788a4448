"""A WebSocket client of the real daemon hears of a job at the printer (``info`` sent), of
the paper running out inside it (``info`` held, ``mid_job``), and gets its ``result`` once
the paper came out: the emulator printing at 100 mm/s on a roll that ends half-way."""

from __future__ import annotations

from ticketd.emulator.mechanism import PrintSettings
from tests.test_confirm import LINES, MID_JOB, receipt
from tests.ws_support import DaemonTestCase


class ConfirmOverWebSocketTests(DaemonTestCase):
    mechanism = PrintSettings(speed=100.0, roll=0.6 * LINES * 25.4 / 6)

    async def test_sent_held_inside_the_job_then_printed(self) -> None:
        c = self.client
        ack = await self.within(c.raw(receipt("w"), printer="receipt", job_id="w"))
        self.assertEqual(ack["tipo"], "ack")
        mine = lambda: [m for m in c.messages if m.get("id") == "w"]  # noqa: E731
        held = await self.until(lambda: [m for m in mine() if m.get("mid_job")], 15)
        self.assertEqual(held[0]["status"], "held")
        self.assertTrue(held[0]["mensaje"].startswith(MID_JOB))
        self.emulator.set_fault("ready")
        result = await self.within(c.result("w"), 15)
        self.assertEqual((result["status"], result["mensaje"], result["state"]),
                         ("success", "Printed", "printed"))
        kinds = [(m["tipo"], m.get("status")) for m in mine()]
        self.assertEqual(kinds, [("ack", "queued"), ("info", "sent"), ("info", "held"),
                                 ("result", "success")])
        self.assertEqual(self.emulator.paper.count(b"JOB<w>"), 1)
        self.assertTrue(self.emulator.paper.endswith(receipt("w")))
        state = await self.within(c.request({"tipo": "job_status", "id": "w"},
                                            lambda m: m.get("id") == "w"
                                            and m.get("tipo") == "info"))
        self.assertIn("printed", str(state))
