"""Security over real sockets: Origins, the auth token, the size limit, the rate limit, and
a batch of random or malformed frames that must never crash the daemon nor leave a job
half-accepted."""

from __future__ import annotations

import json
import random
import urllib.request
from typing import Any

from twisted.internet import defer

from ticketd.client import ClientError
from tests.ws_fuzz import fuzz_frames
from tests.ws_support import DaemonTestCase, doc

VIRTUAL_ONLY = """
[printers.virt]
connection = "virtual"
default = true
queue_capacity = 1000
"""


class OriginTests(DaemonTestCase):
    printers = VIRTUAL_ONLY
    connect_client = False

    async def refused(self, **kw: Any) -> str:
        try:
            client = await self.connect(**kw)
        except ClientError as e:
            return str(e)
        await client.close()
        self.fail(f"connection with {kw} was accepted")

    async def test_default_origins(self) -> None:
        for origin in ("http://evil.example", "http://localhost.evil.example:80", "null",
                       f"https://127.0.0.1.evil.example:{self.daemon.port}"):
            why = await self.refused(origin=origin)
            self.assertIn("not allowed", why, origin)  # Autobahn answers 400 to the handshake
        for origin in (None, "http://localhost:5173", "http://127.0.0.1:8080",
                       f"http://127.0.0.1:{self.daemon.port}"):
            client = await self.connect(origin=origin)
            self.assertEqual((await self.within(client.ping()))["tipo"], "pong")


class ConfiguredOriginTests(DaemonTestCase):
    printers = VIRTUAL_ONLY
    server = 'allowed_origins = ["https://pos.example.com", "null"]'
    connect_client = False

    async def test_configured_list_replaces_the_default(self) -> None:
        for origin in ("https://pos.example.com", "https://pos.example.com:443", "null"):
            client = await self.connect(origin=origin)
            self.assertEqual((await self.within(client.ping()))["tipo"], "pong")
        for origin in ("http://localhost:5173", "http://pos.example.com",
                       "https://pos.example.com:8443"):
            with self.assertRaises(ClientError):
                await self.connect(origin=origin)


class TokenTests(DaemonTestCase):
    printers = VIRTUAL_ONLY
    server = 'auth_token = "tok-123"\nrate_limit = 3.0'
    connect_client = False

    async def test_query_token(self) -> None:
        with self.assertRaises(ClientError) as e:
            await self.connect(query_token="wrong")
        self.assertIn("403", str(e.exception))
        client = await self.connect(query_token="tok-123")
        self.assertEqual((await self.within(client.raw(b"ok\n", job_id="q1")))["tipo"], "ack")

    async def test_message_token(self) -> None:
        anonymous = await self.connect()
        self.assertEqual((await self.within(anonymous.status()))["tipo"], "status")
        for client in (anonymous, await self.connect(auth_token="tok-12")):
            reply = await self.within(client.raw(b"no\n", job_id="m1"))
            self.assertEqual((reply["tipo"], reply["mensaje"]),
                             ("error", "Invalid or missing auth token"))
            reply = await self.within(client.ticket(doc("no"), "m2"))
            self.assertEqual(reply["mensaje"], "Invalid or missing auth token")
        good = await self.connect(auth_token="tok-123")
        self.assertEqual((await self.within(good.raw(b"yes\n", job_id="m3")))["tipo"], "ack")
        self.assertEqual((await self.within(good.job_status("m1")))["mensaje"],
                         "Unknown job id: m1")
        self.assertFalse((self.daemon.spool("virt") / "m1.bin").exists())

    async def test_rate_limit(self) -> None:
        client = await self.connect(auth_token="tok-123")
        replies = await self.within(defer.gatherResults(
            [client.raw(b"r\n", job_id=f"r{i}") for i in range(5)]))
        kinds = [r["tipo"] for r in replies]
        self.assertEqual(kinds, ["ack"] * 3 + ["error"] * 2)  # the burst, then refused
        errors = [m for m in client.messages if m["tipo"] == "error"]
        self.assertEqual(errors[0]["mensaje"],
                         "Rate limit exceeded: please wait before submitting more jobs")
        await self.sleep(0.7)
        self.assertEqual((await self.within(client.raw(b"r\n", job_id="r9")))["tipo"], "ack")


class SizeTests(DaemonTestCase):
    printers = VIRTUAL_ONLY

    async def test_two_mib_message_gets_error_then_1009(self) -> None:
        near = json.dumps({"tipo": "ping", "id": "big", "pad": "x" * (1000 * 1000)})
        self.assertEqual((await self.within(self.client.request(
            json.loads(near), lambda m: m.get("tipo") == "pong")))["id"], "big")
        error = self.client.wait_for(lambda m: m["tipo"] == "error")
        error.addErrback(lambda f: None)
        self.client.send({"tipo": "ticket", "id": "huge", "datos": {"x": "y" * (2 << 20)}})
        was_clean, code, reason = await self.within(self.client.closed)
        self.assertEqual(code, 1009, reason)
        errors = [m for m in self.client.messages if m["tipo"] == "error"]
        self.assertEqual(len(errors), 1)
        self.assertTrue(errors[0]["mensaje"].startswith("Message too large"), errors)
        other = await self.connect()  # the daemon is fine
        self.assertEqual((await self.within(other.job_status("huge")))["tipo"], "error")


class FuzzTests(DaemonTestCase):
    printers = VIRTUAL_ONLY

    async def test_random_frames(self) -> None:
        c = self.client
        immediate = {"error", "ack", "pong", "status", "printers"}
        acked: set[str] = set()
        refused: set[str] = set()
        for frame in fuzz_frames(random.Random(20261122), 300):
            d = c.wait_for(lambda m: m["tipo"] in immediate
                           or (m["tipo"] == "info" and m["status"] == "job")
                           or (m["tipo"] == "result" and m.get("state") == "cancelled"))
            c.send(frame)
            reply = await self.within(d, 10)
            if reply["tipo"] == "ack":
                acked.add(reply["id"])
            elif reply["tipo"] == "error" and "id" in reply:
                refused.add(reply["id"])
        self.assertEqual((await self.within(c.ping()))["tipo"], "pong")
        with urllib.request.urlopen(self.daemon.base_url + "/health", timeout=5) as r:
            self.assertEqual(json.load(r)["worker"]["running"], True)
        self.assertGreater(len(acked), 3)
        self.assertGreater(len(refused), 10)  # invalid documents are refused before the ack
        checker = await self.connect()
        for job_id in sorted(acked):
            job = await self.within(checker.job_status(job_id))
            self.assertEqual((job["tipo"], job["status"]), ("info", "job"), job)
        for job_id in sorted(refused - acked):
            job = await self.within(checker.job_status(job_id))
            self.assertEqual(job["tipo"], "error", job)  # nothing half-accepted
