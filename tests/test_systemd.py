"""The systemd notifier: READY, a watchdog fed from a reactor timer, STOPPING."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from ticketd.systemd import SystemdNotifier


class NotifierTests(SynchronousTestCase):
    def setUp(self) -> None:
        # A unix socket path is limited to 107 bytes: trial's temp dir under a deep
        # checkout (CI's) is longer, so the socket lives in a short directory of its own.
        folder = tempfile.mkdtemp(prefix="ticketd-sd-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        path = Path(folder) / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.addCleanup(self.sock.close)
        self.path = str(path)

    def messages(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(100).decode())
            except BlockingIOError:
                return out

    def test_ready_watchdog_stopping(self) -> None:
        clock = Clock()
        n = SystemdNotifier(clock, {"NOTIFY_SOCKET": self.path, "WATCHDOG_USEC": "4000000"})
        n.startService()
        self.assertEqual(self.messages(), ["READY=1", "WATCHDOG=1"])
        clock.advance(2.0)  # half the watchdog period
        clock.advance(2.0)
        self.assertEqual(self.messages(), ["WATCHDOG=1", "WATCHDOG=1"])
        n.stopService()
        clock.advance(10)
        self.assertEqual(self.messages(), ["STOPPING=1"])

    def test_without_systemd_does_nothing(self) -> None:
        clock = Clock()
        n = SystemdNotifier(clock, {})
        n.startService()
        clock.advance(100)
        n.stopService()
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual(self.messages(), [])
