"""The virtual printers' spools keep what the journal keeps: files older than the
retention go, periodically and off the reactor; a failure is logged and the next round
runs."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from twisted.internet.defer import maybeDeferred
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from ticketd.printers.connection import PrinterIOError
from ticketd.printers.spool_pruning import SpoolPruner
from ticketd.printers.virtual import VirtualConnection

HOUR = 3600.0


def aged(path: Path, seconds: float, data: bytes = b"x") -> Path:
    path.write_bytes(data)
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


class PruneTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.spool = Path(self.mktemp())
        self.spool.mkdir()
        self.printer = VirtualConnection(self.spool)

    def test_old_job_files_go_the_rest_stays(self) -> None:
        old = [aged(self.spool / "a.bin", 25 * HOUR), aged(self.spool / "a.png", 25 * HOUR),
               aged(self.spool / ".tmp-x.part", 25 * HOUR)]
        kept = [aged(self.spool / "b.bin", HOUR), aged(self.spool / "b.png", HOUR),
                aged(self.spool / "STATUS", 25 * HOUR, b"paper_out"),
                aged(self.spool / "notes.txt", 25 * HOUR)]
        (self.spool / "old.bin.d").mkdir()
        os.mkdir(self.spool / "dir.bin")
        removed = self.printer.prune(time.time() - 24 * HOUR)
        self.assertEqual(removed, 3)
        self.assertEqual([p.exists() for p in old], [False] * 3)
        self.assertEqual([p.exists() for p in kept], [True] * 4)
        self.assertTrue((self.spool / "dir.bin").is_dir())

    def test_a_missing_spool_is_nothing_to_do(self) -> None:
        self.assertEqual(VirtualConnection(self.spool / "none").prune(time.time()), 0)

    def test_a_file_that_cannot_go_is_logged_and_the_others_go(self) -> None:
        aged(self.spool / "a.bin", 2 * HOUR)
        aged(self.spool / "b.bin", 2 * HOUR)
        real = os.unlink
        events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)

        def unlink(path: Any) -> None:
            if str(path).endswith("a.bin"):
                raise PermissionError(13, "Permission denied")
            real(path)
        self.patch(os, "unlink", unlink)
        self.assertEqual(self.printer.prune(time.time() - HOUR), 1)
        self.assertEqual(sorted(p.name for p in self.spool.iterdir()), ["a.bin"])
        said = [e for e in events if e.get("error") == "Permission denied"]
        self.assertEqual(len(said), 1)
        self.assertTrue(said[0]["path"].endswith("a.bin"))

    def test_an_unreadable_spool_is_an_error(self) -> None:
        (self.spool / "file").write_bytes(b"")
        with self.assertRaises(PrinterIOError):
            VirtualConnection(self.spool / "file").prune(time.time())


class FakeSpool:
    """A spool whose prune fails as told."""

    def __init__(self, spool: str, fail: list[Exception]) -> None:
        self.spool = spool
        self.fail = fail
        self.calls: list[float] = []

    def prune(self, before: float) -> int:
        self.calls.append(before)
        if self.fail:
            raise self.fail.pop(0)
        return 2


class PrunerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(100 * HOUR)
        self.threads: list[Any] = []

    def in_thread(self, f: Any, *args: Any) -> Any:
        self.threads.append(f)
        return maybeDeferred(f, *args)

    def test_at_start_then_every_interval_until_stopped(self) -> None:
        spool = FakeSpool("s", [])
        pruner = SpoolPruner([spool], 24 * HOUR, self.clock, self.in_thread)  # type: ignore[list-item]
        pruner.startService()
        self.assertEqual(spool.calls, [76 * HOUR])
        self.assertEqual(self.threads, [spool.prune])  # through run(): off the reactor
        self.clock.advance(HOUR)
        self.assertEqual(spool.calls, [76 * HOUR, 77 * HOUR])
        pruner.stopService()
        self.clock.advance(10 * HOUR)
        self.assertEqual(len(spool.calls), 2)

    def test_a_failed_round_is_logged_and_the_next_runs(self) -> None:
        spool = FakeSpool("s", [PrinterIOError("cannot list spool directory s"),
                                RuntimeError("boom")])
        events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        pruner = SpoolPruner([spool], HOUR, self.clock, self.in_thread)  # type: ignore[list-item]
        pruner.startService()
        self.addCleanup(pruner.stopService)
        self.assertIn("cannot list spool directory s",
                      [e.get("error") for e in events])
        self.clock.advance(HOUR)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.clock.advance(HOUR)
        self.assertEqual(len(spool.calls), 3)
        self.assertIn(2, [e.get("removed") for e in events])

    def test_no_virtual_printer_no_timer(self) -> None:
        pruner = SpoolPruner([], HOUR, self.clock, self.in_thread)
        pruner.startService()
        pruner.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])
