"""The device-node connection (``file``) on a bare pty pair, no reactor: timeouts, abort,
status replies, the reopen quirk, and descriptors above select()'s limit."""

from __future__ import annotations

import fcntl
import os
import threading
import time
import tty

from twisted.trial import unittest

from ticketd.printers.connection import PrinterIOError, WriteTimeout
from ticketd.printers.device import DeviceConnection
from tests.rlimits import allow_descriptor


class DeviceTests(unittest.TestCase):
    """A bare pty pair whose master nobody reads: writes block like a stuck printer."""

    def setUp(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self.addCleanup(os.close, self.master)
        self.addCleanup(os.close, slave)

    def test_write_timeout(self) -> None:
        conn = DeviceConnection(self.path, write_timeout=0.2)
        with self.assertRaises(WriteTimeout):
            conn.write(b"y" * (1024 * 1024))
        conn.close()

    def test_abort(self) -> None:
        conn = DeviceConnection(self.path, write_timeout=30)
        errors: list[Exception] = []

        def write() -> None:
            try:
                conn.write(b"y" * (1024 * 1024))
            except PrinterIOError as e:
                errors.append(e)
        t = threading.Thread(target=write)
        t.start()
        # The writer must be blocked inside the operation for the abort to hit it: abort
        # until it gives up (an abort before the operation starts is rightly forgotten).
        deadline = time.monotonic() + 10
        while t.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
            conn.abort()
            t.join(0.1)
        self.assertFalse(t.is_alive())
        self.assertIn("aborted", str(errors[0]))
        conn.close()

    def test_reply_read_and_stray_bytes(self) -> None:
        conn = DeviceConnection(self.path, status_timeout=0.2, reopen="never")
        os.write(self.master, b"old\x12")  # stale bytes are drained before asking

        def printer() -> None:
            for reply in (b"\x1a", b"\x00\x16", b"\x12", b"\x12"):
                os.read(self.master, 3)
                os.write(self.master, reply)
        t = threading.Thread(target=printer)
        t.start()
        s = conn.query_status()
        t.join(5)
        conn.close()
        self.assertEqual(s.text, "Cover is open")

    def test_auto_learns_to_reopen(self) -> None:
        """A printer (like the TM-U220 on usblp) that answers only on a fresh open."""
        reopened = threading.Event()

        class Quirky(DeviceConnection):
            def _reopen(self) -> None:
                super()._reopen()
                reopened.set()

        conn = Quirky(self.path, status_timeout=0.2)

        def printer() -> None:
            for _ in range(4):
                os.read(self.master, 3)
                if not reopened.wait(2):
                    return
                reopened.clear()
                os.write(self.master, b"\x12")
        t = threading.Thread(target=printer)
        t.start()
        s = conn.query_status()
        t.join(5)
        self.assertEqual(s.text, "Ready")
        self.assertTrue(conn._reopen_learned)
        conn.close()
        self.assertIsNone(conn._reopen_learned)

    def test_bad_reopen_mode(self) -> None:
        self.assertRaises(ValueError, DeviceConnection, self.path, reopen="sometimes")

    def answer(self, replies: bytes, count: int = 4) -> threading.Thread:
        """A printer on the master side: one reply byte per DLE EOT query."""
        def printer() -> None:
            for reply in replies[:count]:
                os.read(self.master, 3)
                os.write(self.master, bytes([reply]))
        t = threading.Thread(target=printer)
        t.start()
        self.addCleanup(t.join, 5)
        return t

    def test_a_late_abort_does_not_fail_the_next_operations(self) -> None:
        """abort() after its write had ended (the queue's backstop racing the thread):
        its wake-up byte must not read as an abort of the next status query or write."""
        conn = DeviceConnection(self.path, status_timeout=1, reopen="never")
        self.addCleanup(conn.close)
        conn.write(b"job")
        self.assertEqual(os.read(self.master, 16), b"job")
        conn.abort()
        t = self.answer(b"\x12\x12\x12\x12")
        self.assertEqual(conn.query_status().text, "Ready")  # not "Printer not connected"
        t.join(5)
        conn.abort()
        conn.write(b"next")
        self.assertEqual(os.read(self.master, 16), b"next")

    def test_an_abort_during_an_exchange_survives_the_reopen(self) -> None:
        """The reopen between query and reply used to clear the abort meant for it: the
        query then waited its whole timeout."""
        class AbortedWhileAsking(DeviceConnection):
            def _send(self, data: bytes) -> None:
                super()._send(data)
                self.abort()  # as if from the reactor, while the query is out

        conn = AbortedWhileAsking(self.path, status_timeout=5, reopen="always")
        self.addCleanup(conn.close)
        start = time.monotonic()
        s = conn.query_status()
        self.assertLess(time.monotonic() - start, 2)
        self.assertEqual(s.text, "Printer not connected")
        self.assertIn("aborted", s.detail)

    def test_descriptors_above_select_limit(self) -> None:
        """select() raises ValueError for fds >= 1024; a daemon with many clients gets
        there."""
        allow_descriptor(self, 1500)

        class HighFd(DeviceConnection):
            def open(self) -> None:
                if self._link is None:
                    super().open()
                    low = self._link
                    assert low is not None
                    self._link = fcntl.fcntl(low, fcntl.F_DUPFD_CLOEXEC, 1500)
                    os.close(low)

        conn = HighFd(self.path, status_timeout=1, reopen="never")
        conn.open()
        self.addCleanup(conn.close)
        self.assertGreaterEqual(conn._link, 1024)
        conn.write(b"hi")
        self.assertEqual(os.read(self.master, 16), b"hi")
        self.answer(b"\x12\x12\x12\x12")
        self.assertEqual(conn.query_status().text, "Ready")
