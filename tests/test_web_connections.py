"""Connection limits against the real daemon: a request head trickled a byte a second (a
WebSocket handshake that never completes) is closed within the deadline, while a real
WebSocket stays open; connections per client address are capped, with a reason."""

from __future__ import annotations

import time

from twisted.internet import task
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import ClientFactory

from ticketd.web.connections import HEADERS_TIMEOUT
from tests.http_support import Collect, request
from tests.ws_support import DaemonTestCase

VIRTUAL = '[printers.virt]\nconnection = "virtual"\ndefault = true\n'


class LimitsCase(DaemonTestCase):
    printers = VIRTUAL
    connect_client = False

    async def raw(self, data: bytes = b"") -> Collect:
        proto = Collect(data)
        endpoint = TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.daemon.port)
        await endpoint.connect(ClientFactory.forProtocol(lambda: proto))
        return proto


class SlowHandshakeTests(LimitsCase):
    async def test_a_byte_a_second_is_closed_in_time(self) -> None:
        ws = await self.connect()
        head = request("GET", "/ws", f"127.0.0.1:{self.daemon.port}",
                       {"Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        slow = await self.raw()
        started = time.monotonic()
        sent = iter(head)

        def trickle() -> None:
            byte = next(sent, None)
            if byte is not None and slow.transport is not None:
                slow.transport.write(bytes([byte]))
        loop = task.LoopingCall(trickle)
        loop.clock = self.reactor
        loop.start(1.0)
        self.addCleanup(lambda: loop.running and loop.stop())
        answer = await self.within(slow.done, HEADERS_TIMEOUT + 5)
        took = time.monotonic() - started
        self.assertEqual(answer, b"")  # dropped, never answered
        self.assertGreater(took, HEADERS_TIMEOUT - 1)
        self.assertLess(took, HEADERS_TIMEOUT + 3)
        self.assertEqual((await self.within(ws.ping()))["tipo"], "pong")  # still open
        await ws.close()


class PerClientCapTests(LimitsCase):
    server = "max_connections_per_client = 3"

    async def test_the_cap(self) -> None:
        clients = [await self.connect() for _ in range(3)]
        refused = await self.raw(request("GET", "/health", f"127.0.0.1:{self.daemon.port}"))
        answer = await self.within(refused.done)
        self.assertTrue(answer.startswith(b"HTTP/1.1 503 "), answer)
        self.assertIn(b"Too many connections from this address: at most 3", answer)
        await clients[0].close()
        await self.sleep(0.3)
        again = await self.raw(request("GET", "/health", f"127.0.0.1:{self.daemon.port}"))
        self.assertTrue((await self.within(again.done)).startswith(b"HTTP/1.1 200 "))
        for c in clients[1:]:
            self.assertEqual((await self.within(c.ping()))["tipo"], "pong")
            await c.close()
        self.assertIn("connection refused (too_many_connections)", self.daemon.log())
