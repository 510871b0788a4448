"""Hypothesis against the sans-IO handler (10,000 examples in all): whatever arrives, the
handler never raises, answers each frame exactly once with a well-formed message, and
never leaves a job half-accepted (an ``ack`` means the print service has it, an ``error`` means
it does not, and only accepted jobs are waited for)."""

from __future__ import annotations

import base64
import json
import random
from types import SimpleNamespace
from typing import Any, Callable

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from ticketd.config import parse
from ticketd.jobs.service import CancelResult, QueueFull, Submission, UnknownPrinter
from ticketd.jobs.model import Job, JobEvent, JobKind, JobState
from ticketd.web import replies
from ticketd.web.messages import Hub
from ticketd.stages import NoStages
from tests.ws_fuzz import fuzz_frames

CONFIG = parse('[printers.a]\nconnection = "virtual"\nqueue_capacity = 4\ndefault = true\n'
               'aliases = ["58mm PT-210"]\n[printers.b]\nconnection = "virtual"\n')


class FakeQueue:
    def __init__(self, config: Any) -> None:
        self.config = config
        self.jobs: list[Job] = []

    @property
    def length(self) -> int:
        return sum(1 for j in self.jobs if j.state.waiting)

    def position(self, job: Job) -> int | None:
        waiting = [j for j in self.jobs if j.state.waiting]
        return waiting.index(job) + 1 if job in waiting else None


class FakeService:
    """The print service, synchronous and in memory: fast enough for thousands of examples."""

    def __init__(self) -> None:
        self.config = CONFIG
        self.queues = {p.name: FakeQueue(p) for p in CONFIG.printers}
        self.jobs: dict[str, Job] = {}
        self.listeners: list[Callable[[Any], None]] = []
        self.stages = NoStages()

    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in CONFIG.printers)

    def printer_named(self, name: str) -> str | None:
        wanted = name.strip().lower()
        return next((p.name for p in CONFIG.printers if wanted in p.names()), None)

    def route(self, model: str | None) -> str:
        wanted = (model or "").strip().lower()
        for p in CONFIG.printers:
            if wanted in p.names():
                return p.name
        if model is None or wanted not in ("zz",):
            return CONFIG.printers[0].name
        raise UnknownPrinter("PRINTER: unknown printer 'zz'; configured printers: a, b")

    def printer(self, name: str) -> Any:
        queue = self.queues.get(name)
        if queue is None:
            return None
        return SimpleNamespace(name=name, queue=queue.length,
                               capacity=queue.config.queue_capacity,
                               status=SimpleNamespace(text="Ready"))

    def printers(self) -> tuple[Any, ...]:
        return tuple(self.printer(name) for name in self.queues)

    def position(self, job: Job) -> int | None:
        queue = self.queues.get(job.printer)
        return queue.position(job) if queue is not None and job.state.waiting else None

    def submit(self, *, job_id: str, printer: str, source: str, kind: JobKind, payload: Any,
               expires: float | None = None) -> Deferred[Submission]:
        queue = self.queues[printer]
        known = self.jobs.get(job_id)
        if known is not None:
            q = self.queues[known.printer]
            return succeed(Submission(known, True, q.length, 4, q.position(known)))
        if queue.length >= queue.config.queue_capacity:
            return fail(QueueFull(printer, queue.length, queue.config.queue_capacity))
        job = Job(id=job_id, printer=printer, source=source, kind=kind, payload=payload,
                  created=0.0)
        self.jobs[job_id] = job
        queue.jobs.append(job)
        return succeed(Submission(job, False, queue.length, queue.config.queue_capacity,
                                  queue.position(job)))

    def cancel(self, job_id: str) -> Deferred[CancelResult]:
        job = self.jobs.get(job_id)
        if job is None:
            return succeed(CancelResult(None, False, f"Unknown job id: {job_id}"))
        if job.state.final:
            return succeed(CancelResult(job, False, "too late"))
        self.finish(job, JobState.CANCELLED, "CANCELLED: by request")
        return succeed(CancelResult(job, True, "Job cancelled"))

    def job(self, job_id: str) -> Deferred[Job | None]:
        return succeed(self.jobs.get(job_id))

    def subscribe(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def discover(self) -> Deferred[Any]:
        return succeed(([], {"status": "error", "detected_count": 0, "thermal_count": 0,
                             "default_name": ""}))

    def finish(self, job: Job, state: JobState, reason: str | None = None) -> None:
        old = job.transition(state, 1.0, reason)
        for listener in list(self.listeners):
            listener(JobEvent(job, old, state))


TIPOS = ["ticket", "raw", "status", "ping", "get_printers", "job_status", "cancel"]
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=4)
ids = st.one_of(st.sampled_from(["j1", "j2", "j3", "x" * 128, "x" * 129, "", " ", "a\tb"]),
                st.text(max_size=10), st.integers(), values)
documents = st.fixed_dictionaries(
    {"version": st.just("1.0"),
     "profile": st.fixed_dictionaries({"model": st.sampled_from(["a", "B", "58mm PT-210", "zz",
                                                                  "other"]) | values})},
    optional={"commands": values})
raw_datos = st.fixed_dictionaries(
    {"data": st.sampled_from(["aGk=", "", "!!", "aGk", "AAAA"]) | st.binary(max_size=8).map(
        lambda b: base64.b64encode(b).decode()) | values},
    optional={"printer": st.sampled_from(["a", "b", "A", "nope"]) | values})
envelopes = st.fixed_dictionaries(
    {"tipo": st.sampled_from(TIPOS) | st.text(max_size=8) | values},
    optional={"id": ids, "datos": st.one_of(documents, raw_datos, values),
              "auth_token": st.sampled_from(["tok", "bad"]) | values})
frames = st.one_of(
    envelopes.map(json.dumps),
    envelopes.map(lambda e: json.dumps(e)[:-1]),
    st.text(max_size=30),
    values.map(json.dumps),
    st.binary(max_size=30),
    st.sampled_from(['{"tipo":"ping","x":NaN}', '{"tipo":"raw","id":"s","datos":"\\ud800"}',
                     "[" * 3000, '{"tipo":"ticket","datos":{"profile":{"model":"zz"}}}']),
)


class Harness:
    def __init__(self, token: str | None) -> None:
        self.manager = FakeService()
        self.hub = Hub(self.manager, clock=Clock(), auth_token=token, rate_limit=0.0)
        self.hub.start()
        self.out: list[dict[str, Any]] = []
        self.session = self.hub.open(self.out.append, "prop")
        self.out.clear()

    def check_frame(self, test: SynchronousTestCase, frame: str | bytes, binary: bool) -> None:
        before_jobs = set(self.manager.jobs)
        start = len(self.out)
        self.session.received(frame.encode("utf-8", "surrogatepass")
                              if isinstance(frame, str) else frame, binary)
        new = self.out[start:]
        test.assertTrue(new, "no reply")
        first = new[0]
        for message in new:
            json.loads(replies.encode(message))  # always encodable
            test.assertIn("tipo", message)
            test.assertIn("status", message)
        if first["tipo"] == "ack":
            test.assertIn(first["id"], self.manager.jobs)
            extra = [m["tipo"] for m in new[1:]]
            test.assertIn(extra, ([], ["result"]))
        else:
            test.assertEqual(len(new), 1, new)
        if first["tipo"] == "error":
            test.assertEqual(set(self.manager.jobs), before_jobs)
        test.assertLessEqual(set(self.hub.waiting), set(self.manager.jobs))
        for job_id, sessions in self.hub.waiting.items():
            test.assertFalse(self.manager.jobs[job_id].state.final)
            test.assertTrue(sessions)


FAST = dict(deadline=None, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class PropertyTests(SynchronousTestCase):
    """10,000 examples: 1,500 + 250 + 750 structured by Hypothesis, 7,500 from the seeded
    generator (Hypothesis draws only the seed, which keeps the whole run to seconds)."""

    @settings(max_examples=1500, **FAST)
    @given(frame=frames, binary=st.booleans())
    def test_any_frame(self, frame: str | bytes, binary: bool) -> None:
        Harness(None).check_frame(self, frame, binary)

    @settings(max_examples=250, **FAST)
    @given(frame=frames)
    def test_any_frame_with_token(self, frame: str | bytes) -> None:
        h = Harness("tok")
        h.check_frame(self, frame, False)
        if h.out[0]["tipo"] == "ack":
            self.assertIn('"auth_token": "tok"', frame)

    @settings(max_examples=7500, **FAST)
    @given(seed=st.integers(0, 2 ** 32 - 1))
    def test_seeded_frames(self, seed: int) -> None:
        frame = fuzz_frames(random.Random(seed), 1)[0]
        Harness("tok" if seed % 5 == 0 else None).check_frame(self, frame, False)

    @settings(max_examples=750, **FAST)
    @example(steps=[("frame", '{"tipo": "raw", "id": "j1", "datos": {"data": "aGk="}}'),
                    ("finish", "j1"), ("frame", '{"tipo": "job_status", "datos": {"id": "j1"}}'),
                    ("frame", '{"tipo": "raw", "id": "j2", "datos": {"data": "aGk="}}'),
                    ("reconnect", ""), ("finish", "j2")])
    @given(steps=st.lists(st.one_of(frames.map(lambda f: ("frame", f)),
                                    st.sampled_from(["j1", "j2", "j3"]).map(
                                        lambda i: ("finish", i)),
                                    st.just(("reconnect", ""))), max_size=8))
    def test_sequences_route_results(self, steps: list[tuple[str, Any]]) -> None:
        """Jobs end at random moments; each waiting connection gets each result once."""
        h = Harness(None)
        for kind, arg in steps:
            if kind == "frame":
                h.check_frame(self, arg, False)
            elif kind == "reconnect":
                h.session.close()
                h.session = h.hub.open(h.out.append, "again")
            else:
                job = h.manager.jobs.get(arg)
                if job is not None and not job.state.final:
                    waiting = h.session in h.hub.waiting.get(arg, set())
                    start = len(h.out)
                    h.manager.finish(job, JobState.PRINTING)  # as a printer would
                    h.manager.finish(job, JobState.PRINTED)
                    got = [m for m in h.out[start:] if m["tipo"] == "result"]
                    self.assertEqual(len(got), 1 if waiting else 0)
        self.assertEqual(h.hub.waiting.keys() - h.manager.jobs.keys(), set())
