"""A job is printed when the paper came out: the daemon against the emulator printing at a
real speed, with a paper roll that runs out half-way and a printer switched off."""

from __future__ import annotations

import time
from typing import Any

import attrs
from twisted.internet import defer

from ticketd.emulator.mechanism import PrintSettings
from ticketd.jobs.api import PrinterEvent
from ticketd.jobs.manager import JobManager
from ticketd.jobs.model import JobEvent, JobKind, JobState
from ticketd.jobs.service import PrintService
from ticketd.web.health import report

from tests.test_daemon_printers import DaemonCase

LINES = 71  # lines of 1/6 inch: a 30 cm receipt
MID_JOB = "Waiting: Out of paper (the printer stopped inside this job)"
LOST = "PRINTER: the printer lost the job half-way (paper out, then power off)"


def receipt(tag: str, lines: int = LINES) -> bytes:
    return (b"\x1b@" + f"JOB<{tag}>\n".encode()
            + b"".join(b"%s line %03d\n" % (tag.encode(), i) for i in range(lines - 1))
            + b"\x1dV\x00")


class ConfirmCase(DaemonCase):
    timeout = 30

    def begin(self, opts: dict[str, Any], settings: PrintSettings) -> JobManager:
        m = self.start({"p": opts}, {"p": settings})
        self.emu = self.emulators["p"]
        self.events: list[tuple[float, JobEvent]] = []
        self.paper_at_event: list[int] = []

        def seen(e: object) -> None:
            if isinstance(e, JobEvent):
                self.events.append((time.monotonic(), e))
                self.paper_at_event.append(len(self.emu.paper))

        m.subscribe(seen)
        return m

    def endless_roll(self) -> None:
        """The next roll does not run out."""
        mech = self.emu.mechanism
        mech.settings = attrs.evolve(mech.settings, roll=None)

    async def job(self, m: JobManager, tag: str) -> Any:
        return await m.submit(job_id=tag, printer="p", source="test", kind=JobKind.RAW,
                              payload=receipt(tag))

    def of(self, tag: str, **match: Any) -> list[tuple[float, JobEvent]]:
        return [(t, e) for t, e in self.events if e.job.id == tag
                and all(getattr(e, k) == v for k, v in match.items())]


class ConfirmTimingTests(ConfirmCase):
    async def test_sent_at_once_printed_when_the_paper_is_out(self) -> None:
        m = self.begin({}, PrintSettings(speed=100.0))
        await self.until(lambda: m.queues["p"].status.ok, 5, "ready")
        t0 = time.monotonic()
        sub = await self.job(m, "r")
        await self.until(lambda: sub.job.state.final, 15, "printed")
        self.assertEqual(sub.job.state, JobState.PRINTED)
        (sent_at, _), = self.of("r", new=JobState.SENT)
        (printed_at, printed), = self.of("r", new=JobState.PRINTED)
        self.assertIs(printed.old, JobState.SENT)
        self.assertLess(sent_at - t0, 2.0)  # the bytes are at the printer at once
        self.assertGreaterEqual(printed_at - t0, 3.0)  # 300 mm at 100 mm/s
        print(f"\nconfirm: sent {sent_at - t0:.3f} s, printed {printed_at - t0:.3f} s "
              "after submit")
        self.assertEqual(self.emu.paper, receipt("r"))
        raw = bytes(self.emu.connections[-1].raw)
        self.assertIn(receipt("r") + b"\x1dr\x01", raw)  # GS r 1 right behind the job
        journal = await m.committer.read(m.committer.journal.history, sub.job.seq)
        self.assertEqual([s for _, s, _ in journal][-3:], ["printing", "sent", "printed"])


class PaperOutTests(ConfirmCase):
    async def stopped_inside_a_job(self) -> tuple[JobManager, Any]:
        """Job "a", 300 mm, on a roll of 180 mm: the paper runs out at 60 %."""
        m = self.begin({"status_interval": 0.5},
                       PrintSettings(speed=100.0, roll=0.6 * LINES * 25.4 / 6))
        await self.until(lambda: m.queues["p"].status.ok, 5, "ready")
        first = await self.job(m, "a")
        await self.until(lambda: self.of("a", progress=MID_JOB), 10, "held mid-job")
        return m, first

    async def test_paper_out_at_60_percent_holds_then_prints_once(self) -> None:
        m, first = await self.stopped_inside_a_job()
        self.assertEqual(first.job.state, JobState.SENT)
        share = len(self.emu.paper) / len(receipt("a"))
        self.assertTrue(0.5 < share < 0.7, share)
        second = await self.job(m, "b")  # waits behind the stopped printer
        await self.until(lambda: second.job.state is JobState.HELD, 5, "next one held")
        self.endless_roll()
        self.emu.set_fault("ready")  # a new roll: the printer finishes its buffer
        await self.until(lambda: second.job.state.final, 15, "both printed")
        self.assertEqual((first.job.state, second.job.state),
                         (JobState.PRINTED, JobState.PRINTED))
        self.assertEqual(len(self.of("a", new=JobState.PRINTED)), 1)
        self.assertEqual(self.emu.paper, receipt("a") + receipt("b"))  # nothing twice
        self.assertEqual(self.emu.received.count(b"JOB<a>"), 1)
        self.assertEqual(self.emu.mechanism.rolls, 2)

    async def test_power_off_mid_job_fails_it_never_reprinted(self) -> None:
        m, first = await self.stopped_inside_a_job()
        self.endless_roll()
        self.emu.set_fault("power_off")
        await self.until(lambda: first.job.state.final, 10, "lost")
        self.assertEqual(first.job.state, JobState.FAILED)
        self.assertEqual(first.job.reason, LOST)
        second = await self.job(m, "b")  # the printer is back: the queue goes on
        await self.until(lambda: second.job.state.final, 15, "next printed")
        self.assertEqual(second.job.state, JobState.PRINTED)
        self.assertEqual(self.emu.received.count(b"JOB<a>"), 1)
        self.assertTrue(self.emu.paper.endswith(receipt("b")))


class RealtimeTests(ConfirmCase):
    async def test_realtime_printer_as_before_and_health_says_so(self) -> None:
        m = self.begin({"confirm": "realtime"}, PrintSettings(speed=100.0))
        await self.until(lambda: m.queues["p"].status.ok, 5, "ready")
        sub = await self.job(m, "r")
        await self.until(lambda: sub.job.state.final, 15, "printed")
        self.assertEqual(sub.job.state, JobState.PRINTED)
        self.assertEqual(self.of("r", new=JobState.SENT), [])
        (i, _), = [(n, e) for n, (_, e) in enumerate(self.events)
                   if e.job.id == "r" and e.new is JobState.PRINTED]
        self.assertLess(self.paper_at_event[i], len(receipt("r")))  # the bytes, not the paper
        self.assertNotIn(b"\x1dr\x01", bytes(self.emu.connections[-1].raw))
        body = report(PrintService(m, run=defer.maybeDeferred), 1.0)
        detail, = body["printer_detail"]
        self.assertEqual(detail["confirm"], "realtime")
        self.assertIn("no in-order confirmation", detail["confirm_note"])

    async def test_default_network_printer_confirms_in_order(self) -> None:
        m = self.begin({}, PrintSettings())
        await self.until(lambda: m.queues["p"].status.ok, 5, "ready")
        body = report(PrintService(m, run=defer.maybeDeferred), 1.0)
        detail, = body["printer_detail"]
        self.assertEqual(detail["confirm"], "gs_r")
        self.assertNotIn("confirm_note", detail)
        events: list[object] = []
        m.subscribe(lambda e: isinstance(e, PrinterEvent) or events.append(e))
        sub = await self.job(m, "q")
        await self.until(lambda: sub.job.state.final, 10, "printed")
        self.assertEqual(sub.job.state, JobState.PRINTED)
