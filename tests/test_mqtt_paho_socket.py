"""paho's reads and writes in batches (``ticketd/mqtt/paho_socket.py``): one ``recv`` per
readable event for all the packets it holds, one ``send`` per flush, in order, and a failed
send handed to paho as its own would have been. No broker, no reactor."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import paho.mqtt.client as mqtt
from twisted.trial.unittest import TestCase

from ticketd.mqtt.paho_socket import BatchedSocket, PahoSocket

PUBACK = b"\x40\x02\x00\x01"


class FakeSocket:
    """Counts the system calls; ``incoming`` are what each ``recv`` returns, ``accept``
    how much each ``send`` takes (an exception instance: raised)."""

    def __init__(self, incoming: list[bytes] | None = None,
                 accept: list[Any] | None = None) -> None:
        self.incoming = list(incoming or [])
        self.accept = list(accept or [])
        self.recvs: list[int] = []
        self.sent: list[bytes] = []
        self.closed = False

    def recv(self, size: int) -> bytes:
        self.recvs.append(size)
        if not self.incoming:
            raise BlockingIOError()
        return self.incoming.pop(0)[:size]

    def send(self, data: bytes) -> int:
        take = self.accept.pop(0) if self.accept else len(data)
        if isinstance(take, BaseException):
            raise take
        self.sent.append(bytes(data[:take]))
        return min(take, len(data))

    def close(self) -> None:
        self.closed = True

    def fileno(self) -> int:
        return 7


def paho_reads(sock: BatchedSocket) -> bytes:
    """One packet read the way paho does: type, length, then the rest."""
    head = sock.recv(1) + sock.recv(1)
    return head + sock.recv(head[1])


class ReadTests(TestCase):
    def test_one_recv_feeds_every_packet_received(self) -> None:
        raw = FakeSocket([PUBACK * 3])
        sock = BatchedSocket(raw)
        sock.readable()
        self.assertEqual([paho_reads(sock) for _ in range(3)], [PUBACK] * 3)
        self.assertEqual(sock.pending(), 0)
        self.assertRaises(BlockingIOError, sock.recv, 1)  # no syscall until readable again
        self.assertEqual(len(raw.recvs), 1)

    def test_pending_counts_what_paho_has_not_had(self) -> None:
        sock = BatchedSocket(FakeSocket([PUBACK * 2]))
        sock.readable()
        paho_reads(sock)
        self.assertEqual(sock.pending(), len(PUBACK))

    def test_a_packet_split_over_two_events(self) -> None:
        raw = FakeSocket([PUBACK[:3], PUBACK[3:]])
        sock = BatchedSocket(raw)
        sock.readable()
        self.assertEqual(sock.recv(1) + sock.recv(1) + sock.recv(2), PUBACK[:3])
        self.assertEqual(sock.pending(), 0)      # not -1: the link's read loop ends
        self.assertRaises(BlockingIOError, sock.recv, 1)
        sock.readable()
        self.assertEqual(sock.recv(1), PUBACK[3:])

    def test_end_of_stream_reaches_paho(self) -> None:
        sock = BatchedSocket(FakeSocket([b""]))
        sock.readable()
        self.assertEqual(sock.recv(1), b"")

    def test_large_reads(self) -> None:
        raw = FakeSocket([b"x" * 10])
        sock = BatchedSocket(raw)
        sock.readable()
        sock.recv(1 << 20)
        self.assertEqual(raw.recvs, [1 << 20])  # a big payload is read in big pieces


class WriteTests(TestCase):
    def test_writes_wait_for_the_flush_and_leave_together_in_order(self) -> None:
        raw = FakeSocket()
        sock = BatchedSocket(raw)
        self.assertEqual(sock.send(b"ab"), 2)
        self.assertEqual(sock.send(bytearray(b"c")), 1)
        self.assertEqual(raw.sent, [])
        self.assertTrue(sock.flush())
        self.assertEqual(raw.sent, [b"abc"])
        self.assertTrue(sock.flush())  # nothing left: no syscall
        self.assertEqual(raw.sent, [b"abc"])

    def test_what_the_socket_does_not_take_waits(self) -> None:
        raw = FakeSocket(accept=[2, BlockingIOError()])
        sock = BatchedSocket(raw)
        sock.send(b"abcd")
        self.assertFalse(sock.flush())
        sock.send(b"e")
        self.assertTrue(sock.flush())
        self.assertEqual(b"".join(raw.sent), b"abcde")

    def test_tls_repeats_a_blocked_send_with_the_same_length(self) -> None:
        raw = FakeSocket(accept=[ssl.SSLWantWriteError(), 3, 1])
        sock = BatchedSocket(raw)
        sock.send(b"abc")
        self.assertFalse(sock.flush())
        sock.send(b"d")
        self.assertTrue(sock.flush())
        self.assertEqual(raw.sent, [b"abc", b"d"])

    def test_a_failed_send_goes_to_paho(self) -> None:
        raw = FakeSocket(accept=[ConnectionResetError()])
        sock = BatchedSocket(raw)
        sock.send(b"abc")
        self.assertTrue(sock.flush())
        self.assertIsInstance(sock.error, ConnectionResetError)
        self.assertRaises(ConnectionResetError, sock.recv, 1)
        self.assertRaises(ConnectionResetError, sock.send, b"x")

    def test_close_sends_the_last_packets_first(self) -> None:
        raw = FakeSocket()
        sock = BatchedSocket(raw)
        sock.send(b"\xe0\x00")  # DISCONNECT
        sock.close()
        self.assertEqual(raw.sent, [b"\xe0\x00"])
        self.assertTrue(raw.closed)


class FakeReactor:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def addWriter(self, desc: Any) -> None:  # noqa: N802
        self.calls.append("add")

    def removeWriter(self, desc: Any) -> None:  # noqa: N802
        self.calls.append("remove")


class DescriptorTests(TestCase):
    def test_writable_events_only_while_bytes_wait(self) -> None:
        raw = FakeSocket(accept=[BlockingIOError(), BlockingIOError()])
        reactor = FakeReactor()
        desc = PahoSocket(BatchedSocket(raw), reactor, on_read=lambda d: None,
                          on_write=lambda d: None, name="t")
        desc.sock.send(b"abc")
        self.assertTrue(desc.flush())
        self.assertTrue(desc.flush())
        self.assertEqual(reactor.calls, ["add"])
        self.assertTrue(desc.flush())
        self.assertTrue(desc.flush())
        self.assertEqual(reactor.calls, ["add", "remove"])
        self.assertEqual(raw.sent, [b"abc"])

    def test_a_failed_send_is_said(self) -> None:
        desc = PahoSocket(BatchedSocket(FakeSocket(accept=[BrokenPipeError()])),
                          FakeReactor(), on_read=lambda d: None, on_write=lambda d: None,
                          name="t")
        desc.sock.send(b"abc")
        self.assertFalse(desc.flush())


class PahoTests(TestCase):
    """paho itself, on a socket pair: every packet of one read handled, one recv."""

    PUBLISH = b"\x30\x06\x00\x01t" + b"job"  # QoS 0 PUBLISH on "t"

    def paho(self) -> tuple[Any, BatchedSocket, socket.socket, "CountingSocket", list]:
        """A paho client reading through a BatchedSocket from one end of a socket pair:
        (client, its socket, the broker's end, the counted socket, the payloads it got)."""
        ours, broker = socket.socketpair()
        self.addCleanup(broker.close)
        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             protocol=mqtt.MQTTv311)
        got: list[bytes] = []
        client.on_message = lambda c, u, msg: got.append(msg.payload)
        ours.setblocking(False)
        counting = CountingSocket(ours)
        batched = BatchedSocket(counting)
        client._sock = batched
        self.addCleanup(batched.close)
        return client, batched, broker, counting, got

    def test_paho_handles_every_packet_of_one_read(self) -> None:
        client, batched, broker, counting, got = self.paho()
        broker.sendall(self.PUBLISH * 5)
        batched.readable()
        client.loop_read()
        while batched.pending():
            client.loop_read()
        self.assertEqual(got, [b"job"] * 5)
        self.assertEqual(counting.recvs, 1)

    def test_a_packet_cut_by_the_end_of_a_read(self) -> None:
        """The link reads while bytes are pending: a PUBLISH whose end has not arrived
        yet must leave nothing pending (it once made the reactor spin for ever)."""
        client, batched, broker, _, got = self.paho()
        publish = self.PUBLISH
        for part in (publish * 2 + publish[:5], publish[5:]):
            broker.sendall(part)
            batched.readable()
            client.loop_read()
            for _ in range(10):
                if not batched.pending():
                    break
                client.loop_read()
            self.assertEqual(batched.pending(), 0)
        self.assertEqual(got, [b"job"] * 3)


class CountingSocket:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.recvs = 0

    def recv(self, size: int) -> bytes:
        self.recvs += 1
        return self.sock.recv(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)
