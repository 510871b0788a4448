"""Broker outages: the daemon reconnects by itself, republishes its status, and every job
published with QoS 1 around the outage prints exactly once (persistent sessions on a
persistent broker)."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
from twisted.internet import threads

from tests.broker import Watcher, job_payload, publisher, read_status
from tests.mqtt_inprocess import InProcessCase

PREFIX = "shop/bar"


class OutageTests(InProcessCase):
    timeout = 90

    async def test_outage_of_five_seconds(self) -> None:
        broker = self.broker(persistent=True)
        # the jobs wait through paper-out: the hold opt-in
        service = self.start_daemon(broker, {"bar": PREFIX},
                                    printer_extra="status_interval = 0.5\nmqtt_hold = 600\n")
        link = service.links["bar"]
        spool = self.state / "spool" / "bar"
        await self.until(lambda: link.state == "connected", 10, "first connect")
        watcher = Watcher(broker, [f"{PREFIX}/printed"], persistent=True)
        self.addCleanup(watcher.close)
        pub = publisher(broker, "till-outage")
        self.addCleanup(pub.loop_stop)
        self.addCleanup(pub.disconnect)

        # 10 jobs held by a paper-out printer when the broker goes away
        (spool / "STATUS").write_text("paper_out")
        await self.until(lambda: self.top.getServiceNamed("jobs").queues["bar"].status.paper_out,
                         5, "paper out seen")
        for i in range(10):
            pub.publish(f"{PREFIX}/print", job_payload(f"before{i}", f"B{i}\n".encode()), qos=1)
        manager = self.top.getServiceNamed("jobs")
        await self.until(lambda: sum(1 for j in manager.open_jobs()) == 10, 10, "10 held")
        # someone leaves a wrong retained status: the daemon must overwrite it on reconnect
        pub.publish(f"{PREFIX}/status", b'{"status": "Bogus", "ok": false}', qos=1, retain=True)
        await self.sleep(0.3)

        broker.stop()
        stopped = time.monotonic()
        await self.until(lambda: link.state != "connected", 5, "link noticed the outage")
        (spool / "STATUS").unlink()  # paper back: the 10 held jobs print during the outage
        for i in range(10):  # queued by the publisher's own client until the broker is back
            pub.publish(f"{PREFIX}/print", job_payload(f"during{i}", f"D{i}\n".encode()), qos=1)
        await self.until(lambda: len(list(spool.glob("before*.bin"))) == 10, 10,
                         "held jobs printed while the broker is down")
        await self.sleep(max(0.0, 5.0 - (time.monotonic() - stopped)))
        broker.start()  # same port, same persistence file

        ids = [f"before{i}" for i in range(10)] + [f"during{i}" for i in range(10)]
        await self.until(lambda: len(list(spool.glob("*.bin"))) == 20, 40, "20 jobs printed")
        await self.until(lambda: set(ids) <= set(watcher.finished()), 30,
                         "a finished message for each job")
        self.assertTrue(all(m["status"] == "Printed" for m in watcher.finished().values()))
        self.assertGreaterEqual(link.connects, 2)
        status = await threads.deferToThread(read_status, broker, PREFIX)
        self.assertEqual(status, {"status": "Ready", "ok": True, "paper_near_end": False})
        await self.sleep(1.0)  # any redelivery would show up as a 21st file by now
        self.assertEqual(sorted(p.stem for p in spool.glob("*.bin")), sorted(ids))
        for i in range(10):
            self.assertEqual((spool / f"during{i}.bin").read_bytes(), f"D{i}\n".encode())
        self.assertIn("retrying in", self.log_text())

    async def test_jobs_published_while_the_daemon_is_away(self) -> None:
        """The daemon's persistent session holds QoS 1 jobs published while it is
        disconnected; they print after it reconnects."""
        broker = self.broker(persistent=True)
        service = self.start_daemon(broker, {"bar": PREFIX})
        link = service.links["bar"]
        await self.until(lambda: link.state == "connected", 10, "first connect")
        await self.top.stopService()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        try:
            infos = [pub.publish(f"{PREFIX}/print", job_payload(f"away{i}", b"A\n"), qos=1)
                     for i in range(5)]
            await threads.deferToThread(lambda: [i.wait_for_publish(5) for i in infos])
        finally:
            pub.disconnect()
            pub.loop_stop()
        service = self.start_daemon(broker, {"bar": PREFIX})
        spool = self.state / "spool" / "bar"
        await self.until(lambda: len(list(spool.glob("away*.bin"))) == 5, 15,
                         "jobs held by the session printed")
