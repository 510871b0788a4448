"""The daemon core end to end, in process: tap.build on the real reactor, real printer
threads, network printers pointed at loopback emulators."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.trial.unittest import TestCase

from ticketd.config import parse
from ticketd.emulator.live import LiveEmulator
from ticketd.emulator.mechanism import PrintSettings
from ticketd.emulator.tcp import listen
from ticketd.jobs.journal import Journal
from ticketd.jobs.api import PrinterEvent
from ticketd.jobs.manager import JobManager
from ticketd.jobs.model import JobKind, JobState
from ticketd.tap import build


def job_bytes(tag: str, size: int = 0) -> bytes:
    return b"\x1b@" + f"JOB<{tag}>\n".encode() + b"x" * size + b"\x1dV\x00"


class DaemonCase(TestCase):
    timeout = 60

    def start(self, printers: dict[str, dict[str, Any]],
              mechanisms: dict[str, PrintSettings] | None = None) -> JobManager:
        """Emulators (one per printer, printing as ``mechanisms`` says: instant by
        default) and the daemon core, torn down after the test."""
        state = Path(self.mktemp()).resolve()
        self.state = state
        self.emulators = {}
        text = f'[server]\nport = 0\n[state]\ndirectory = "{state}"\n'
        ports = []
        for name, opts in printers.items():
            emu, port = listen(reactor, emulator=LiveEmulator((mechanisms or {}).get(name)))
            self.addCleanup(emu.stop)
            ports.append(port)
            self.emulators[name] = emu
            text += (f'[printers.{name}]\nconnection = "network"\nhost = "127.0.0.1"\n'
                     f"port = {port.getHost().port}\n")
            for k, v in opts.items():
                text += f"{k} = {v!r}\n".replace("'", '"')
        self.top = build(parse(text, str(state / "ticketd.toml")), reactor)
        self.top.startService()

        async def cleanup() -> None:
            if self.top.running:
                await self.top.stopService()
            for emu in self.emulators.values():  # the emulator sees its connections end
                await self.until(lambda: not any(c.open for c in emu.connections), 5,
                                 "emulator connections closed")
            for port in ports:
                await port.stopListening()

        self.addCleanup(lambda: defer.ensureDeferred(cleanup()))
        return self.top.getServiceNamed("jobs")

    def submit(self, m: JobManager, printer: str, tag: str, size: int = 0) -> defer.Deferred:
        return m.submit(job_id=tag, printer=printer, source="test", kind=JobKind.RAW,
                        payload=job_bytes(tag, size))

    async def until(self, check: Any, timeout: float, what: str) -> float:
        """Polls ``check()`` on the reactor; returns the seconds it took."""
        t0 = time.monotonic()
        while not check():
            if time.monotonic() - t0 > timeout:
                self.fail(f"{what}: not within {timeout} s")
            await task.deferLater(reactor, 0.01, lambda: None)
        return time.monotonic() - t0


class IsolationTests(DaemonCase):
    async def test_hung_printer_does_not_delay_the_other(self) -> None:
        """Printer A answers nothing (silent); B prints 50 jobs meanwhile, at full speed:
        had B waited for A's status timeouts, 50 jobs would take over 15 s."""
        m = self.start({"a": {"status_timeout": 0.3, "status_interval": 0.5},
                        "b": {"status_timeout": 1.0, "status_interval": 0.5}})
        self.emulators["a"].set_fault("silent")
        await task.deferLater(reactor, 0.1, lambda: None)
        for i in range(10):
            await self.submit(m, "a", f"a{i}")
        t0 = time.monotonic()
        for i in range(50):
            await self.submit(m, "b", f"b{i}")
        emu_b = self.emulators["b"]
        await self.until(lambda: emu_b.received.count(b"JOB<b") == 50, 15, "b's 50 jobs")
        took = time.monotonic() - t0
        self.assertLess(took, 5.0)
        self.assertNotIn(b"JOB<a", self.emulators["a"].received)
        await self.until(lambda: {j.state for j in m.open_jobs() if j.printer == "a"}
                         == {JobState.HELD}, 5, "a's jobs held")
        self.assertEqual(m.queues["a"].status.text, "No response from printer")
        # A comes back: its held jobs print, in order.
        self.emulators["a"].set_fault("ready")
        await self.until(lambda: self.emulators["a"].received.count(b"JOB<a") == 10, 10,
                         "a's jobs after recovery")
        order = [int(x) for x in __import__("re").findall(rb"JOB<a(\d+)>",
                                                         self.emulators["a"].received)]
        self.assertEqual(order, list(range(10)))


class StatusTests(DaemonCase):
    async def test_status_change_seen_within_one_poll(self) -> None:
        interval = 1.0
        m = self.start({"p": {"status_interval": interval, "status_timeout": 1.0}})
        events: list[str] = []
        m.subscribe(lambda e: isinstance(e, PrinterEvent) and events.append(e.new.text))
        q = m.queues["p"]
        await self.until(lambda: q.status.text == "Ready", 3, "first status")
        emu = self.emulators["p"]
        for fault, text in (("paper_out", "Out of paper"), ("cover_open", "Cover is open"),
                            ("offline", "Offline"), ("ready", "Ready")):
            emu.set_fault(fault)
            took = await self.until(lambda: q.status.text == text, interval + 5.0, text)
            self.assertLessEqual(took, interval + 0.5)  # one poll + its loopback round trip
        self.assertEqual(events[-4:], ["Out of paper", "Cover is open", "Offline", "Ready"])


class WriteTests(DaemonCase):
    async def test_write_timeout_fails_job_and_queue_carries_on(self) -> None:
        m = self.start({"p": {"write_timeout": 0.5}})
        emu = self.emulators["p"]
        await self.until(lambda: m.queues["p"].status.ok, 3, "ready")
        emu.set_fault("slow", rate=1000)  # a 1 MB job would take 1000 s
        big = await self.submit(m, "p", "big", size=4_000_000)
        await self.until(lambda: big.job.state.final, 5, "timeout")
        self.assertEqual(big.job.state, JobState.FAILED)
        self.assertRegex(big.job.reason, r"^PRINTER: printer at 127\.0\.0\.1:\d+ did not take "
                                         r"the job within 0\.5 s \(\d+ of 4000014 bytes sent\)$")
        emu.set_fault("ready")
        emu.set_fault("slow", rate=0)
        small = await self.submit(m, "p", "small")
        await self.until(lambda: small.job.state.final, 5, "next job")
        self.assertEqual(small.job.state, JobState.PRINTED)
        self.assertIn(b"JOB<small>", emu.received)

    async def test_connection_dropped_mid_job(self) -> None:
        m = self.start({"p": {"write_timeout": 5.0}})
        emu = self.emulators["p"]
        await self.until(lambda: m.queues["p"].status.ok, 3, "ready")
        emu.set_fault("disconnect_after", nbytes=1000)
        first = await self.submit(m, "p", "first", size=200_000)
        second = await self.submit(m, "p", "second")
        await self.until(lambda: second.job.state.final, 10, "second job")
        self.assertEqual(first.job.state, JobState.FAILED)
        self.assertTrue(first.job.reason.startswith("PRINTER: "), first.job.reason)
        self.assertEqual(second.job.state, JobState.PRINTED)

    async def test_stop_finishes_the_job_being_written(self) -> None:
        """SIGTERM's path: stopService lets the current job finish, leaves the rest queued."""
        m = self.start({"p": {"write_timeout": 30.0}})
        emu = self.emulators["p"]
        await self.until(lambda: m.queues["p"].status.ok, 3, "ready")
        emu.set_fault("slow", rate=200_000)
        first = await self.submit(m, "p", "first", size=200_000)  # ~1 s to write
        for i in range(3):
            await self.submit(m, "p", f"later{i}")
        await self.until(lambda: first.job.state is JobState.PRINTING, 5, "printing")
        await self.top.stopService()
        self.assertEqual(first.job.state, JobState.PRINTED)
        self.assertIn(b"JOB<first>", emu.received)
        self.assertNotIn(b"JOB<later", emu.received)
        journal = Journal(self.state / "journal.sqlite3")
        self.addCleanup(journal.close)
        self.assertEqual(journal.get("first").state, JobState.PRINTED)
        self.assertEqual([j.id for j in journal.unfinished()], ["later0", "later1", "later2"])
