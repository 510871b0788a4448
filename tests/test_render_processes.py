"""Render processes: the same bytes, warnings and errors as rendering in the printer's
thread; a process that fails, hangs or cannot start costs no job (the thread renders it
itself, or, past the deadline, the job fails with a reason)."""

from __future__ import annotations

import io
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from ticketd import jsoncodec
from ticketd.documents import check, render, render_checked
from ticketd.documents.render_worker import (BROKEN, OK, REFUSED, RESULT, render_request,
                                             request, serve)
from ticketd.documents import ImageCache
from ticketd.jobs.model import Job, JobKind
from ticketd.jobs.prepare import preparer
from ticketd.jobs.printer_work import PreparationError
from ticketd.jobs.render_processes import RESPAWN_AFTER, RenderProcesses
from ticketd.sync_client import print_document
from tests.daemon import DaemonProcess
from tests.documents_support import doc, logo_png, text

RECEIPT = doc(text("Café 1,50 €"), text("漢字"), {"type": "cut", "data": {}})
DIALECT = {"version": "1.0", "profile": {"model": "p1"},   # an older form: a warning
           "commands": [{"type": "text", "data": {"content": "plain string"}}]}
BAD = doc({"type": "barcode", "data": {"symbology": "ean13", "data": "12"}})


def payload(document: object) -> bytes:
    return jsoncodec.dumps_compact(document)


def results(data: bytes) -> list[tuple[int, bytes, bytes]]:
    out, at = [], 0
    while at < len(data):
        status, a, b = RESULT.unpack_from(data, at)
        at += RESULT.size
        out.append((status, data[at:at + a], data[at + a:at + a + b]))
        at += a + b
    return out


class WorkerWireTests(SynchronousTestCase):
    """The process's side, without a process."""

    def test_answers_every_request_until_the_input_ends(self) -> None:
        checked = check(RECEIPT)
        requests = request(payload(checked.document), True, False) + \
            request(payload(DIALECT), False, False) + request(payload(BAD), False, False) + \
            request(b"{not json", True, False)
        out = io.BytesIO()
        for cut in (len(requests), len(requests) - 3):  # the end mid-request: no answer
            out = io.BytesIO()
            serve(io.BytesIO(requests[:cut]).read, out.write)
        got = results(out.getvalue())
        self.assertEqual(len(got), 3)
        self.assertEqual(got[0], (OK, render_checked(checked).data,
                                  json.dumps(render_checked(checked).warnings).encode()))
        status, data, warnings = got[1]
        self.assertEqual((status, data), (OK, render(DIALECT).data))
        self.assertEqual(json.loads(warnings), list(render(DIALECT).warnings))
        self.assertTrue(json.loads(warnings))
        status, error, _ = got[2]
        self.assertEqual(status, REFUSED)
        with self.assertRaises(Exception) as e:
            render(BAD)
        self.assertEqual(error.decode(), str(e.exception))

    def test_what_the_thread_would_raise_is_broken(self) -> None:
        status, a, b = results(render_request(b"{not json", 1, ImageCache()))[0]
        self.assertEqual(status, BROKEN)
        self.assertIn(b"Traceback", a)
        self.assertIn(b"JSONDecodeError", a)

    def test_strict_refuses_what_intake_interpreted(self) -> None:
        status, a, _ = results(render_request(payload(DIALECT), 2, ImageCache()))[0]
        self.assertEqual(status, REFUSED)


SAYS_READY = "import sys, time; sys.stdout.buffer.write(b'\\x01'); sys.stdout.flush(); "


def ready(processes: RenderProcesses, timeout: float = 30.0) -> None:
    """Until every idle process has said READY (its renderer imported)."""
    deadline = time.monotonic() + timeout
    while not all(p.check_ready() for p in list(processes._idle)):
        if time.monotonic() > deadline:
            raise AssertionError("no READY")
        time.sleep(0.02)


class RenderProcessesTests(SynchronousTestCase):
    def processes(self, count: int = 1, wait: bool = True, **kw: object) -> RenderProcesses:
        processes = RenderProcesses(count, **kw)  # type: ignore[arg-type]
        processes.start()
        self.addCleanup(processes.stop)
        if wait:
            ready(processes)
        return processes

    def test_not_lent_before_it_is_ready(self) -> None:
        """Its start-up delays no job: until READY the thread renders."""
        processes = self.processes(wait=False, command=(sys.executable, "-c",
                                                        "import time; time.sleep(60)"))
        started = time.monotonic()
        self.assertIsNone(processes.render(payload(RECEIPT), False, False))
        self.assertLess(time.monotonic() - started, 1)
        self.assertEqual(len(processes._idle), 1)       # still there, for later
        liar = self.processes(wait=False, command=(sys.executable, "-c", "print('hello')"))
        liar._idle[0].popen.wait(10)
        with capturedLogs() as events:
            self.assertIsNone(liar.render(payload(RECEIPT), False, False))
        self.assertTrue(any("at start" in str(e.get("why")) for e in events), events)
        self.assertEqual(liar._idle, [])

    def test_the_same_bytes_warnings_and_errors_as_in_the_thread(self) -> None:
        processes = self.processes()
        checked = check(RECEIPT)
        self.assertEqual(processes.render(payload(checked.document), True, False),
                         (render_checked(checked).data, tuple(render_checked(checked).warnings)))
        self.assertEqual(processes.render(payload(DIALECT), False, False),
                         (render(DIALECT).data, tuple(render(DIALECT).warnings)))
        logo = doc({"type": "image", "data": {"code": logo_png(), "pixel_width": 576}})
        self.assertEqual(processes.render(payload(logo), False, False)[0], render(logo).data)
        with self.assertRaises(PreparationError) as e:
            processes.render(payload(BAD), False, False)
        self.assertIn("BARCODE", str(e.exception))
        with capturedLogs() as events:                # the thread tries it itself
            self.assertIsNone(processes.render(b"{not json", True, False))
        self.assertTrue(any("Traceback" in str(e.get("traceback")) for e in events), events)
        self.assertEqual(len(processes._idle), 1)      # that process stays
        with self.assertRaises(PreparationError):   # strict: the warning refuses it
            processes.render(payload(DIALECT), False, True)

    def test_a_process_that_ends_is_replaced_later(self) -> None:
        now = [1000.0]
        processes = self.processes(clock=lambda: now[0])
        first = processes._idle[0]
        first.popen.kill()
        first.popen.wait()
        with capturedLogs() as events:
            self.assertIsNone(processes.render(payload(RECEIPT), False, False))
        self.assertTrue(any("rendering in the printer's thread" in e["log_format"]
                            for e in events), events)
        self.assertIsNone(processes.render(payload(RECEIPT), False, False))  # none yet
        now[0] += RESPAWN_AFTER
        self.assertIsNone(processes.render(payload(RECEIPT), False, False))  # started
        self.assertIsNot(processes._idle[0], first)
        ready(processes)
        self.assertEqual(processes.render(payload(RECEIPT), False, False)[0],
                         render(RECEIPT).data)

    def test_a_hung_process_is_killed_at_the_deadline(self) -> None:
        """The thread then renders the document itself, with the rest of its time."""
        for hangs in ("time.sleep(60)",                       # reads nothing: the write waits
                      "sys.stdin.buffer.read(5); time.sleep(60)"):   # never answers
            processes = self.processes(command=(sys.executable, "-c", SAYS_READY + hangs),
                                       deadline=0.3)
            hung = processes._idle[0]
            started = time.monotonic()
            big = payload(doc(text("x" * 200_000)))              # more than a pipe holds
            with capturedLogs() as events:
                self.assertIsNone(processes.render(big, False, False))
            self.assertLess(time.monotonic() - started, 5)
            self.assertTrue(any("no answer within 0.3 s" in str(e.get("why"))
                                for e in events), events)
            self.assertIsNotNone(hung.popen.poll())

    def test_a_process_that_cannot_start(self) -> None:
        with capturedLogs() as events:
            processes = self.processes(command=("/nonexistent/python",))
        self.assertTrue(any("cannot start a render process" in e["log_format"]
                            for e in events), events)
        self.assertIsNone(processes.render(payload(RECEIPT), False, False))

    def test_a_process_that_answers_nonsense(self) -> None:
        liar = (sys.executable, "-c", SAYS_READY + "sys.stdin.buffer.read(5); "
                "sys.stdout.buffer.write(b'\\x09' + bytes(8)); sys.stdout.flush(); "
                "time.sleep(60)")
        processes = self.processes(command=liar)
        with capturedLogs():
            self.assertIsNone(processes.render(payload(RECEIPT), False, False))

    def test_none_idle_the_thread_renders(self) -> None:
        processes = self.processes()
        taken = processes._take()
        self.addCleanup(taken.close)
        self.assertIsNone(processes.render(payload(RECEIPT), False, False))
        processes._give_back(taken)
        self.assertIsNotNone(processes.render(payload(RECEIPT), False, False))

    def test_stop_ends_them(self) -> None:
        processes = RenderProcesses(2)
        processes.start()
        ready(processes)
        running = list(processes._idle)
        for process in running:
            self.addCleanup(process.close)
        self.assertEqual(len(running), 2)
        taken = processes._take()
        idle = next(p for p in running if p is not taken)
        processes.stop()
        self.assertIsNotNone(idle.popen.poll())
        self.assertIsNone(taken.popen.poll())    # in use: it ends when given back
        processes._give_back(taken)
        self.assertTrue(all(p.popen.poll() is not None for p in running))
        self.assertIsNone(processes.render(payload(RECEIPT), False, False))

    def test_prepare_with_processes(self) -> None:
        processes = self.processes()
        checked = check(DIALECT)
        job = Job(id="j1", printer="p", source="test", kind=JobKind.DOCUMENT,
                  payload=payload(checked.document), created=0.0,
                  warnings=tuple(checked.warnings), checked=True)
        with_processes = preparer(processes=processes)(job)
        self.assertEqual(with_processes, preparer()(job))
        self.assertEqual(with_processes[1], tuple(checked.warnings))


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def ended(pid: int, timeout: float = 10.0) -> bool:
    """Gone, or a zombie nobody has reaped yet (its parent died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


class DaemonTests(SynchronousTestCase):
    """The real daemon: its render process prints, its loss costs no job, and it does not
    outlive the daemon."""

    def setUp(self) -> None:
        self.daemon = DaemonProcess(self.mktemp())
        self.addCleanup(self.daemon.stop)
        self.daemon.start('[server]\nlisten = "127.0.0.1"\nport = $port\nrender_processes = 1\n'
                          '[printers.v]\nconnection = "virtual"\npreview = false\n')

    def render_process(self) -> int:
        deadline = time.monotonic() + 10
        while not (found := children_of(self.daemon.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(found), 1)
        return found[0]

    def test_prints_and_survives_its_render_process(self) -> None:
        worker = self.render_process()
        for n, id in enumerate(("r1", "r2")):
            result = print_document(RECEIPT, printer="v", url=self.daemon.ws_url, id=id,
                                    timeout=30)
            self.assertEqual(result.state, "printed")
            sent = dict(RECEIPT, profile=dict(RECEIPT["profile"], model="v"))
            self.assertEqual((self.daemon.spool("v") / f"{id}.bin").read_bytes(),
                             render(sent).data)
            if n == 0:
                os.kill(worker, signal.SIGKILL)
                self.assertTrue(ended(worker))
        deadline = time.monotonic() + 10
        while "rendering in the printer's thread" not in self.daemon.log():
            self.assertLess(time.monotonic(), deadline, self.daemon.log_tail())
            time.sleep(0.05)

    def test_ends_with_the_daemon_killed(self) -> None:
        worker = self.render_process()
        self.daemon.kill9()
        self.assertTrue(ended(worker))


class StopOrderTests(SynchronousTestCase):
    def test_render_stops_after_every_other_child(self) -> None:
        from twisted.application.service import Service
        from twisted.internet.defer import Deferred

        from ticketd.tap import Daemon

        stopped: list[str] = []
        jobs_done: Deferred[None] = Deferred()

        class Child(Service):
            def stopService(self) -> object:  # noqa: N802
                super().stopService()
                stopped.append(self.name)
                return jobs_done if self.name == "jobs" else None

        top = Daemon()
        for name in ("render", "jobs", "http"):
            child = Child()
            child.setName(name)
            child.setServiceParent(top)
        top.startService()
        done = top.stopService()
        self.assertEqual(stopped, ["http", "jobs"])
        jobs_done.callback(None)
        self.assertEqual(stopped, ["http", "jobs", "render"])
        self.successResultOf(done)


class EscposCacheTests(SynchronousTestCase):
    def test_a_cache_that_does_not_read(self) -> None:
        """An empty cache newer than python-escpos' database (its writer is still at it, or
        was killed): the import waits, then removes it; python-escpos writes it anew."""
        cache = Path(self.mktemp())
        cache.mkdir()
        (cache / f"{platform.python_version()}.capabilities.pickle").write_bytes(b"")
        root = Path(__file__).resolve().parent.parent
        done = subprocess.run(
            [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
             "from ticketd.documents.escpos_import import import_renderer; "
             "import_renderer(); print('ok')", str(root)],
            env=dict(os.environ, ESCPOS_CAPABILITIES_PICKLE_DIR=str(cache)),
            capture_output=True, text=True, timeout=60)
        self.assertEqual(done.stdout.strip(), "ok", done.stderr)
        self.assertGreater((cache / f"{platform.python_version()}.capabilities.pickle")
                           .stat().st_size, 1000)
