"""The ``Host`` check: a DNS-rebinding page (another name resolved to 127.0.0.1) is refused
on every path, the WebSocket upgrade included, with 421 and an audit event."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from ticketd.config import ServerConfig
from ticketd.web.hosts import host_allowed, own_names
from tests.http_support import SiteCase

PATHS = ("/", "/health", "/ready", "/ws", "/preview", "/validate", "/jobs/x/preview.png",
         "/metrics", "/static/app.js", "/examples", "/ticketd.js", "/nowhere")
UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


class HostAllowedTests(SynchronousTestCase):
    def test_names_and_ports(self) -> None:
        names = own_names(ServerConfig(listen="192.168.1.5", hostnames=("till.lan",)))
        for host in (b"localhost", b"localhost:8766", b"127.0.0.1:8766", b"[::1]:8766",
                     b"[::1]", b"192.168.1.5:8766", b"till.lan", b"LOCALHOST:8766",
                     b"localhost.:8766"):
            self.assertTrue(host_allowed(host, names, (8766,)), host)
        for host in (None, b"", b"evil.example", b"evil.example:8766", b"localhost:8767",
                     b"localhost.evil.example", b"127.0.0.1.nip.io:8766", b"[::1]x",
                     b"localhost:abc", b"\xff", b"[::2]:8766", b"till.lan.evil:8766"):
            self.assertFalse(host_allowed(host, names, (8766,)), host)
        ipv6 = own_names(ServerConfig(listen="::1"))
        self.assertTrue(host_allowed(b"[::1]:8766", ipv6, (8766,)))


class ForeignHostTests(SiteCase):
    def test_every_path_refused(self) -> Any:
        async def go() -> None:
            for path in PATHS:
                for method in ("GET", "POST"):
                    with capturedLogs() as events:
                        code, answer = await self.get(path, "evil.example:%d" % self.number,
                                                      method)
                    self.assertEqual(code, 421, (method, path, answer[:200]))
                    [event] = [e for e in events if e.get("audit")]
                    self.assertEqual(event["reason"], "host_refused")
                    self.assertIn("request refused (host_refused): Host "
                                  f"'evil.example:{self.number}'", formatEvent(event))
            code, _ = await self.get("/ws", "evil.example", headers=UPGRADE)
            self.assertEqual(code, 421)
            code, _ = await self.get("/health", None)
            self.assertEqual(code, 421)  # no Host at all
        return ensureDeferred(go())

    def test_own_names_served(self) -> Any:
        async def go() -> None:
            for host in (f"127.0.0.1:{self.number}", f"localhost:{self.number}", "localhost"):
                code, _ = await self.get("/health", host)
                self.assertEqual(code, 200, host)
        return ensureDeferred(go())


class ConfiguredHostnameTests(SiteCase):
    server = 'hostnames = ["Till-3.lan"]'

    def test_configured_name(self) -> Any:
        async def go() -> None:
            self.assertEqual((await self.get("/health", f"till-3.lan:{self.number}"))[0], 200)
            self.assertEqual((await self.get("/health", "till-4.lan"))[0], 421)
        return ensureDeferred(go())
