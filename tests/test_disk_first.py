"""Disk first, then memory: what the journal could not record is not applied, not told, and
tried again where it must happen; a printer's hold costs one record and one event however
long its queue; recovery's changes reach every listener."""

from __future__ import annotations

import json
import time
from typing import Any

from twisted.trial.unittest import TestCase

from ticketd.jobs.api import NotRecorded, PrinterEvent
from ticketd.jobs.model import JobEvent, JobKind, JobState
from ticketd.mqtt.bridge import PrinterBridge
from ticketd.printers.status import READY, PrinterStatus
from tests.fakes import ManualRunner, Rig, config
from tests.test_mqtt_bridge import FakeLink, job

PAPER_OUT = PrinterStatus(online=False, paper_out=True)
COVER_OPEN = PrinterStatus(online=False, cover_open=True)
STORM = 10_000


def failing(rig: Rig, state: JobState | None = None, times: int = 1,
            error: str = "database or disk is full") -> list[int]:
    """Make the journal refuse the next ``times`` batches holding a change to ``state``
    (any batch when None), as SQLite does on a full disk. Returns the countdown."""
    journal = rig.manager.committer.journal
    real = journal.write
    left = [times]

    def write(changes: Any) -> Any:
        changes = list(changes)
        if left[0] > 0 and (state is None or any(getattr(c, "state", None) is state
                                                 for c in changes)):
            left[0] -= 1
            raise OSError(error)
        return real(changes)

    journal.write = write  # type: ignore[method-assign]
    return left


def submit(rig: Rig, job_id: str, printer: str = "p1") -> Any:
    return rig.manager.submit(job_id=job_id, printer=printer, source="test",
                              kind=JobKind.RAW, payload=b"x\n")


class CancelTests(TestCase):
    def test_a_cancel_that_could_not_be_recorded_says_so_and_changes_nothing(self) -> None:
        rig = Rig(config(self.mktemp()))
        rig.connections["p1"].status = PAPER_OUT
        rig.start()
        submit(rig, "j1")
        failing(rig, JobState.CANCELLED)
        outcome = self.successResultOf(rig.service.cancel("j1"))
        self.assertFalse(outcome.cancelled)
        self.assertTrue(outcome.message.startswith(
            "EXECUTION: the cancel of job j1 could not be recorded on disk (database or disk "
            "is full); the job is not cancelled"), outcome.message)
        self.assertEqual(rig.manager._open["j1"].state, JobState.HELD)  # as it was
        self.assertEqual(rig.manager.committer.journal.get("j1").state, JobState.QUEUED)
        self.assertFalse([e for e in rig.events if isinstance(e, JobEvent)
                          and e.new is JobState.CANCELLED])
        self.flushLoggedErrors(OSError)
        rig.connections["p1"].status = READY
        rig.clock.advance(5)  # a poll reads Ready: the job prints, once
        self.assertEqual([j for j, _ in rig.connections["p1"].writes], ["j1"])
        self.assertEqual(rig.manager.committer.journal.get("j1").state, JobState.PRINTED)
        return rig.stop()

    def test_a_cancel_behind_the_printing_record_finds_the_job_printing(self) -> None:
        later = ManualRunner()
        rig = Rig(config(self.mktemp()), journal_run=later)
        rig.start()
        later.run_all()
        submit(rig, "j1")
        later.run_all(limit=1)  # the insert: the worker asks for "printing" (urgent)
        cancelled = rig.service.cancel("j1")  # behind it, not beside it
        later.run_all()
        outcome = self.successResultOf(cancelled)
        self.assertFalse(outcome.cancelled)
        self.assertEqual(outcome.message, "Job j1 is being printed and cannot be cancelled")
        self.assertEqual(rig.manager.committer.journal.get("j1").state, JobState.PRINTED)
        d = rig.stop()
        later.run_all()
        return d


class MustHappenTests(TestCase):
    def test_printed_is_retried_until_recorded_and_only_then_told(self) -> None:
        rig = Rig(config(self.mktemp()))
        rig.start()
        left = failing(rig, JobState.PRINTED, times=2)
        submit(rig, "j1")
        self.assertEqual([j for j, _ in rig.connections["p1"].writes], ["j1"])  # printed
        job = rig.manager._open["j1"]
        self.assertEqual(job.state, JobState.PRINTING)  # as the journal has it
        self.assertFalse(rig.manager.committer.state.ok)  # /health says the journal is sick
        rig.clock.advance(1.0)
        self.assertEqual(left, [0])
        self.assertEqual(job.state, JobState.PRINTING)
        rig.clock.advance(1.0)
        self.assertEqual(job.state, JobState.PRINTED)
        self.assertEqual(rig.manager.committer.journal.get("j1").state, JobState.PRINTED)
        told = [e.new for e in rig.events if isinstance(e, JobEvent) and e.job.id == "j1"]
        self.assertEqual(told, [JobState.QUEUED, JobState.PRINTING, JobState.PRINTED])
        self.assertTrue(rig.manager.committer.state.ok)
        self.assertEqual(len(rig.connections["p1"].writes), 1)  # never sent twice
        self.flushLoggedErrors(OSError)
        return rig.stop()

    def test_a_job_refused_by_the_journal_is_not_recorded(self) -> None:
        rig = Rig(config(self.mktemp()))
        rig.start()
        failing(rig)
        f = self.failureResultOf(rig.service.submit(
            job_id="j1", printer="p1", source="test", kind=JobKind.RAW, payload=b"x"),
            NotRecorded)
        self.assertEqual(str(f.value), "EXECUTION: the job could not be recorded on disk: "
                                       "database or disk is full")
        self.assertIsNone(rig.manager.committer.journal.get("j1"))
        self.flushLoggedErrors(OSError)
        return rig.stop()


class MqttAckTests(TestCase):
    """A job the journal refused is not PUBACKed: the broker sends it again."""

    def test_not_acked_and_redelivered(self) -> None:
        rig = Rig(config(self.mktemp()))
        rig.start()
        bridge = PrinterBridge(printer="p1", prefix="shop/p1", service=rig.service,
                               clock=rig.clock, max_payload=4096, hold=0)
        bridge.link = FakeLink()
        rig.manager.subscribe(bridge.event)
        acks: list[str] = []
        asked: list[str] = []
        failing(rig)
        bridge.handle(job("m1"), lambda: acks.append("m1"), None, asked.append)
        self.assertEqual((acks, asked), ([], ["a job could not be recorded"]))
        self.assertEqual(bridge.link.published, [])  # no answer: it is not refused either
        bridge.handle(job("m1"), lambda: acks.append("m1"), None, asked.append)  # again
        self.assertEqual(acks, ["m1"])
        self.assertEqual([j for j, _ in rig.connections["p1"].writes], ["m1"])
        self.assertEqual(bridge.link.published[-1][1], {"jobid": "m1", "status": "Printed",
                                                        "finished": True, "success": True})
        self.flushLoggedErrors(OSError)
        return rig.stop()


class HoldStormTests(TestCase):
    """A fault and a resume on a printer with 10,000 queued jobs: one transaction and one
    event each, and little time on the reactor."""

    def test_ten_thousand_queued_jobs(self) -> None:
        printers = ('[printers.p1]\nconnection = "virtual"\nqueue_capacity = 20000\n'
                    'status_interval = 5\nhold_timeout = 600\n')
        worker = ManualRunner()  # the printer's thread: the first job stays in its hands
        rig = Rig(config(self.mktemp(), printers), run=worker)
        committer = rig.manager.committer
        committer._schedule = lambda f: rig.clock.callLater(0, f)  # group commit per turn
        rig.start()
        queue = rig.queues["p1"]
        queue.set_status(READY)
        for i in range(STORM):
            submit(rig, f"j{i}")
        rig.clock.advance(0)
        self.assertEqual(queue.length, STORM)
        for fault, held in ((PAPER_OUT, STORM), (COVER_OPEN, 0), (READY, None)):
            before_tx, before_events = committer.transactions, len(rig.events)
            started = time.process_time()
            queue.set_status(fault)
            spent = time.process_time() - started
            rig.clock.advance(0)
            events = rig.events[before_events:]
            self.assertEqual(committer.transactions - before_tx, 1, fault.text)
            self.assertEqual(len(events), 1, fault.text)
            event = events[0]
            self.assertIsInstance(event, PrinterEvent)
            if held:
                self.assertEqual(len(event.held), STORM)
            elif held is None:
                self.assertEqual(len(event.resumed), STORM)
            self.assertLess(spent, 0.05, f"{fault.text}: {spent * 1000:.1f} ms of CPU")
        holds = committer.journal.holds()
        self.assertEqual(holds, {})
        d = rig.stop()
        worker.run_all(limit=10)
        return d


class RecoveryEventTests(TestCase):
    def test_an_interrupted_mqtt_job_gets_its_final_answer(self) -> None:
        tmp = self.mktemp()
        rig = Rig(config(tmp))
        rig.start()
        submit_mqtt = rig.manager.submit(job_id="m1", printer="p1", source="mqtt",
                                         kind=JobKind.RAW, payload=b"x")
        self.successResultOf(submit_mqtt)
        journal = rig.manager.committer.journal
        # The crash: the journal says printing, the process is gone.
        journal._db.execute("UPDATE jobs SET state='printing' WHERE id='m1'")
        journal.close()

        again = Rig(config(tmp))
        bridge = PrinterBridge(printer="p1", prefix="shop/p1", service=again.service,
                               clock=again.clock, max_payload=4096, hold=0)
        bridge.link = FakeLink()
        again.manager.subscribe(bridge.event)
        again.start()
        again.clock.advance(0)  # told once every service has started
        interrupted = [e for e in again.events if isinstance(e, JobEvent)]
        self.assertEqual([(e.job.id, e.old, e.new) for e in interrupted],
                         [("m1", JobState.PRINTING, JobState.INTERRUPTED)])
        published = [p for t, p, _, _ in bridge.link.published if t == "shop/p1/printed"]
        self.assertEqual(len(published), 1)
        self.assertEqual(published[0]["jobid"], "m1")
        self.assertTrue(published[0]["finished"])
        self.assertFalse(published[0]["success"])
        self.assertIn("INTERRUPTED", json.dumps(published[0]))
        return again.stop()

    def test_a_hold_keeps_its_start_across_a_restart(self) -> None:
        tmp = self.mktemp()
        rig = Rig(config(tmp))
        rig.connections["p1"].status = PAPER_OUT
        rig.start()
        submit(rig, "j1")
        since = rig.manager.committer.journal.holds()["p1"]
        self.successResultOf(rig.stop())

        again = Rig(config(tmp))
        again.clock.advance(30)
        again.connections["p1"].status = PAPER_OUT
        again.start()
        job = again.manager._open["j1"]
        self.assertEqual(job.state, JobState.HELD)
        self.assertEqual(job.held_since, since)  # hold_timeout counts from the first fault
        return again.stop()
