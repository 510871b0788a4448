"""The pty-backed emulator end to end: the ``file`` (device node) and ``serial`` connections
write and query status through the slave path while the emulator serves the master on the
reactor; the blocking connection calls run in a thread."""

from __future__ import annotations

import os
import select

from twisted.internet import defer, task, threads
from twisted.internet.testing import MemoryReactor
from twisted.trial import unittest

from ticketd.emulator.live import LiveEmulator
from ticketd.emulator.mechanism import PrintSettings
from ticketd.emulator.pty import PtyPrinter, open_pty
from ticketd.printers.device import DeviceConnection
from ticketd.printers.serial import SerialConnection


class PtyDeviceTests(unittest.TestCase):
    timeout = 15

    def setUp(self) -> None:
        from twisted.internet import reactor
        self.reactor = reactor
        self.pty = open_pty(reactor)
        self.addCleanup(self.pty.stop)
        self.em = self.pty.emulator

    def make(self, **kw):
        conn = DeviceConnection(self.pty.path, write_timeout=3, status_timeout=0.3, **kw)
        self.addCleanup(conn.close)
        return conn

    @defer.inlineCallbacks
    def test_write_and_status(self):
        conn = self.make()
        job = b"\x1b@" + bytes(range(256)) * 20 + b"\x1dV\x00"
        yield threads.deferToThread(conn.write, job, "j")
        yield self.em.when_received(lambda r: len(r) >= len(job)).addTimeout(5, self.reactor)
        self.assertEqual(self.em.received, job)
        s = yield threads.deferToThread(conn.query_status)
        self.assertEqual(s.text, "Ready")
        self.em.set_fault("paper_out")
        s = yield threads.deferToThread(conn.query_status)
        self.assertEqual(s.text, "Out of paper")
        self.assertEqual(self.em.received, job)  # queries answered, not payload

    @defer.inlineCallbacks
    def test_reopen_always(self):
        conn = self.make(reopen="always")
        self.em.set_fault("cover_open")
        s = yield threads.deferToThread(conn.query_status)
        self.assertEqual(s.text, "Cover is open")

    @defer.inlineCallbacks
    def test_silent(self):
        for mode in ("never", "auto"):
            conn = self.make(reopen=mode)
            self.em.set_fault("silent")
            start = self.reactor.seconds()
            s = yield threads.deferToThread(conn.query_status)
            self.assertEqual(s.text, "No response from printer")
            self.assertLess(self.reactor.seconds() - start, 1.5)  # auto: at most 2 x 0.3 s
            self.em.set_fault("ready")
            s = yield threads.deferToThread(conn.query_status)
            self.assertEqual(s.text, "Ready", mode)

    @defer.inlineCallbacks
    def test_slow_pty(self):
        self.em.set_fault("slow", rate=10_000)
        conn = self.make()
        start = self.reactor.seconds()
        yield threads.deferToThread(conn.write, b"z" * 3000, "a")
        yield self.em.when_received(lambda r: len(r) >= 3000).addTimeout(5, self.reactor)
        yield threads.deferToThread(conn.write, b"END", "b")
        yield self.em.when_received(b"END").addTimeout(5, self.reactor)
        self.assertGreater(self.reactor.seconds() - start, 0.25)

    def test_missing_device(self):
        conn = DeviceConnection("/nonexistent/lp9", status_timeout=0.1)
        s = conn.query_status()
        self.assertEqual(s.text, "Printer not connected")
        self.assertIn("/nonexistent/lp9", s.detail)

    @defer.inlineCallbacks
    def test_serial_over_pty(self):
        conn = SerialConnection(self.pty.path, baudrate=115200, write_timeout=3,
                                status_timeout=0.3)
        self.addCleanup(conn.close)
        yield threads.deferToThread(conn.write, b"serial job", "s")
        yield self.em.when_received(b"serial job").addTimeout(5, self.reactor)
        self.em.set_fault("offline")
        s = yield threads.deferToThread(conn.query_status)
        self.assertEqual(s.text, "Offline")
        self.em.set_fault("silent")
        s = yield threads.deferToThread(conn.query_status)
        self.assertEqual(s.text, "No response from printer")


class PtyAdapterTests(unittest.TestCase):
    """The adapter's wiring of the session, on a hand-moved clock: answers that come
    later are written, a full buffer stops the reading, a power cycle opens a new session."""

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.reactor = MemoryReactor()
        self.em = LiveEmulator(PrintSettings(speed=100.0, buffer=64), clock=self.clock)
        self.pty = PtyPrinter(self.reactor, self.clock, self.em).start()
        self.addCleanup(self.pty.stop)
        self.addCleanup(self.em.stop)

    def send(self, data: bytes) -> None:
        os.write(self.pty._slave, data)
        self.pty.doRead()

    def answers(self) -> bytes:
        fd = self.pty._slave
        out = b""
        while select.select([fd], [], [], 0)[0]:
            out += os.read(fd, 4096)
        return out

    def test_later_answers_are_written_and_a_full_buffer_waits(self) -> None:
        self.send(b"\x1b@" + b"line\n" * 20 + b"\x1d(H\x06\x00000001")
        self.assertNotIn(self.pty, self.reactor.getReaders())  # full: not reading
        self.assertEqual(self.answers(), b"")
        for _ in range(40):
            self.clock.advance(0.05)
        self.assertIn(self.pty, self.reactor.getReaders())  # room again
        self.assertEqual(self.answers(), b"\x37\x220001\x00")

    def test_power_cycle_while_full_reads_again(self) -> None:
        self.send(b"line\n" * 20)
        self.assertNotIn(self.pty, self.reactor.getReaders())
        self.em.set_fault("power_off")  # the buffer is gone, and the wait for its room
        self.assertIn(self.pty, self.reactor.getReaders())

    def test_power_cycle_opens_a_new_session(self) -> None:
        first = self.pty.session
        self.em.set_fault("power_off")
        self.assertFalse(first.record.open)
        self.assertTrue(self.pty.session.record.open)
        self.send(b"\x1da\xff")  # ASB on the new session: its first status at once
        self.assertEqual(self.answers(), b"\x10\x00\x00\x00")
        self.em.set_fault("cover_open")
        self.assertEqual(self.answers(), b"\x38\x00\x00\x00")
