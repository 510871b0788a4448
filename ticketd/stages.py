"""Where a job's time goes: the daemon's own timing of each stage of a job.

Every stage (reading a frame, validating a document, a journal transaction, rendering,
writing to the printer, a trip to a thread and back ...) adds its calls, its wall-clock
time and, where the stage runs in one thread from start to end, that thread's CPU time.
``/metrics`` exposes the totals (``ticketd_stage_*``, see ``ticketd.metrics``), and
``bench/stage_table.py`` turns two scrapes into the table of µs per job that
docs/architecture.rst ("Where a job's time goes") explains.

Plain Python and cheap (two clock reads and a lock per stage): always on. Stages are
recorded from the reactor and from the printer and journal threads at once, hence the lock.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

import attrs

T = TypeVar("T")

#: The stages, in a job's order; docs/architecture.rst says what each one covers.
ORDER = (
    "ws.parse", "mqtt.parse", "submit", "validate", "journal.accept",
    "render", "status", "journal.printing", "write", "confirm", "journal.printed",
    "ws.reply", "mqtt.reply", "journal.transaction",
    "handoff.printer", "handoff.journal",
)


@attrs.frozen
class StageTotal:
    calls: int
    wall: float  # seconds
    cpu: float | None  # seconds; None where the stage waits rather than computes


class Stages:
    """Totals per stage since start; thread-safe."""

    def __init__(self, wall: Callable[[], float] = time.perf_counter,
                 cpu: Callable[[], float] = time.thread_time) -> None:
        self.wall = wall
        self.cpu = cpu
        self._lock = threading.Lock()
        self._totals: dict[str, list[float]] = {}  # name -> [calls, wall, cpu, has_cpu]

    def add(self, name: str, wall: float, cpu: float | None = None, calls: int = 1) -> None:
        with self._lock:
            t = self._totals.get(name)
            if t is None:
                t = self._totals[name] = [0, 0.0, 0.0, 0.0]
            t[0] += calls
            t[1] += wall
            if cpu is not None:
                t[2] += cpu
                t[3] = 1.0

    def run(self, name: str, f: Callable[..., T], *args: object) -> T:
        """``f(*args)``, timed as ``name`` (wall and this thread's CPU)."""
        w, c = self.wall(), self.cpu()
        try:
            return f(*args)
        finally:
            self.add(name, self.wall() - w, self.cpu() - c)

    def timer(self, name: str) -> "Timer":
        """Started now; ``stop()`` adds it (e.g. from a callback on another turn)."""
        return Timer(self, name, self.wall())

    def totals(self) -> dict[str, StageTotal]:
        with self._lock:
            items = list(self._totals.items())
        return {n: StageTotal(int(t[0]), t[1], t[2] if t[3] else None)
                for n, t in sorted(items, key=lambda kv: _rank(kv[0]))}


def _rank(name: str) -> tuple[int, str]:
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


@attrs.define
class Timer:
    stages: Stages
    name: str
    started: float
    stopped: bool = False

    def stop(self, _: T | None = None) -> T | None:
        """Add the wall time since the start (once); passes a callback's result on."""
        if not self.stopped:
            self.stopped = True
            self.stages.add(self.name, self.stages.wall() - self.started)
        return _


class NoStages(Stages):
    """Records nothing: for code built without the daemon's (tests, tools)."""

    def add(self, name: str, wall: float, cpu: float | None = None, calls: int = 1) -> None:
        pass

    def run(self, name: str, f: Callable[..., T], *args: object) -> T:
        return f(*args)

