"""An MQTT till against the daemon in process and a network printer printing at 100 mm/s
on a roll that ends half-way: ``In progress``, the mid-job wait, then ``Printed`` once the
paper came out; and ``Printed`` comes no sooner than the paper."""

from __future__ import annotations

import time

from twisted.internet import reactor

from ticketd.emulator.live import LiveEmulator
from ticketd.emulator.mechanism import PrintSettings
from ticketd.emulator.tcp import listen
from tests.broker import Watcher, job_payload, publisher
from tests.mqtt_inprocess import InProcessCase
from tests.test_confirm import LINES, MID_JOB, receipt

PREFIX = "shop/bar"


class ConfirmOverMqttTests(InProcessCase):
    async def test_in_progress_waiting_then_printed_once(self) -> None:
        broker = self.broker()
        emu, port = listen(reactor, emulator=LiveEmulator(
            PrintSettings(speed=100.0, roll=0.6 * LINES * 25.4 / 6)))
        self.addCleanup(port.stopListening)
        self.addCleanup(emu.stop)
        self.start_network(broker, "bar", PREFIX, port.getHost().port,
                           "status_interval = 0.5\n")
        link = self.top.getServiceNamed("mqtt").links["bar"]
        await self.until(lambda: link.state == "connected", 10, "connected")
        watcher = Watcher(broker, [f"{PREFIX}/printed"])
        self.addCleanup(watcher.close)
        pub = publisher(broker, "till-confirm")
        self.addCleanup(pub.loop_stop)
        self.addCleanup(pub.disconnect)
        t0 = time.monotonic()
        pub.publish(f"{PREFIX}/print", job_payload("m1", receipt("m1")), qos=1)

        def texts() -> list[str]:
            return [m["status"] for m in watcher.of(f"{PREFIX}/printed") if m["jobid"] == "m1"]

        await self.until(lambda: MID_JOB in " ".join(texts()), 15, "mid-job wait")
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)  # 60 % of 3 s of paper
        self.assertNotIn("Printed", texts())
        emu.set_fault("ready")
        await self.until(lambda: "Printed" in texts(), 15, "printed")
        self.assertEqual(texts(), ["In progress", MID_JOB, "Printed"])
        self.assertEqual(emu.paper.count(b"JOB<m1>"), 1)
        self.assertTrue(emu.paper.endswith(receipt("m1")))
