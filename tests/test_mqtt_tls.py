"""Broker security: TLS with a CA made by the test, an untrusted broker certificate, the
explicit insecure mode, and password authentication (right and wrong)."""

from __future__ import annotations

from twisted.internet import threads

from tests.broker import make_ca, quicktill_print
from tests.mqtt_inprocess import InProcessCase

PREFIX = "shop/safe"


class TlsTests(InProcessCase):
    async def test_tls_with_the_right_ca(self) -> None:
        broker = self.broker(tls=True)
        service = self.start_daemon(broker, {"safe": PREFIX})
        await self.until(lambda: service.links["safe"].state == "connected", 10, "TLS connect")
        seen = await threads.deferToThread(quicktill_print, broker, PREFIX, b"tls\n", "tls1")
        self.assertEqual(seen[-1]["status"], "Printed")
        self.assertEqual((self.state / "spool" / "safe" / "tls1.bin").read_bytes(), b"tls\n")

    async def test_untrusted_broker_is_refused(self) -> None:
        broker = self.broker(tls=True)
        other_ca, _ = make_ca(self.dir / "other", "rogue")
        service = self.start_daemon(broker, {"safe": PREFIX}, ca_file=str(other_ca))
        await self.until(lambda: "certificate was refused" in self.log_text(), 10, "log line")
        self.assertNotEqual(service.links["safe"].state, "connected")
        line = next(l for l in self.logged if "certificate was refused" in l)
        self.assertIn("certificate verify failed", line)
        self.assertIn(str(other_ca), line)
        self.assertIn("retrying in", line)

    async def test_insecure_is_explicit_and_loud(self) -> None:
        broker = self.broker(tls=True)
        other_ca, _ = make_ca(self.dir / "other", "rogue")
        service = self.start_daemon(broker, {"safe": PREFIX}, ca_file=str(other_ca),
                                    tls_insecure=True)
        await self.until(lambda: service.links["safe"].state == "connected", 10, "connect")
        self.assertIn("TLS certificate verification is OFF", self.log_text())


class PasswordTests(InProcessCase):
    users = {"ticketd": "s3cret", "till": "tillpw"}

    async def test_right_password(self) -> None:
        broker = self.broker(users=self.users)
        service = self.start_daemon(broker, {"safe": PREFIX}, username="ticketd",
                                    password="s3cret")
        await self.until(lambda: service.links["safe"].state == "connected", 10, "connect")
        seen = await threads.deferToThread(quicktill_print, broker, PREFIX, b"pw\n", "pw1",
                                           10.0, ("till", "tillpw"))
        self.assertEqual(seen[-1]["status"], "Printed")

    async def test_wrong_password_retries_with_backoff(self) -> None:
        broker = self.broker(users=self.users)
        service = self.start_daemon(broker, {"safe": PREFIX}, username="ticketd",
                                    password="wrong", protocol="3.1.1")
        link = service.links["safe"]
        await self.until(lambda: link.backoff.failures >= 3, 15, "three refused attempts")
        refused = [l for l in self.logged if "refused the connection" in l]
        self.assertTrue(refused, self.log_text())
        self.assertIn("ot authorized", refused[0] + " ".join(self.logged))
        self.assertTrue(self.top.running)
        self.assertNotEqual(link.state, "connected")
