"""The daemon's own timing of a job's stages (ticketd.stages) and its /metrics series."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from ticketd.metrics import Metrics
from ticketd.stages import NoStages, Stages


class FakeClocks:
    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0


class StagesTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clocks = c = FakeClocks()
        self.stages = Stages(wall=lambda: c.wall, cpu=lambda: c.cpu)

    def work(self, wall: float, cpu: float) -> str:
        self.clocks.wall += wall
        self.clocks.cpu += cpu
        return "done"

    def test_run_adds_wall_and_cpu(self) -> None:
        self.assertEqual(self.stages.run("render", self.work, 0.002, 0.0015), "done")
        self.stages.run("render", self.work, 0.001, 0.001)
        t = self.stages.totals()["render"]
        self.assertEqual(t.calls, 2)
        self.assertAlmostEqual(t.wall, 0.003)
        self.assertAlmostEqual(t.cpu, 0.0025)

    def test_a_stage_that_raises_is_counted(self) -> None:
        def broken() -> None:
            self.clocks.wall += 0.5
            raise ValueError("bad")
        self.assertRaises(ValueError, self.stages.run, "ws.parse", broken)
        self.assertEqual(self.stages.totals()["ws.parse"].calls, 1)

    def test_timer_waits_have_no_cpu_and_count_once(self) -> None:
        timer = self.stages.timer("journal.accept")
        self.clocks.wall += 0.25
        self.assertEqual(timer.stop("result"), "result")  # a callback passes it on
        timer.stop()
        t = self.stages.totals()["journal.accept"]
        self.assertEqual((t.calls, t.wall, t.cpu), (1, 0.25, None))

    def test_totals_in_a_jobs_order(self) -> None:
        for name in ("handoff.printer", "write", "ws.parse", "zz.unknown"):
            self.stages.add(name, 0.0)
        self.assertEqual(list(self.stages.totals()),
                         ["ws.parse", "write", "handoff.printer", "zz.unknown"])

    def test_no_stages_records_nothing(self) -> None:
        none = NoStages()
        self.assertEqual(none.run("render", lambda: 3), 3)
        none.add("write", 1.0)
        self.assertEqual(none.totals(), {})

    def test_metrics_expose_the_totals(self) -> None:
        self.stages.run("write", self.work, 0.004, 0.001)
        self.stages.timer("journal.printed").stop()
        metrics = Metrics(lambda: [], process=False)
        metrics.watch_stages(self.stages.totals)
        text = metrics.render()[0].decode()
        self.assertIn('ticketd_stage_calls_total{stage="write"} 1.0', text)
        self.assertIn('ticketd_stage_seconds_total{clock="wall",stage="write"} 0.004', text)
        self.assertIn('ticketd_stage_seconds_total{clock="cpu",stage="write"} 0.001', text)
        self.assertNotIn('clock="cpu",stage="journal.printed"', text)
