"""The pty-backed emulator end to end: the ``file`` (device node) and ``serial`` connections
write and query status through the slave path while the emulator serves the master on the
reactor; the blocking connection calls run in a thread."""

from __future__ import annotations

from twisted.internet import defer, threads
from twisted.trial import unittest

from ticketd.emulator.pty import open_pty
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
