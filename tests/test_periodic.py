"""Periodic work that cannot die: each timer's step fails once, is logged by name, and
the next run still happens (task.Clock, no real time)."""

from __future__ import annotations

import socket
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Callable

from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock
from twisted.logger import Logger, capturedLogs
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ticketd.config import MqttConfig
from ticketd.jobs.model import JobKind, JobState
from ticketd.mqtt.link import MqttLink
from ticketd.periodic import Periodic
from ticketd.printers.status import PrinterStatus
from ticketd.systemd import SystemdNotifier
from tests.fakes import Rig, config, run_now


class Boom(Exception):
    """The injected failure."""


def failing_once(fn: Callable[..., Any], deferred: bool = False) -> tuple[Callable[..., Any],
                                                                         list[int]]:
    """``fn`` that fails on its first call (a raise, or a failed Deferred), then runs;
    ``calls`` counts every call."""
    calls: list[int] = []

    def step(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            if deferred:
                return fail(Boom("injected"))
            raise Boom("injected")
        return fn(*args)

    return step, calls


def failures(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("periodic_task") == name and "log_failure" in e]


class PeriodicTests(SynchronousTestCase):
    def run_case(self, deferred: bool) -> None:
        clock = Clock()
        ran: list[float] = []
        step, calls = failing_once(lambda: ran.append(clock.seconds()), deferred)
        p = Periodic(clock, 2.0, step, log=Logger(), name="demo")
        with capturedLogs() as events:
            p.start(now=True)
            clock.advance(2.0)
            clock.advance(2.0)
        p.stop()
        self.assertEqual(len(calls), 3)
        self.assertEqual(ran, [2.0, 4.0])
        self.assertEqual(p.failures, 1)
        [event] = failures(list(events), "demo")
        self.assertEqual(event["interval"], 2.0)
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_a_raise_is_logged_and_the_loop_goes_on(self) -> None:
        self.run_case(deferred=False)

    def test_a_failed_deferred_is_logged_and_the_loop_goes_on(self) -> None:
        self.run_case(deferred=True)

    def test_a_pending_deferred_is_waited_for(self) -> None:
        clock = Clock()
        pending: list[Deferred[None]] = []
        p = Periodic(clock, 1.0, lambda: pending.append(Deferred()) or pending[-1],
                     log=Logger(), name="slow")
        p.start(now=True)
        clock.advance(5)
        self.assertEqual(len(pending), 1)  # no second run while the first is unfinished
        pending[0].errback(Boom("late"))
        clock.advance(1)
        self.assertEqual(len(pending), 2)
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)
        p.stop()


class JobCoreTimerTests(TestCase):
    """The job manager's sweep and clean-up, and a printer's status poll."""

    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp()))
        self.rig.start()
        self.m = self.rig.manager

    def tearDown(self) -> Deferred:
        return self.rig.stop()

    def test_sweep_survives_a_failing_change(self) -> None:
        self.rig.connections["p1"].status = PrinterStatus(paper_out=True)
        self.rig.clock.advance(5)  # a status poll: the queue holds
        now = self.rig.clock.seconds()
        self.m.submit(job_id="x", printer="p1", source="test", kind=JobKind.RAW,
                      payload=b"x\n", expires=now + 1.5)
        [job] = [j for j in self.m.open_jobs() if j.id == "x"]
        real = self.m.change
        self.m.change, calls = failing_once(real)  # type: ignore[method-assign]
        with capturedLogs() as events:
            self.rig.clock.advance(1.0)  # not due yet
            self.rig.clock.advance(1.0)  # due: the change raises
            self.assertIs(job.state, JobState.HELD)
            self.rig.clock.advance(1.0)  # the next sweep expires it
        self.assertIs(job.state, JobState.EXPIRED)
        self.assertEqual(len(failures(list(events), "sweep")), 1)
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)

    def test_cleanup_survives_a_journal_error(self) -> None:
        journal = self.m.committer.journal
        real = journal.cleanup
        calls: list[int] = []

        def cleanup(before: float, keep: int) -> int:
            calls.append(1)
            if len(calls) == 1:
                raise sqlite3.OperationalError("disk I/O error")
            return real(before, keep)

        journal.cleanup = cleanup  # type: ignore[method-assign]
        with capturedLogs() as events:
            self.rig.clock.advance(3600)
            self.rig.clock.advance(3600)
        self.assertEqual(len(calls), 2)
        self.assertEqual(len(failures(list(events), "cleanup")), 1)
        self.assertEqual(len(self.flushLoggedErrors(sqlite3.OperationalError)), 1)

    def test_status_poll_survives_a_raise(self) -> None:
        queue = self.rig.queues["p1"]
        conn = self.rig.connections["p1"]
        poller = queue._poller
        poller.fn, calls = failing_once(poller.fn)
        before = conn.queries
        with capturedLogs() as events:
            self.rig.clock.advance(5)  # status_interval = 5: fails
            self.rig.clock.advance(5)
        self.assertEqual(len(calls), 2)
        self.assertEqual(conn.queries, before + 1)
        self.assertEqual(len(failures(list(events), "status poll p1")), 1)
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)


class WatchdogTests(SynchronousTestCase):
    def test_watchdog_survives_a_failing_notify(self) -> None:
        folder = tempfile.mkdtemp(prefix="ticketd-pt-")
        path = str(Path(folder) / "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        self.addCleanup(sock.close)
        clock = Clock()
        n = SystemdNotifier(clock, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
        sent: list[str] = []
        real = n.notify

        def notify(message: str) -> None:
            sent.append(message)
            if message == "WATCHDOG=1" and sent.count(message) == 1:
                raise Boom("injected")
            real(message)

        n.notify = notify  # type: ignore[method-assign]
        with capturedLogs() as events:
            n.startService()  # READY, then the first ping, which fails
            clock.advance(1.0)
            clock.advance(1.0)
        n.stopService()
        self.assertEqual(sent.count("WATCHDOG=1"), 3)
        self.assertEqual(len(failures(list(events), "systemd watchdog")), 1)
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)


class MqttTimerTests(SynchronousTestCase):
    def link(self, clock: Clock, run: Callable[..., Deferred] = run_now) -> MqttLink:
        return MqttLink(config=MqttConfig(hostname="127.0.0.1", port=1, tls=False), client_id="t1",
                        will_topic="t/status", will_payload=b"Offline", handler=None,  # type: ignore[arg-type]
                        reactor=clock, run=run, random=lambda: 0.5)

    def test_keepalive_survives_a_raise(self) -> None:
        clock = Clock()
        link = self.link(clock)
        link.state = "connected"
        calls: list[int] = []

        def loop_misc() -> int:
            calls.append(1)
            if len(calls) == 1:
                raise Boom("injected")
            return 0

        link.client.loop_misc = loop_misc  # type: ignore[method-assign]
        with capturedLogs() as events:
            link._misc.start(now=False)
            clock.advance(1.0)
            clock.advance(1.0)
        link._misc.stop()
        self.assertEqual(len(calls), 2)
        self.assertEqual(len(failures(list(events), "mqtt keepalive t1")), 1)
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)

    def test_reconnect_survives_an_attempt_that_raises(self) -> None:
        clock = Clock()
        attempts: list[int] = []

        def run(f: Callable[..., Any], *args: Any) -> Deferred:
            attempts.append(1)
            if len(attempts) == 2:
                raise Boom("injected")  # the retry timer's attempt raises
            return fail(ConnectionRefusedError("refused"))

        link = self.link(clock, run)
        with capturedLogs() as events:
            link.start()  # refused: a retry is scheduled
            for _ in range(20):
                clock.advance(60)
        self.assertGreaterEqual(len(attempts), 3)
        self.assertEqual(link.state, "waiting")
        self.assertEqual(len(failures(list(events), "mqtt reconnect t1")), 1)
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)
        link.stop()
