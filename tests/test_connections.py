"""Printer connections that need no reactor: errors, timeouts, abort, the virtual printer,
the factory, and the adapters whose hardware/library is absent here (usb, cups, win32).
The device-node connection is in test_device.py."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from twisted.trial import unittest

from ticketd.config import PrinterConfig
from ticketd.printers import factory, status, status_exchange
from ticketd.printers.connection import PrinterIOError, WriteTimeout
from ticketd.printers.cups import CupsConnection, parse_lpstat
from ticketd.printers.network import NetworkConnection
from ticketd.printers.usb import UsbConnection
from ticketd.printers.virtual import STATUS_FILE, VirtualConnection, spool_name
from ticketd.printers.win32 import Win32Connection
from tests.rlimits import allow_descriptor

ROOT = Path(__file__).resolve().parent.parent


class ExchangeTests(unittest.TestCase):
    def run_exchange(self, answers: dict[int, bytes]):
        sent: list[bytes] = []

        def send(b: bytes) -> None:
            sent.append(b)

        def recv(t: float) -> bytes:
            return answers.get(sent[-1][2], b"")
        return status_exchange.exchange(send, recv, 0.05), sent

    def test_skips_stray_bytes(self) -> None:
        s, sent = self.run_exchange({1: b"\x00\xff\x12", 2: b"A\x32", 3: b"\x12", 4: b"\x7e"})
        self.assertEqual(s.text, "Out of paper")
        self.assertEqual(sent, [status.query(n) for n in (1, 2, 3, 4)])

    def test_no_reply(self) -> None:
        s, sent = self.run_exchange({1: b"junk"})
        self.assertEqual(s.text, "No response from printer")
        self.assertEqual(len(sent), 1)

    def test_partial_answers(self) -> None:
        s, sent = self.run_exchange({1: b"\x1a"})
        self.assertEqual((s.text, len(sent)), ("Offline", 2))


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NetworkTests(unittest.TestCase):
    def test_refused(self) -> None:
        port = free_port()
        conn = NetworkConnection("127.0.0.1", port, connect_timeout=1)
        with self.assertRaises(PrinterIOError) as cm:
            conn.write(b"x")
        self.assertIn(f"cannot connect to 127.0.0.1:{port}", str(cm.exception))
        s = conn.query_status()
        self.assertEqual(s.text, "Printer not connected")
        self.assertIn("127.0.0.1", s.detail)

    def listener(self) -> socket.socket:
        """Accepts (via the backlog) but never reads: a printer with a full buffer."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        self.addCleanup(srv.close)
        return srv

    def test_write_timeout(self) -> None:
        srv = self.listener()
        conn = NetworkConnection("127.0.0.1", srv.getsockname()[1], write_timeout=0.3)
        self.addCleanup(conn.close)
        start = time.monotonic()
        with self.assertRaises(WriteTimeout) as cm:
            conn.write(b"x" * (64 * 1024 * 1024))
        self.assertLess(time.monotonic() - start, 3)
        self.assertIn("within 0.3 s", str(cm.exception))

    def test_abort_from_another_thread(self) -> None:
        srv = self.listener()
        conn = NetworkConnection("127.0.0.1", srv.getsockname()[1], write_timeout=30)
        self.addCleanup(conn.close)
        errors: list[Exception] = []

        def write() -> None:
            try:
                conn.write(b"x" * (64 * 1024 * 1024))
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
        self.assertEqual(len(errors), 1)
        self.assertNotIsInstance(errors[0], WriteTimeout)

    def test_status_no_response_from_a_mute_peer(self) -> None:
        srv = self.listener()
        conn = NetworkConnection("127.0.0.1", srv.getsockname()[1], status_timeout=0.1)
        self.addCleanup(conn.close)
        self.assertEqual(conn.query_status().text, "No response from printer")

    def test_confirm_never_reconnects(self) -> None:
        """After a job, a link the printer dropped reads "Printer not connected", where
        query_status would reconnect and read the new link's status."""
        srv = self.listener()
        conn = NetworkConnection("127.0.0.1", srv.getsockname()[1], status_timeout=0.1)
        self.addCleanup(conn.close)
        conn.write(b"job")
        peer, _ = srv.accept()
        peer.close()  # the printer hangs up
        time.sleep(0.05)  # a real socket must see the FIN; no clock can stand in
        self.assertEqual(conn.confirm().text, "Printer not connected")
        self.assertEqual(conn.query_status().text, "No response from printer")  # reconnected

    def test_descriptors_above_select_limit(self) -> None:
        """select() raises ValueError for fds >= 1024: the idle-link check then called
        every link closed, and the drain before a status query failed."""
        allow_descriptor(self, 1500)
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        self.addCleanup(srv.close)

        def high(address: tuple[str, int], timeout: float) -> socket.socket:
            low = socket.create_connection(address, timeout)
            try:
                return socket.socket(fileno=fcntl.fcntl(low.fileno(), fcntl.F_DUPFD_CLOEXEC,
                                                        1500))
            finally:
                low.close()

        conn = NetworkConnection("127.0.0.1", srv.getsockname()[1], status_timeout=1,
                                 socket_factory=high)
        self.addCleanup(conn.close)
        conn.write(b"job")
        self.assertGreaterEqual(conn._link.fileno(), 1024)  # type: ignore[union-attr]
        peer, _ = srv.accept()
        self.addCleanup(peer.close)
        self.assertEqual(peer.recv(16), b"job")

        def answer() -> None:  # one reply byte per DLE EOT query
            for _ in range(4):
                peer.recv(3)
                peer.sendall(b"\x12")
        printer = threading.Thread(target=answer)
        printer.start()
        self.assertEqual(conn.confirm().text, "Ready")  # was "Printer not connected"
        printer.join(5)
        self.assertEqual(conn.query_status().text, "No response from printer")  # same link

    def test_bad_host_is_a_clear_error(self) -> None:
        conn = NetworkConnection("a" * 64 + ".example", 9100, connect_timeout=1)
        with self.assertRaises(PrinterIOError) as cm:  # IDNA: a label over 63 chars
            conn.write(b"x")
        self.assertIn("cannot connect to", str(cm.exception))
        self.assertEqual(conn.query_status().text, "Printer not connected")

    def test_from_config(self) -> None:
        c = NetworkConnection.from_config(PrinterConfig("p", "network", host="10.0.0.9"))
        self.assertEqual((c.host, c.port, c.address), ("10.0.0.9", 9100, "10.0.0.9:9100"))


class VirtualTests(unittest.TestCase):
    def setUp(self) -> None:
        self.spool = Path(self.mktemp()) / "spool" / "p"
        self.conn = VirtualConnection(self.spool)

    def test_write_spools_exact_bytes(self) -> None:
        self.conn.write(b"\x1b@abc", "job-1")
        self.conn.write(b"second", "job-2")
        self.assertEqual((self.spool / "job-1.bin").read_bytes(), b"\x1b@abc")
        self.assertEqual(sorted(p.name for p in self.spool.iterdir()),
                         ["job-1.bin", "job-2.bin"])

    def test_unsafe_job_ids_stay_inside(self) -> None:
        for job in ("../../etc/passwd", "a/b", "..", ".hidden", "a\\b", "x\x00y", "", "~",
                    "€uro", "x" * 1000, "%2F"):
            self.conn.write(b"d", job)
            name = spool_name(job)
            self.assertNotIn("/", name)
            self.assertNotIn("\\", name)
            self.assertFalse(name.startswith("."), job)
            self.assertLessEqual(len(name.encode()), 255)
            self.assertEqual(self.conn.path_for(job).parent, self.spool)
        names = {spool_name(j) for j in ("a/b", "a%2Fb", "a_b", "a.b", "x" * 1000, "x" * 1001)}
        self.assertEqual(len(names), 6)  # distinct ids, distinct files
        self.assertEqual(len(list(self.spool.iterdir())), 11)

    def test_two_printers_on_one_spool_keep_their_own_bytes(self) -> None:
        """Each printer's temp file is its own: writes at once never swap the jobs."""
        other = VirtualConnection(self.spool)

        def write_many(conn: VirtualConnection, name: str) -> None:
            for i in range(200):
                conn.write(f"{name}-{i}".encode(), f"{name}-{i}")

        threads = [threading.Thread(target=write_many, args=(c, n))
                   for c, n in ((self.conn, "a"), (other, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name in ("a", "b"):
            for i in range(200):
                self.assertEqual((self.spool / f"{name}-{i}.bin").read_bytes(),
                                 f"{name}-{i}".encode())
        self.assertEqual(len(list(self.spool.iterdir())), 400)

    def test_crash_leaves_no_partial_file(self) -> None:
        def boom(src, dst):
            raise OSError(28, "No space left on device")
        self.patch(os, "replace", boom)
        with self.assertRaises(PrinterIOError):
            self.conn.write(b"data", "j")
        self.assertEqual(list(self.spool.iterdir()), [])

    def test_status_set_and_file_override(self) -> None:
        texts = {"ready": "Ready", "paper_near_end": "Ready", "paper_out": "Out of paper",
                 "cover_open": "Cover is open", "offline": "Offline",
                 "silent": "No response from printer"}
        for name, text in texts.items():
            self.conn.set_status(name)
            self.assertEqual(self.conn.query_status().text, text)
        self.conn.set_status("paper_near_end")
        self.assertTrue(self.conn.query_status().paper_near_end)
        self.conn.set_status("ready")
        (self.spool / STATUS_FILE).write_text("paper_out\n")
        self.assertEqual(self.conn.query_status().text, "Out of paper")
        (self.spool / STATUS_FILE).write_text("nonsense\n")
        self.assertEqual(self.conn.query_status().text, "Ready")
        (self.spool / STATUS_FILE).unlink()
        self.assertEqual(self.conn.query_status().text, "Ready")
        self.assertRaises(ValueError, self.conn.set_status, "on_fire")

    def test_from_config(self) -> None:
        c = VirtualConnection.from_config(
            PrinterConfig("v", "virtual", spool=self.spool, status="cover_open"))
        self.assertEqual(c.query_status().text, "Cover is open")


class FactoryTests(unittest.TestCase):
    def test_each_type(self) -> None:
        cases = {
            "network": (dict(host="h"), "NetworkConnection"),
            "serial": (dict(device="/dev/ttyS0"), "SerialConnection"),
            "usb": (dict(vendor_id=0x4B8, product_id=0x202), "UsbConnection"),
            "file": (dict(device="/dev/usb/lp0"), "DeviceConnection"),
            "cups": (dict(queue="q"), "CupsConnection"),
            "win32": (dict(queue="q"), "Win32Connection"),
            "virtual": (dict(spool=Path(self.mktemp())), "VirtualConnection"),
        }
        for kind, (kw, cls) in cases.items():
            self.assertEqual(type(factory.connect(PrinterConfig("p", kind, **kw))).__name__, cls)
        self.assertRaises(ValueError, factory.connect, PrinterConfig("p", "carrier-pigeon"))
        self.assertRaises(PrinterIOError, factory.connect, PrinterConfig("p", "network"))

    def test_heavy_modules_are_lazy(self) -> None:
        code = ("import sys; from ticketd.config import PrinterConfig; "
                "from ticketd.printers.factory import connect; "
                "connect(PrinterConfig('p', 'network', host='h')); "
                "connect(PrinterConfig('p', 'serial', device='/dev/x')); "
                "connect(PrinterConfig('p', 'usb', vendor_id=1, product_id=2)); "
                "bad = [m for m in ('serial', 'usb', 'escpos', 'twisted.internet.reactor') "
                "if m in sys.modules]; print(bad); sys.exit(bool(bad))")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=20)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class FakeUsbDevice:
    def __init__(self, replies: dict[int, bytes], take: int = 10**9) -> None:
        self.replies = replies
        self.take = take
        self.out = bytearray()
        self.last = 0

    def write(self, ep: int, data: bytes, timeout: int) -> int:
        if data[:2] == b"\x10\x04":
            self.last = data[2]
        n = min(len(data), self.take)
        if n == 0:
            raise type("USBTimeoutError", (Exception,), {})("timeout")
        self.out += data[:n]
        return n

    def read(self, ep: int, size: int, timeout: int) -> bytes:
        if self.last in self.replies:
            return self.replies.pop(self.last)
        raise type("USBTimeoutError", (Exception,), {})("timeout")


class UsbTests(unittest.TestCase):
    def test_fake_device(self) -> None:
        dev = FakeUsbDevice({1: b"\x12", 2: b"\x12", 3: b"\x12", 4: b"\x1e"}, take=7)
        conn = UsbConnection(0x4B8, 0x202, find=lambda **kw: dev)
        conn.write(b"0123456789" * 5, "j")
        self.assertEqual(bytes(dev.out), b"0123456789" * 5)
        s = conn.query_status()
        self.assertEqual((s.text, s.paper_near_end), ("Ready", True))
        self.assertEqual(conn.query_status().text, "No response from printer")

    def test_write_timeout_and_not_found(self) -> None:
        conn = UsbConnection(0x4B8, 0x202, find=lambda **kw: FakeUsbDevice({}, take=0))
        self.assertRaises(WriteTimeout, conn.write, b"x")
        missing = UsbConnection(0x4B8, 0x202, find=lambda **kw: None)
        with self.assertRaises(PrinterIOError) as cm:
            missing.open()
        self.assertIn("04b8:0202 not found", str(cm.exception))

    def test_real_pyusb_without_device(self) -> None:
        s = UsbConnection(0xFFFE, 0xFFFD).query_status()
        self.assertEqual(s.text, "Printer not connected")
        self.assertIn("fffe:fffd", s.detail)


class CupsTests(unittest.TestCase):
    def test_missing_lp(self) -> None:
        conn = CupsConnection("receipts", lp="/nonexistent/lp", lpstat="/nonexistent/lpstat")
        with self.assertRaises(PrinterIOError) as cm:
            conn.write(b"x", "j")
        self.assertIn("not installed", str(cm.exception))
        self.assertEqual(conn.query_status().text, "Printer not connected")

    def test_with_fake_commands(self) -> None:
        calls = []

        def run(argv, input=None, **kw):
            calls.append((argv, input))
            out = b"printer receipts is idle.  enabled since Mon\n"
            return subprocess.CompletedProcess(argv, 0, out, b"")
        conn = CupsConnection("receipts", run=run)
        conn.write(b"\x1b@", "job 1")
        self.assertEqual(calls[0], (["lp", "-d", "receipts", "-o", "raw", "-t", "job 1"], b"\x1b@"))
        self.assertEqual(conn.query_status().text, "Ready")
        self.assertEqual(parse_lpstat("q", 0, "printer q disabled since Mon -\n", "").text,
                         "Offline")
        self.assertEqual(parse_lpstat("q", 1, "", "lpstat: Invalid destination name").text,
                         "Printer not connected")


class Win32Tests(unittest.TestCase):
    def test_not_windows(self) -> None:
        if sys.platform == "win32":
            raise unittest.SkipTest("this is Windows")
        conn = Win32Connection("POS-80")
        with self.assertRaises(PrinterIOError) as cm:
            conn.open()
        self.assertIn("the win32 connection is Windows-only", str(cm.exception))
        self.assertEqual(conn.query_status().text, "Printer not connected")

    def test_fake_module(self) -> None:
        log = []

        class W:
            def __getattr__(self, name):
                def call(*a):
                    log.append(name)
                    return {"Status": 0x10} if name == "GetPrinter" else "h"
                return call
        conn = Win32Connection("POS-80", module=W())
        conn.write(b"x", "j")
        self.assertEqual(log, ["OpenPrinter", "StartDocPrinter", "StartPagePrinter",
                               "WritePrinter", "EndPagePrinter", "EndDocPrinter",
                               "ClosePrinter"])
        self.assertEqual(conn.query_status().text, "Out of paper")


class WithoutStatusTests(unittest.TestCase):
    """``status_query = false``: a printer that never answers DLE EOT still prints."""

    def test_mute_printer_prints_and_reads_ready(self) -> None:
        from ticketd.printers.factory import connect
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        self.addCleanup(srv.close)
        cfg = PrinterConfig("mute", "network", host="127.0.0.1", port=srv.getsockname()[1],
                            status_query=False, status_timeout=0.1)
        conn = connect(cfg)
        self.addCleanup(conn.close)
        self.assertEqual(conn.query_status().text, "Ready")
        conn.write(b"receipt")
        peer, _ = srv.accept()
        self.addCleanup(peer.close)
        self.assertEqual(peer.recv(100), b"receipt")  # no DLE EOT before or after
        self.assertEqual(conn.confirm().text, "Ready")

    def test_unreachable_printer_still_reads_not_connected(self) -> None:
        from ticketd.printers.factory import connect
        cfg = PrinterConfig("gone", "network", host="127.0.0.1", port=free_port(),
                            status_query=False, connect_timeout=1)
        self.assertEqual(connect(cfg).query_status().text, "Printer not connected")
