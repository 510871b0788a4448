"""A fleet: 20 printers, each its own prefix and connection (its own will), on one broker;
1,000 jobs spread over them all print exactly once and every retained status is right."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from twisted.internet import threads

from tests.broker import MosquittoBroker, Watcher, job_payload, publisher
from tests.mqtt_inprocess import InProcessCase

N_PRINTERS = 20
N_JOBS = 1000


def retained_statuses(broker: MosquittoBroker, pattern: str, want: int,
                      wait: float = 5.0) -> dict[str, Any]:
    got: dict[str, Any] = {}
    done = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)

    def on_message(c: Any, u: Any, msg: Any) -> None:
        got[msg.topic] = json.loads(msg.payload)
        if len(got) >= want:
            done.set()
    c.on_message = on_message
    c.on_connect = lambda c, *a: c.subscribe(pattern, 0)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        done.wait(wait)
    finally:
        c.disconnect()
        c.loop_stop()
    return got


class FleetTests(InProcessCase):
    timeout = 90

    async def test_twenty_printers_thousand_jobs(self) -> None:
        broker = self.broker()
        prefixes = {f"p{i:02d}": f"fleet/p{i:02d}" for i in range(N_PRINTERS)}
        service = self.start_daemon(broker, prefixes)
        await self.until(lambda: all(l.state == "connected" for l in service.links.values()),
                         15, "20 connections")
        self.assertEqual(len({l.client_id for l in service.links.values()}), N_PRINTERS)
        statuses = await threads.deferToThread(retained_statuses, broker, "fleet/+/status",
                                               N_PRINTERS)
        self.assertEqual(statuses, {f"{p}/status": {"status": "Ready", "ok": True,
                                                    "paper_near_end": False}
                                    for p in prefixes.values()})
        watcher = Watcher(broker, ["fleet/+/printed"])
        self.addCleanup(watcher.close)
        pub = publisher(broker, "fleet-till")
        self.addCleanup(pub.loop_stop)
        self.addCleanup(pub.disconnect)
        names = sorted(prefixes)
        t0 = time.monotonic()
        for i in range(N_JOBS):
            name = names[i % N_PRINTERS]
            pub.publish(f"{prefixes[name]}/print",
                        job_payload(f"{name}-{i}", f"job {i}\n".encode()), qos=1)
        await self.until(lambda: len(watcher.finished()) >= N_JOBS, 60, "1000 jobs finished")
        took = time.monotonic() - t0
        finished = watcher.finished()
        self.assertEqual(len(finished), N_JOBS)
        self.assertEqual({m["status"] for m in finished.values()}, {"Printed"})
        await self.sleep(0.5)
        for name in names:
            files = sorted(p.name for p in (self.state / "spool" / name).glob("*.bin"))
            self.assertEqual(len(files), N_JOBS // N_PRINTERS, name)
        self.assertEqual(sum(b.received for b in service.bridges.values()), N_JOBS)
        print(f"\nfleet: {N_JOBS} jobs on {N_PRINTERS} printers in {took:.2f} s")
        await self.top.stopService()
        statuses = await threads.deferToThread(retained_statuses, broker, "fleet/+/status",
                                               N_PRINTERS)
        self.assertEqual(set(statuses), {f"{p}/status" for p in prefixes.values()})
        self.assertEqual({s["status"] for s in statuses.values()}, {"Offline"})
