"""A busy printer renders the next document while the journal records the current job's
``printing``: one trip to the printer's thread per job, each document rendered once, the
bytes the same as a render of its own."""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from ticketd.documents import render
from ticketd.jobs.model import JobKind, JobState
from ticketd.jobs.prepare import preparer
from ticketd.jobs.printer_work import PreparationError
from ticketd.printers.status import READY, PrinterStatus
from tests.fakes import Rig, config, run_now


def doc(text: str) -> dict[str, Any]:
    return {"version": "1.0", "profile": {"model": "p1"},
            "commands": [{"type": "text", "data": {"content": {"text": text}}},
                         {"type": "cut", "data": {}}]}


class RenderAheadTests(TestCase):
    def setUp(self) -> None:
        self.trips: list[str] = []
        self.rendered: list[str] = []

        def run(f: Callable[..., Any], *args: Any) -> Deferred:
            self.trips.append(getattr(f, "__name__", repr(f)))
            return run_now(f, *args)

        self.rig = Rig(config(self.mktemp()), run=run)
        queue = self.rig.queues["p1"]
        prepare = preparer()

        def counting(job: Any) -> Any:
            self.rendered.append(job.id)
            return prepare(job)

        queue._thread_work._prepare = counting
        self.rig.start()
        self.conn = self.rig.connections["p1"]
        self.queue = queue

    def tearDown(self) -> Deferred:
        return self.rig.stop()

    def submit(self, job_id: str, document: Any) -> None:
        self.successResultOf(self.rig.service.submit(
            job_id=job_id, printer="p1", source="test", kind=JobKind.DOCUMENT,
            payload=document))

    def test_a_backlog_takes_one_trip_per_job(self) -> None:
        self.conn.status = PrinterStatus(online=False, paper_out=True)
        self.queue.poll()
        for i in range(3):
            self.submit(f"d{i}", doc(f"receipt {i}"))
        self.trips.clear()
        self.conn.status = READY
        self.queue.poll()
        self.assertEqual([w[0] for w in self.conn.writes], ["d0", "d1", "d2"])
        self.assertEqual(sorted(self.rendered), ["d0", "d1", "d2"])  # once each
        self.assertEqual(self.trips, [
            "query_status",                     # the poll that reads Ready
            "prepare_and_check",                # the first job's own trip
            "make_ahead", "write_job",          # d1 rendered while d0's printing is recorded
            "make_ahead", "write_job",
            "write_job"])
        for i, (_, data) in enumerate(self.conn.writes):
            self.assertEqual(data, render(doc(f"receipt {i}")).data)
        job = self.successResultOf(self.rig.service.job("d2"))
        self.assertEqual(job.state, JobState.PRINTED)

    def test_a_document_that_fails_to_render_ahead_fails_in_its_own_trip(self) -> None:
        prepare = self.queue._thread_work._prepare

        def fails_for_bad(job: Any) -> Any:  # what only rendering finds
            if job.id == "bad":
                raise PreparationError("IMAGE: commands[0].data.code: cannot decode")
            return prepare(job)

        self.queue._thread_work._prepare = fails_for_bad
        self.conn.status = PrinterStatus(online=False, paper_out=True)
        self.queue.poll()
        self.submit("good", doc("fine"))
        self.submit("bad", doc("bad"))
        self.submit("after", doc("after"))
        self.conn.status = READY
        self.queue.poll()
        self.assertEqual([w[0] for w in self.conn.writes], ["good", "after"])
        bad = self.successResultOf(self.rig.service.job("bad"))
        self.assertEqual(bad.state, JobState.FAILED)
        self.assertTrue(bad.reason.startswith("IMAGE: commands[0]"), bad.reason)

    def test_intake_warnings_stay_with_a_job_rendered_ahead(self) -> None:
        self.conn.status = PrinterStatus(online=False, paper_out=True)
        self.queue.poll()
        self.submit("a", doc("first"))
        old = doc("second")
        old["commands"][0]["data"]["content"] = "second"  # a plain string: a warning
        self.submit("b", old)
        self.conn.status = READY
        self.queue.poll()
        b = self.successResultOf(self.rig.service.job("b"))
        self.assertEqual(b.state, JobState.PRINTED)
        self.assertEqual(b.warnings, ("commands[0].data.content: a plain string, read as "
                                      "content.text",))
