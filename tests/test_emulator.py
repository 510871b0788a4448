"""The emulated printer: the sans-IO core, the TCP adapter (with the network connection
against it), the control API and the CLI."""

from __future__ import annotations

from pathlib import Path

from twisted.internet import defer, task, threads
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from ticketd.emulator import core, tcp
from ticketd.emulator.live import LiveEmulator
from ticketd.printers import status
from ticketd.printers.connection import PrinterIOError
from ticketd.printers.network import NetworkConnection

Q = {n: status.query(n) for n in status.QUERIES}
ROOT = Path(__file__).resolve().parent.parent


def ask_all(session: core.Session) -> dict[int, int]:
    return {n: session.receive(Q[n]).reply[0] for n in status.QUERIES}


class CoreStatusTests(unittest.TestCase):
    EXPECTED = {  # fault -> {n: byte}, spelled out from Epson's layout
        "ready": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
        "paper_near_end": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
        "paper_out": {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E},
        "cover_open": {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
        "offline": {1: 0x1A, 2: 0x12, 3: 0x12, 4: 0x12},
        "feeding": {1: 0x1A, 2: 0x1A, 3: 0x12, 4: 0x12},
        "autocutter_error": {1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12},
        "unrecoverable_error": {1: 0x1A, 2: 0x52, 3: 0x32, 4: 0x12},
        "recoverable_error": {1: 0x1A, 2: 0x52, 3: 0x52, 4: 0x12},
    }
    TEXT = {"ready": "Ready", "paper_near_end": "Ready", "paper_out": "Out of paper",
            "cover_open": "Cover is open", "offline": "Offline",
            "feeding": "Paper is being fed by the paper feed button",
            "autocutter_error": "Error light is on", "unrecoverable_error": "Error light is on",
            "recoverable_error": "Error light is on"}

    def test_every_fault_every_query(self) -> None:
        for fault, expected in self.EXPECTED.items():
            em = core.Emulator()
            em.set_fault(fault)
            replies = ask_all(em.open_session())
            self.assertEqual(replies, expected, fault)
            for b in replies.values():
                self.assertTrue(status.is_status_byte(b))
            self.assertEqual(status.parse(replies).text, self.TEXT[fault], fault)
        self.assertEqual(set(self.EXPECTED) | {"silent"}, set(core.STATUS_FAULTS))

    def test_parsed_details(self) -> None:
        em = core.Emulator()
        s = em.open_session()
        em.set_fault("paper_near_end")
        self.assertTrue(status.parse(ask_all(s)).paper_near_end)
        em.set_fault("autocutter_error")
        self.assertEqual(status.parse(ask_all(s)).error, "autocutter")
        em.set_fault("unrecoverable_error")
        self.assertEqual(status.parse(ask_all(s)).error, "unrecoverable")
        em.set_fault("recoverable_error")
        self.assertEqual(status.parse(ask_all(s)).error, "auto-recoverable")

    def test_silent_answers_nothing_and_keeps_bytes(self) -> None:
        em = core.Emulator()
        em.set_fault("silent")
        s = em.open_session()
        out = s.receive(b"abc" + Q[1] + b"def")
        self.assertEqual(out.reply, b"")
        self.assertEqual(em.received, b"abc" + Q[1] + b"def")
        self.assertEqual(s.record.queries, [])

    def test_ready_clears_line_faults(self) -> None:
        em = core.Emulator()
        em.set_fault("slow", rate=10)
        em.set_fault("disconnect_after", nbytes=5)
        em.set_fault("paper_out")
        self.assertEqual(em.state, core.State("paper_out", 5, 10.0))
        self.assertEqual(em.set_fault("ready"), core.State())

    def test_bad_faults(self) -> None:
        em = core.Emulator()
        self.assertRaises(ValueError, em.set_fault, "on_fire")
        self.assertRaises(ValueError, em.set_fault, "disconnect_after")
        self.assertRaises(ValueError, em.set_fault, "disconnect_after", nbytes=-1)
        self.assertRaises(ValueError, em.set_fault, "slow")


class CoreRecordingTests(unittest.TestCase):
    def test_answered_queries_removed_from_payload(self) -> None:
        em = core.Emulator()
        s = em.open_session("x")
        out = s.receive(b"\x1b@hello" + Q[1] + Q[4] + b"world\x10\x04\x09!")
        self.assertEqual(out.reply, b"\x12\x12")
        self.assertEqual(bytes(s.record.raw), b"\x1b@hello" + Q[1] + Q[4] + b"world\x10\x04\x09!")
        self.assertEqual(em.received, b"\x1b@helloworld\x10\x04\x09!")
        self.assertEqual(s.record.queries, [1, 4])

    def test_split_query_at_every_boundary(self) -> None:
        data = b"ab" + Q[2] + b"cd\x10" + Q[3] + b"\x10\x04"
        for cut in range(len(data) + 1):
            em = core.Emulator()
            em.set_fault("cover_open")
            s = em.open_session()
            reply = s.receive(data[:cut]).reply + s.receive(data[cut:]).reply
            s.close()
            self.assertEqual(reply, b"\x16\x12", cut)
            self.assertEqual(em.received, b"abcd\x10\x10\x04", cut)

    def test_byte_at_a_time(self) -> None:
        em = core.Emulator()
        em.set_fault("offline")
        s = em.open_session()
        reply = b"".join(s.receive(bytes([b])).reply for b in b"x" + Q[1] + b"y")
        self.assertEqual(reply, b"\x1a")
        self.assertEqual(em.received, b"xy")

    def test_trailing_dle_held_until_close(self) -> None:
        em = core.Emulator()
        s = em.open_session()
        s.receive(b"data\x10")
        self.assertEqual(em.received, b"data")
        s.close()
        self.assertEqual(em.received, b"data\x10")
        self.assertFalse(s.record.open)

    def test_received_across_connections_in_order(self) -> None:
        em = core.Emulator()
        a, b = em.open_session("a"), em.open_session("b")
        a.receive(b"1")
        b.receive(b"2")
        a.receive(b"3")
        self.assertEqual(em.received, b"123")
        self.assertEqual([bytes(c.payload) for c in em.connections], [b"13", b"2"])
        self.assertEqual([c.number for c in em.connections], [1, 2])

    def test_disconnect_after(self) -> None:
        em = core.Emulator()
        s = em.open_session()
        em.set_fault("disconnect_after", nbytes=5)
        self.assertFalse(s.receive(b"abc").hang_up)
        out = s.receive(b"defgh")
        self.assertTrue(out.hang_up)
        self.assertEqual(em.received, b"abcde")
        self.assertIsNone(em.state.disconnect_after)  # one-shot

    def test_slow_pause(self) -> None:
        em = core.Emulator()
        em.set_fault("slow", rate=100)
        self.assertAlmostEqual(em.open_session().receive(b"x" * 50).pause, 0.5)
        em.set_fault("slow", rate=0)
        self.assertEqual(em.open_session().receive(b"x" * 50).pause, 0.0)

    def test_observers(self) -> None:
        em = core.Emulator()
        events: list[tuple[str, int, bytes]] = []
        em.add_observer(lambda e, r, d: events.append((e, r.number, d)))
        s = em.open_session()
        s.receive(b"hi")
        s.close()
        s.close()
        self.assertEqual(events, [("connect", 1, b""), ("data", 1, b"hi"), ("disconnect", 1, b"")])


class ProtocolWithClockTests(unittest.TestCase):
    """The TCP protocol's slow and disconnect behaviour, with a fake transport and clock."""

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.em = LiveEmulator()
        self.proto = tcp.PrinterFactory(self.em, self.clock).buildProtocol(None)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def test_slow_pauses_then_resumes(self) -> None:
        self.em.set_fault("slow", rate=1000)
        self.proto.dataReceived(b"x" * 500)
        self.assertEqual(self.transport.producerState, "paused")
        self.clock.advance(0.49)
        self.assertEqual(self.transport.producerState, "paused")
        self.clock.advance(0.02)
        self.assertEqual(self.transport.producerState, "producing")

    def test_replies_and_disconnect(self) -> None:
        self.em.set_fault("paper_out")
        self.proto.dataReceived(Q[1] + b"\x10")
        self.proto.dataReceived(b"\x04\x02")
        self.assertEqual(self.transport.value(), b"\x1a\x32")
        self.em.set_fault("disconnect_after", nbytes=2)
        self.proto.dataReceived(b"abc")
        self.assertTrue(self.transport.disconnecting or self.transport.disconnected)
        self.assertFalse(self.em.connections[0].open)

    def test_lost_connection_cancels_resume(self) -> None:
        self.em.set_fault("slow", rate=10)
        self.proto.dataReceived(b"x" * 10)
        self.proto.connectionLost(None)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_when_received(self) -> None:
        d = self.em.when_received(b"END")
        self.assertNoResult(d)
        self.proto.dataReceived(b"...E")
        self.assertNoResult(d)
        self.proto.dataReceived(b"ND")
        self.assertIs(self.successResultOf(d), self.em)
        self.assertIs(self.successResultOf(self.em.when_received(lambda r: b"..." in r)), self.em)
        d2 = self.em.when_received(b"never")
        d2.cancel()
        self.failureResultOf(d2, defer.CancelledError)


class TcpEmulatorTests(unittest.TestCase):
    """Real loopback sockets: the emulator on the reactor, the blocking network connection
    in a thread (deferToThread), exactly as the printer service will use it."""

    timeout = 15

    def setUp(self) -> None:
        from twisted.internet import reactor
        self.reactor = reactor
        self.em, self.port = tcp.listen(reactor, 0)
        self.conn = NetworkConnection("127.0.0.1", self.port.getHost().port,
                                      connect_timeout=2, write_timeout=3, status_timeout=0.3)

    @defer.inlineCallbacks
    def tearDown(self):
        yield threads.deferToThread(self.conn.close)
        yield self.em.when(lambda e: not any(c.open for c in e.connections)) \
            .addTimeout(5, self.reactor)
        yield self.port.stopListening()

    def run_in_thread(self, f, *args):
        return threads.deferToThread(f, *args)

    @defer.inlineCallbacks
    def test_write_is_recorded(self):
        job = b"\x1b@Hello\n" + bytes(range(256)) * 40
        yield self.run_in_thread(self.conn.write, job, "job-1")
        yield self.em.when_received(lambda r: len(r) >= len(job)).addTimeout(5, self.reactor)
        self.assertEqual(self.em.received, job)
        self.assertEqual(len(self.em.connections), 1)

    @defer.inlineCallbacks
    def test_status_ready_and_faults(self):
        s = yield self.run_in_thread(self.conn.query_status)
        self.assertEqual(s.text, "Ready")
        self.em.set_fault("paper_out")
        s = yield self.run_in_thread(self.conn.query_status)
        self.assertEqual(s.text, "Out of paper")
        self.em.set_fault("cover_open")
        s = yield self.run_in_thread(self.conn.query_status)
        self.assertEqual(s.text, "Cover is open")
        self.em.set_fault("paper_near_end")
        s = yield self.run_in_thread(self.conn.query_status)
        self.assertEqual((s.text, s.paper_near_end), ("Ready", True))
        self.assertEqual(len(self.em.connections), 1)  # socket kept across calls
        self.assertEqual(self.em.received, b"")
        self.assertEqual(self.em.connections[0].queries, [1, 2, 3, 4] * 4)

    @defer.inlineCallbacks
    def test_silent_is_no_response_within_timeout(self):
        self.em.set_fault("silent")
        start = self.reactor.seconds()
        s = yield self.run_in_thread(self.conn.query_status)
        elapsed = self.reactor.seconds() - start
        self.assertEqual(s.text, "No response from printer")
        self.assertLess(elapsed, 0.3 + 0.8)
        self.em.set_fault("ready")  # the late answer is not mistaken for the next one
        s = yield self.run_in_thread(self.conn.query_status)
        self.assertEqual(s.text, "Ready")

    @defer.inlineCallbacks
    def test_disconnect_after_fails_the_writer_then_reconnects(self):
        self.em.set_fault("disconnect_after", nbytes=1000)
        with self.assertRaises(PrinterIOError) as cm:
            yield self.run_in_thread(self.conn.write, b"x" * (32 * 1024 * 1024), "big")
        self.assertIn("127.0.0.1", str(cm.exception))
        self.assertEqual(len(self.em.connections[0].raw), 1000)
        s = yield self.run_in_thread(self.conn.query_status)
        self.assertEqual(s.text, "Ready")
        self.assertEqual(len(self.em.connections), 2)

    @defer.inlineCallbacks
    def test_printer_hangs_up_between_calls(self):
        s = yield self.run_in_thread(self.conn.query_status)
        self.assertEqual(s.text, "Ready")
        self.em.set_fault("disconnect_after", nbytes=0)
        s = yield self.run_in_thread(self.conn.query_status)  # dropped mid-query
        self.assertEqual(s.text, "Printer not connected")
        yield self.run_in_thread(self.conn.write, b"after", "j2")  # reconnects
        yield self.em.when_received(b"after").addTimeout(5, self.reactor)

    @defer.inlineCallbacks
    def test_slow_rate(self):
        # 6000 bytes at 20000 B/s "print" in 0.3 s: bytes sent after them wait that long
        self.em.set_fault("slow", rate=20_000)
        start = self.reactor.seconds()
        yield self.run_in_thread(self.conn.write, b"s" * 6000, "slow")
        # END must come in a later read than the 6000, or it is taken in the same gulp
        yield self.em.when_received(lambda r: len(r) >= 6000).addTimeout(5, self.reactor)
        yield self.run_in_thread(self.conn.write, b"END", "slow2")
        yield self.em.when_received(b"END").addTimeout(5, self.reactor)
        self.assertGreater(self.reactor.seconds() - start, 0.25)
        self.assertEqual(self.em.received, b"s" * 6000 + b"END")
