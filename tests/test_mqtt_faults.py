"""A till that cannot wait, during paper-out: the daemon in this process on a real broker, a
network printer emulated on loopback, and the till client written as quicktill's driver
(one fresh connection, 10 s for ``finished``). The original server answers such a job at
once with the fault's text and never prints it; holding is an opt-in."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import paho.mqtt.client as mqtt
from twisted.internet import reactor, threads

from ticketd.config import parse
from ticketd.emulator.tcp import listen
from ticketd.jobs.model import JobState
from ticketd.tap import build
from tests.broker import MosquittoBroker, quicktill_exchange, read_status
from tests.mqtt_inprocess import InProcessCase

PREFIX = "bar/till"


def till_print(broker: MosquittoBroker, jobid: str, data: bytes, wait: float = 10.0,
               **extra: Any) -> list[tuple[float, str, dict[str, Any]]]:
    """quicktill's ``_send_job``, with ``extra`` payload fields: every message the till
    hears for its job as (seconds after publishing, topic, payload), until finished."""
    return quicktill_exchange(broker, PREFIX, data, jobid, wait, **extra)


class TillDuringPaperOut(InProcessCase):
    def start(self, printer_extra: str = "") -> None:
        self.b = self.broker()
        self.emu, port = listen(reactor)
        self.addCleanup(port.stopListening)
        text = (f'[server]\nport = 0\n[state]\ndirectory = "{self.state}"\n'
                f'[printers.till]\nconnection = "network"\nhost = "127.0.0.1"\n'
                f'port = {port.getHost().port}\nprefix = "{PREFIX}"\nstatus_interval = 0.2\n'
                f"{printer_extra}" + self.b.mqtt_toml())
        self.top = build(parse(text, str(self.dir / "ticketd.toml")), reactor)
        self.top.startService()
        self.addCleanup(lambda: self.top.running and self.top.stopService())
        self.jobs = self.top.getServiceNamed("jobs")

    async def status(self, want: str) -> None:
        async def read() -> Any:
            return await threads.deferToThread(read_status, self.b, PREFIX, 0.5)
        t0 = time.monotonic()
        while ((await read()) or {}).get("status") != want:
            if time.monotonic() - t0 > 10:
                self.fail(f"P/status never read {want!r}")

    async def paper_out(self) -> None:
        self.emu.set_fault("paper_out")
        await self.status("Out of paper")

    async def paper_back(self) -> None:
        self.emu.set_fault("ready")
        await self.status("Ready")
        await self.sleep(0.5)  # a few polls: a held job would print now

    async def test_answered_at_once_and_never_printed(self) -> None:
        self.start()
        await self.status("Ready")
        await self.paper_out()
        heard = await threads.deferToThread(till_print, self.b, "t-1", b"\x1b@JOB<t-1>\n")
        self.assertEqual([m for _, _, m in heard],
                         [{"jobid": "t-1", "status": "Out of paper", "finished": True,
                           "success": False}])
        self.assertLess(heard[-1][0], 2.0)
        self.assertEqual(heard[-1][1], f"{PREFIX}/printed")
        await self.paper_back()
        self.assertNotIn(b"JOB<t-1>", self.emu.received)
        job = await self.jobs.get("t-1")
        self.assertEqual((job.state.value, job.reason), ("failed", "PRINTER: Out of paper"))
        stored = self.jobs.committer.journal.get("t-1")
        self.assertEqual((stored.state.value, stored.reason, stored.hold),
                         ("failed", "PRINTER: Out of paper", 0.0))
        # the staff reprint (a new jobid) prints once, and only it
        heard = await threads.deferToThread(till_print, self.b, "t-2", b"\x1b@JOB<t-2>\n")
        self.assertEqual(heard[-1][2]["status"], "Printed")
        self.assertEqual(self.emu.received.count(b"JOB<"), 1)

    async def held_and_printed_once(self, **extra: Any) -> list[dict[str, Any]]:
        await self.status("Ready")
        await self.paper_out()
        d = threads.deferToThread(till_print, self.b, "h-1", b"\x1b@JOB<h-1>\n", **extra)
        await self.until(lambda: getattr(self.jobs._open.get("h-1"), "state", None) is
                         JobState.HELD, 5, "job held")
        self.emu.set_fault("ready")
        heard = await d
        await self.sleep(0.5)
        self.assertEqual(self.emu.received.count(b"JOB<h-1>"), 1)
        return [m for _, _, m in heard]

    async def test_hold_setting(self) -> None:
        self.start("mqtt_hold = 30\n")
        heard = await self.held_and_printed_once()
        self.assertEqual(heard[0]["status"], "Waiting: Out of paper")
        self.assertEqual(heard[-1], {"jobid": "h-1", "status": "Printed", "finished": True,
                                     "success": True})

    async def test_hold_job_field(self) -> None:
        self.start()
        heard = await self.held_and_printed_once(hold=30)
        self.assertEqual((heard[0]["status"], heard[-1]["status"]),
                         ("Waiting: Out of paper", "Printed"))

    async def test_numeric_jobid_and_empty_data(self) -> None:
        self.start()
        await self.status("Ready")
        got: list[dict[str, Any]] = []

        def run() -> None:
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
            c.on_message = lambda c, u, m: got.append(json.loads(m.payload))
            c.connect("127.0.0.1", self.b.port)
            c.subscribe(f"{PREFIX}/printed", 1)
            c.loop_start()
            time.sleep(0.3)
            c.publish(f"{PREFIX}/print", json.dumps(
                {"jobid": 42, "data": base64.b64encode(b"JOB<42>").decode()}), qos=1)
            c.publish(f"{PREFIX}/print", json.dumps({"jobid": "e-1", "data": ""}), qos=1)
            c.publish(f"{PREFIX}/print", json.dumps({"jobid": "m-1"}), qos=1)
            deadline = time.monotonic() + 5
            while len([m for m in got if m["finished"]]) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            c.disconnect()
            c.loop_stop()
        await threads.deferToThread(run)
        final = {m["jobid"]: m for m in got if m["finished"]}
        self.assertEqual(final["42"]["status"], "Printed")  # a number: taken as its string
        self.assertEqual(final["e-1"]["status"], "Printed")  # empty: nothing to print
        self.assertEqual(final["m-1"], {"jobid": "m-1", "status": "Aborted: missing data",
                                        "finished": True, "success": False})
        self.assertEqual(self.emu.received.count(b"JOB<"), 1)
