"""What a user notices of a real daemon: the start-up line with the dashboard's and the
WebSocket's URLs, ``/health`` naming the device a printer could not open, and a virtual
printer's spool losing the files older than the journal's retention."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from typing import Any, Callable

from twisted.trial.unittest import SynchronousTestCase

from ticketd.web.hosts import local_urls
from tests.daemon import DaemonProcess

CONFIG = """
[state]
directory = "$state"
retention_hours = 1
[printers.v]
connection = "virtual"
default = true
[printers.till]
connection = "serial"
device = "$dir/ttyUSB7"
"""


def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:g} s: {what}")


class UrlTests(SynchronousTestCase):
    def test_listen_address_or_loopback(self) -> None:
        self.assertEqual(local_urls("127.0.0.1", 8766),
                         ("http://127.0.0.1:8766/", "ws://127.0.0.1:8766/ws"))
        self.assertEqual(local_urls("0.0.0.0", 81), ("http://127.0.0.1:81/",
                                                     "ws://127.0.0.1:81/ws"))
        self.assertEqual(local_urls("::", 81), ("http://[::1]:81/", "ws://[::1]:81/ws"))
        self.assertEqual(local_urls("fe80::1", 81)[0], "http://[fe80::1]:81/")
        self.assertEqual(local_urls("till.lan", 81)[1], "ws://till.lan:81/ws")


class DaemonTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.daemon = DaemonProcess(self.mktemp())
        self.addCleanup(self.daemon.stop)
        spool = self.daemon.spool("v")
        spool.mkdir(parents=True)
        then = time.time() - 2 * 3600
        for name in ("old.bin", "old.png"):
            (spool / name).write_bytes(b"x")
            os.utime(spool / name, (then, then))
        (spool / "new.bin").write_bytes(b"x")
        self.daemon.start(CONFIG)

    def test_what_a_user_notices(self) -> None:
        port = self.daemon.port
        line = (f"dashboard at http://127.0.0.1:{port}/, WebSocket at "
                f"ws://127.0.0.1:{port}/ws")
        until(lambda: line in self.daemon.log(), "the start-up line in the log")

        def till() -> Any:
            with urllib.request.urlopen(self.daemon.base_url + "/health", timeout=5) as r:
                body = json.load(r)
            found = {p["name"]: p for p in body["printer_detail"]}["till"]
            return found if found["detail"] and "ttyUSB7" in found["detail"] else None
        found = until(till, "the serial printer's device in /health")
        self.assertEqual(found["status"], "Printer not connected")
        self.assertEqual(found["detail"], f"cannot open serial printer "
                                          f"{self.daemon.dir}/ttyUSB7: No such file or "
                                          f"directory")

        spool = self.daemon.spool("v")
        until(lambda: not (spool / "old.bin").exists() and not (spool / "old.png").exists(),
              "the old spool files removed")
        self.assertTrue((spool / "new.bin").exists())
