"""The Autobahn adapter without sockets: factory.buildProtocol over a StringTransport, with
txaio's timers on a Clock."""

from __future__ import annotations

import json
import os
import struct
from typing import Any

import txaio
from autobahn.twisted.resource import WebSocketResource
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from ticketd.config import ServerConfig
from ticketd.web import replies
from ticketd.web.messages import Hub
from ticketd.web.ws import TicketServerFactory, allowed_origins, normalise_origin
from tests.test_ws_property import FakeService

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


class Transport(StringTransport):
    def unregisterProducer(self) -> None:  # noqa: N802 (Autobahn calls it with none)
        self.producer = None


def client_frame(payload: bytes, opcode: int = 1, length: int | None = None) -> bytes:
    """A masked client frame (``length`` may claim more than is sent)."""
    n = len(payload) if length is None else length
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    frames = []
    while data:
        opcode, n = data[0] & 0x0F, data[1] & 0x7F
        i = 2
        if n == 126:
            n, i = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, i = struct.unpack("!Q", data[2:10])[0], 10
        frames.append((opcode, data[i:i + n]))
        data = data[i + n:]
    return frames


class AdapterTests(SynchronousTestCase):
    server = ServerConfig(port=8766, max_message_size=4096)

    def setUp(self) -> None:
        self.clock = Clock()
        old = txaio.config.loop
        txaio.config.loop = self.clock
        self.addCleanup(setattr, txaio.config, "loop", old)
        self.manager = FakeService()
        self.hub = Hub(self.manager, clock=self.clock, auth_token=self.server.auth_token)
        self.hub.start()
        self.factory = TicketServerFactory(self.hub, self.server, self.clock)

    def open(self, path: str = "/ws", origin: str | None = None) -> tuple[Any, Transport]:
        proto = self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = Transport()
        proto.makeConnection(transport)
        headers = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1:8766", "Upgrade: websocket",
                   "Connection: Upgrade", f"Sec-WebSocket-Key: {KEY}",
                   "Sec-WebSocket-Version: 13"]
        if origin is not None:
            headers.append(f"Origin: {origin}")
        proto.dataReceived(("\r\n".join(headers) + "\r\n\r\n").encode())
        return proto, transport

    def messages(self, transport: Transport) -> list[Any]:
        data = transport.value()
        transport.clear()
        if data.startswith(b"HTTP/1.1 101"):
            data = data.split(b"\r\n\r\n", 1)[1]
        return [json.loads(p) if op == 1 else (op, p) for op, p in server_frames(data)]

    def test_handshake_info_and_ping(self) -> None:
        proto, t = self.open()
        self.assertTrue(t.value().startswith(b"HTTP/1.1 101"))
        self.assertEqual(self.messages(t)[0]["tipo"], "info")
        proto.dataReceived(client_frame(b'{"tipo":"ping","id":"a"}'))
        self.assertEqual(self.messages(t), [{"tipo": "pong", "status": "ok", "id": "a"}])
        self.assertEqual(len(self.hub.sessions), 1)
        proto.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(self.hub.sessions), 0)

    def test_a_shared_message_is_framed_once(self) -> None:
        """The live feed's messages go to every dashboard: one encoding, one frame."""
        (a, ta), (b, tb) = self.open(), self.open()
        self.messages(ta), self.messages(tb)  # the greetings
        made = []
        prepare = self.factory.prepareMessage
        self.factory.prepareMessage = lambda *args, **kw: made.append(1) or prepare(*args, **kw)
        shared = replies.Shared({"tipo": "info", "status": "event", "event": "job"})
        a._send(shared)
        b._send(shared)
        self.assertEqual(self.messages(ta), [dict(shared)])
        self.assertEqual(self.messages(tb), [dict(shared)])
        self.assertEqual(len(made), 1)

    def test_binary_and_bad_json(self) -> None:
        proto, t = self.open()
        self.messages(t)
        proto.dataReceived(client_frame(b"\x00\x01", opcode=2) + client_frame(b"{x"))
        self.assertEqual([m["tipo"] for m in self.messages(t)], ["error", "error"])
        self.assertFalse(t.disconnecting)

    def test_oversize_error_then_1009(self) -> None:
        proto, t = self.open()
        self.messages(t)
        proto.dataReceived(client_frame(b"x" * 100, length=2 << 20)[:200])
        out = self.messages(t)
        self.assertEqual(out[0]["tipo"], "error")
        self.assertEqual(out[0]["mensaje"],
                         "Message too large: 2097152 bytes, the limit is 4096 bytes")
        self.assertEqual(out[1][0], 8)  # close
        self.assertEqual(struct.unpack("!H", out[1][1][:2])[0], 1009)

    def test_foreign_origin_refused(self) -> None:
        proto, t = self.open(origin="http://evil.example")
        self.assertTrue(t.value().startswith(b"HTTP/1.1 400"), t.value()[:80])
        self.assertIn(b"not allowed", t.value())
        self.assertEqual(self.hub.sessions, set())
        proto, t = self.open(origin="http://localhost:3000")
        self.assertTrue(t.value().startswith(b"HTTP/1.1 101"))


class TokenAdapterTests(AdapterTests):
    server = ServerConfig(port=8766, max_message_size=4096, auth_token="t0k")

    def test_query_token(self) -> None:
        proto, t = self.open("/ws?token=nope")
        self.assertTrue(t.value().startswith(b"HTTP/1.1 403"), t.value()[:80])
        proto, t = self.open("/ws?token=t0k")
        self.messages(t)
        proto.dataReceived(client_frame(b'{"tipo":"raw","id":"q","datos":{"data":"aGk="}}'))
        self.assertEqual(self.messages(t)[0]["tipo"], "ack")
        proto, t = self.open("/ws")
        self.messages(t)
        proto.dataReceived(client_frame(b'{"tipo":"raw","id":"r","datos":{"data":"aGk="}}'))
        self.assertEqual(self.messages(t)[0]["mensaje"], "Invalid or missing auth token")


class OriginPolicyTests(SynchronousTestCase):
    def test_normalise(self) -> None:
        self.assertEqual(normalise_origin("https://pos.example.com"),
                         "https://pos.example.com:443")
        self.assertEqual(normalise_origin("http://pos.example.com/"), "http://pos.example.com:80")
        self.assertEqual(normalise_origin("http://a:8080"), "http://a:8080")
        self.assertEqual(normalise_origin("http://localhost:*"), "http://localhost:*")
        self.assertEqual(normalise_origin("null"), "null")

    def test_default(self) -> None:
        self.assertEqual(allowed_origins(ServerConfig(listen="127.0.0.1", port=9000))[:3],
                         ["http://127.0.0.1:9000", "http://localhost:*", "http://127.0.0.1:*"])
        self.assertEqual(allowed_origins(ServerConfig(allowed_origins=("https://x.y",))),
                         ["https://x.y:443"])


class SiteTests(SynchronousTestCase):
    def test_ws_mounted_beside_health(self) -> None:
        from tests.fakes import Rig, config
        from ticketd.web.site import build_site
        rig = Rig(config(self.mktemp()))
        site = build_site(rig.service, rig.config.server, clock=Clock(), started=0.0,
                          reactor=Clock())
        self.assertIsInstance(site.resource.children[b"ws"], WebSocketResource)
        self.assertIn(b"health", site.resource.children)
