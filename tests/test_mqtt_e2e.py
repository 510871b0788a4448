"""End to end: the real daemon (a subprocess) on a real mosquitto, driven the way till
software drives the MQTT print-server protocol (quicktill: MQTT 3.1.1, QoS 0, one fresh
connection per job)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from twisted.trial.unittest import TestCase

from tests.broker import MosquittoBroker, quicktill_print, read_status
from tests.daemon import DaemonProcess

PREFIX = "shop/till1"


class DaemonCase(TestCase):
    timeout = 60

    def setUp(self) -> None:
        self.dir = Path(self.mktemp()).resolve()
        self.broker = MosquittoBroker(self.dir / "broker").start()
        self.addCleanup(self.broker.stop)
        self.daemon = DaemonProcess(self.dir / "daemon")
        self.addCleanup(self.daemon.kill9)

    def start_daemon(self, **mqtt: object) -> None:
        self.spool = self.daemon.spool("receipt")
        text = (f'[printers.receipt]\nconnection = "virtual"\nprefix = "{PREFIX}"\n'
                f"status_interval = 0.5\n" + self.broker.mqtt_toml(**mqtt))
        self.daemon.start(text)

    def status(self, want: str, within: float = 5.0) -> dict:
        deadline = time.monotonic() + within
        while True:
            s = read_status(self.broker, PREFIX, wait=1.0)
            if (s and s["status"] == want) or time.monotonic() > deadline:
                self.assertIsNotNone(s, "no retained status")
                self.assertEqual(s["status"], want, self.daemon.log()[-2000:])  # type: ignore
                return s  # type: ignore[return-value]
            time.sleep(0.1)


class QuicktillTests(DaemonCase):
    def test_print_and_status(self) -> None:
        self.start_daemon()
        self.assertEqual(self.status("Ready"), {"status": "Ready", "ok": True,
                                                "paper_near_end": False})
        data = b"\x1b@Receipt 1\n\x1dV\x00"
        seen = quicktill_print(self.broker, PREFIX, data, jobid="till1-0001")
        self.assertEqual(seen[-1], {"jobid": "till1-0001", "status": "Printed",
                                    "finished": True, "success": True})
        self.assertEqual((self.spool / "till1-0001.bin").read_bytes(), data)
        # the till times out and retries with the same jobid: not printed twice
        again = quicktill_print(self.broker, PREFIX, data, jobid="till1-0001")
        self.assertEqual(again[-1]["status"], "Printed")
        self.assertEqual(len(list(self.spool.glob("*.bin"))), 1)

    def test_bad_payloads_get_an_answer(self) -> None:
        self.start_daemon()
        self.status("Ready")
        seen = quicktill_print(self.broker, PREFIX, b"", jobid="empty")  # "data": ""
        self.assertEqual(seen[-1]["status"], "Printed")  # nothing to print, as the original
        got: list[dict] = []
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        c.on_message = lambda c, u, m: got.append(json.loads(m.payload))
        c.connect("127.0.0.1", self.broker.port)
        c.subscribe(f"{PREFIX}/printed", 1)
        c.loop_start()
        try:
            time.sleep(0.2)
            for payload in [b"{not json", b'{"jobid": "b64", "data": "@@@"}',
                            b'{"jobid": "ok1", "data": "' + base64.b64encode(b"ok") + b'"}']:
                c.publish(f"{PREFIX}/print", payload, qos=1)
            deadline = time.monotonic() + 5
            while not any(m["jobid"] == "ok1" and m["finished"] for m in got) and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            c.disconnect()
            c.loop_stop()
        final = {m["jobid"]: m["status"] for m in got if m["finished"]}
        self.assertTrue(final["b64"].startswith("Error decoding data: e="), final)
        self.assertEqual(final["ok1"], "Printed")
        self.assertIn("refused: JSON: not valid JSON", self.daemon.log())


class WillTests(DaemonCase):
    def test_sigkill_leaves_the_will(self) -> None:
        self.start_daemon(keepalive=5)
        self.status("Ready")
        self.daemon.kill9()
        self.assertEqual(self.status("Offline"), {"status": "Offline", "ok": False})

    def test_sigterm_publishes_offline(self) -> None:
        self.start_daemon(keepalive=5)
        self.status("Ready")
        self.daemon.stop()
        self.assertEqual(self.status("Offline"), {"status": "Offline", "ok": False})
        # a clean stop: DISCONNECT sent (so it is ticketd's own Offline, not the will)
        self.assertIn("Client ticketd-receipt disconnected", self.broker.log())
        self.assertNotIn("ticketd-receipt closed its connection", self.broker.log())

    def test_mqtt_311_by_config(self) -> None:
        self.start_daemon(protocol="3.1.1")
        self.status("Ready")
        seen = quicktill_print(self.broker, PREFIX, b"v311\n", jobid="v311")
        self.assertEqual(seen[-1]["status"], "Printed")
        self.assertIn("MQTT 3.1.1", self.daemon.log())
