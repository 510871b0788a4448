"""The emulator's control port and command line, and its slow mode."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import select
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.internet import defer, task, threads
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from ticketd.emulator import cli, tcp
from ticketd.emulator.live import LiveEmulator
from ticketd.printers import status
from ticketd.printers.network import NetworkConnection
from tests.test_emulator import ROOT



class ControlAndCliTests(unittest.TestCase):
    timeout = 15

    def setUp(self) -> None:
        from twisted.internet import reactor
        self.reactor = reactor
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp, ignore_errors=True))

    def http(self, method: str, url: str, body: dict | None = None):
        import urllib.error
        import urllib.request

        def call():
            req = urllib.request.Request(url, method=method,
                                         data=json.dumps(body).encode() if body else None)
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())
        return threads.deferToThread(call)

    @defer.inlineCallbacks
    def test_in_process(self):
        lines: list[str] = []
        args = cli.parse_args(["--port", "0", "--control-port", "0", "--pty",
                               "--record", str(self.tmp / "rec")])
        running = cli.start(self.reactor, args, lines.append)
        self.addCleanup(running.stop)
        self.assertEqual(len(lines), 3)
        self.assertRegex(lines[0], r"^ticketd-emulator: listening on 127\.0\.0\.1:\d+$")
        self.assertRegex(lines[1], r"^ticketd-emulator: pty at /dev/")
        self.assertRegex(lines[2], r"^ticketd-emulator: control on http://127\.0\.0\.1:\d+/$")
        port = int(lines[0].rsplit(":", 1)[1])
        base = lines[2].split(" on ")[1]

        code, body = yield self.http("GET", base + "state")
        self.assertEqual((code, body["fault"]), (200, "ready"))
        code, body = yield self.http("POST", base + "state", {"fault": "paper_out"})
        self.assertEqual((code, body["fault"]), (200, "paper_out"))
        code, body = yield self.http("POST", base + "state", {"fault": "nope"})
        self.assertEqual(code, 400)
        self.assertIn("unknown fault", body["error"])
        code, body = yield self.http("POST", base + "state",
                                     {"fault": "disconnect_after", "bytes": 10**9})
        self.assertEqual(body["disconnect_after"], 10**9)
        code, body = yield self.http("POST", base + "state", {"fault": "slow", "rate": 0})
        self.assertEqual((code, body["slow_rate"]), (200, None))

        conn = NetworkConnection("127.0.0.1", port, status_timeout=0.5)
        s = yield threads.deferToThread(conn.query_status)
        self.assertEqual(s.text, "Out of paper")
        yield threads.deferToThread(conn.write, b"receipt", "r1")
        yield running.emulator.when_received(b"receipt").addTimeout(5, self.reactor)
        code, body = yield self.http("GET", base + "received?raw=1")
        self.assertEqual(base64.b64decode(body["received"]), b"receipt")
        self.assertEqual(body["connections"][1]["payload_bytes"], 7)  # [0] is the pty
        code, body = yield self.http("GET", base + "received")
        self.assertNotIn("received", body)
        yield threads.deferToThread(conn.close)
        yield running.emulator.when(lambda e: not e.connections[1].open).addTimeout(5, self.reactor)
        recorded = (self.tmp / "rec" / "conn-2.bin").read_bytes()
        self.assertEqual(recorded, b"".join(status.query(n) for n in (1, 2, 3, 4)) + b"receipt")

    def test_console_script_prints_real_port(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        p = subprocess.Popen([sys.executable, "-c", "from ticketd.emulator.cli import main; "
                              "raise SystemExit(main())", "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        try:
            ready, _, _ = select.select([p.stdout], [], [], 10)
            line = p.stdout.readline() if ready else "(nothing within 10 s)"
        finally:
            p.kill()
            p.communicate(timeout=5)
        self.assertRegex(line, r"^ticketd-emulator: listening on 127\.0\.0\.1:[1-9]\d*$")

    def test_bad_fault_exits_1(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        r = subprocess.run([sys.executable, "-c", "from ticketd.emulator.cli import main; "
                            "raise SystemExit(main())", "--port", "0", "--fault", "x"],
                           capture_output=True, text=True, env=env, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown fault", r.stderr)


class OptionTests(unittest.TestCase):
    def test_bad_numbers_are_refused_naming_option_and_value(self) -> None:
        for argv, said in ((["--speed", "-5"], "argument --speed: '-5': must be at least 0 mm/s"),
                           (["--buffer", "0"], "argument --buffer: '0': must be at least 1 byte"),
                           (["--paper", "0"], "argument --paper: '0': must be more than 0 mm"),
                           (["--speed", "nan"], "argument --speed: 'nan': must be at least"),
                           (["--paper", "x"], "argument --paper: 'x' is not a number")):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as e:
                cli.parse_args(argv)
            self.assertEqual(e.exception.code, 2, argv)
            self.assertIn(said, err.getvalue(), argv)
        args = cli.parse_args(["--speed", "0", "--buffer", "1", "--paper", "0.5"])
        self.assertEqual((args.speed, args.buffer, args.paper), (0.0, 1, 0.5))


class SlowClearedTests(unittest.TestCase):
    def test_clearing_slow_resumes_at_once(self) -> None:
        clock = task.Clock()
        em = LiveEmulator()
        proto = tcp.PrinterFactory(em, clock).buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        em.set_fault("slow", rate=1)
        proto.dataReceived(b"x" * 1000)
        self.assertEqual(transport.producerState, "paused")
        em.set_fault("slow", rate=0)
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(clock.getDelayedCalls(), [])
        proto.connectionLost(None)
        self.assertEqual(em._state_listeners, [])
