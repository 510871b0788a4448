"""Prometheus metrics for one daemon, without Twisted: a recorder fed by the print service's
events and a collector that reads the live state (printer snapshots, connections) at
scrape time.

All metrics live in the daemon's own :class:`CollectorRegistry`, never prometheus_client's
global one, so two daemons (or tests) in one process never mix. The collector reads state
that the reactor owns, so the exposition must be rendered on the reactor (it is cheap; see
``ticketd.web.metrics``).

Exposed (all with a ``printer`` label unless noted)::

    ticketd_jobs_total{printer,state}        jobs that ended, by final state
    ticketd_jobs_accepted_total{printer,source}  jobs accepted (ws, mqtt, ...)
    ticketd_print_duration_seconds            histogram, started -> finished, printed jobs
    ticketd_print_bytes                       histogram, bytes sent, printed jobs
    ticketd_queue_length / _held / _capacity  jobs in the queue (the one being handled
                                              too), of which held; the capacity
    ticketd_printer_ready                     1 if the last status read was Ready, else 0
    ticketd_printer_status{printer,status}    1 for the current condition, 0 for the others
    ticketd_websocket_connections             open WebSocket sessions (no label)
    ticketd_mqtt_connected                    1 while the printer's MQTT link is connected
    ticketd_mqtt_reconnects_total             successful connections after the first
    ticketd_journal_ok                        1 while the journal's writes work (no label)
    ticketd_stage_calls_total{stage}          where a job's time goes (``ticketd.stages``):
    ticketd_stage_seconds_total{stage,clock}  calls, and wall and CPU seconds, per stage
    process_*                                 the process (CPU, memory, fds), on Linux
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from ticketd.jobs.model import FINAL, JobEvent, JobState
from ticketd.printers.status import Condition

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
BYTES_BUCKETS = (256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
STATUS_LABELS = {c: c.name.lower() for c in Condition}  # "ready", "paper_out", ...


class PrinterView(Protocol):
    """What the collector reads of a printer (:class:`ticketd.jobs.api.PrinterSnapshot`)."""

    name: str
    queue: int
    held: int
    capacity: int
    status: Any  # PrinterStatus


Printers = Callable[[], Iterable[PrinterView]]


class StateCollector:
    """Gauges read at scrape time: nothing to keep in step, never stale."""

    def __init__(self, printers: Printers) -> None:
        self.printers = printers
        self.connections: Callable[[], int] | None = None
        self.mqtt: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None
        self.journal: Callable[[], Any] | None = None
        self.stages: Callable[[], Mapping[str, Any]] | None = None

    def collect(self) -> Iterator[Metric]:
        length = GaugeMetricFamily("ticketd_queue_length", "Jobs in the queue: waiting, "
                                   "held or being printed.", labels=["printer"])
        held = GaugeMetricFamily("ticketd_queue_held", "Waiting jobs held by a printer "
                                 "fault.", labels=["printer"])
        capacity = GaugeMetricFamily("ticketd_queue_capacity", "The queue's capacity.",
                                     labels=["printer"])
        ready = GaugeMetricFamily("ticketd_printer_ready", "1 if the printer's last status "
                                  "was Ready, else 0.", labels=["printer"])
        status = GaugeMetricFamily("ticketd_printer_status", "1 for the printer's current "
                                   "condition, 0 for the others.", labels=["printer", "status"])
        unconfirmed = GaugeMetricFamily("ticketd_jobs_unconfirmed", "Jobs sent to the "
                                        "printer whose confirmation (the paper is out) is "
                                        "awaited.", labels=["printer"])
        for p in sorted(self.printers(), key=lambda p: p.name):
            name = p.name
            length.add_metric([name], p.queue)
            held.add_metric([name], p.held)
            unconfirmed.add_metric([name], p.unconfirmed)
            capacity.add_metric([name], p.capacity)
            current = p.status.condition
            ready.add_metric([name], 1 if current is Condition.READY else 0)
            for condition, label in STATUS_LABELS.items():
                status.add_metric([name, label], 1 if condition is current else 0)
        yield from (length, held, capacity, ready, status, unconfirmed)
        if self.journal is not None:
            yield GaugeMetricFamily("ticketd_journal_ok", "1 while the journal's writes "
                                    "work, 0 while they fail.",
                                    value=1 if self.journal().ok else 0)
        if self.connections is not None:
            yield GaugeMetricFamily("ticketd_websocket_connections",
                                    "Open WebSocket connections.", value=self.connections())
        if self.mqtt is not None:
            connected = GaugeMetricFamily("ticketd_mqtt_connected", "1 while the printer's "
                                          "MQTT link is connected.", labels=["printer", "prefix"])
            reconnects = CounterMetricFamily("ticketd_mqtt_reconnects", "Successful MQTT "
                                             "connections after the first.",
                                             labels=["printer", "prefix"])
            for name, link in sorted(self.mqtt().items()):
                labels = [name, str(link.get("prefix", ""))]
                connected.add_metric(labels, 1 if link.get("state") == "connected" else 0)
                reconnects.add_metric(labels, max(int(link.get("connects", 0)) - 1, 0))
            yield connected
            yield reconnects
        if self.stages is not None:
            yield from stage_metrics(self.stages())


def stage_metrics(totals: Mapping[str, Any]) -> Iterator[Metric]:
    """``ticketd.stages`` totals (StageTotal: calls, wall, cpu) as two counters."""
    calls = CounterMetricFamily("ticketd_stage_calls", "Times each stage of a job ran.",
                                labels=["stage"])
    seconds = CounterMetricFamily("ticketd_stage_seconds", "Time spent in each stage of a "
                                  "job: wall clock, and CPU where the stage computes in one "
                                  "thread.", labels=["stage", "clock"])
    for name, t in totals.items():
        calls.add_metric([name], t.calls)
        seconds.add_metric([name, "wall"], t.wall)
        if t.cpu is not None:
            seconds.add_metric([name, "cpu"], t.cpu)
    yield calls
    yield seconds


class Metrics:
    """The daemon's registry: :meth:`record` is a print-service listener, the state
    collector reads the printers at scrape time, :meth:`render` makes the exposition."""

    def __init__(self, printers: Printers, *, process: bool = True) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs = Counter("ticketd_jobs", "Jobs that ended, by printer and final state.",
                            ["printer", "state"], registry=r)
        self.accepted = Counter("ticketd_jobs_accepted", "Jobs accepted, by printer and "
                                "source.", ["printer", "source"], registry=r)
        self.duration = Histogram("ticketd_print_duration_seconds", "Time from the start "
                                  "of printing to the end, printed jobs.", ["printer"],
                                  buckets=DURATION_BUCKETS, registry=r)
        self.bytes = Histogram("ticketd_print_bytes", "Bytes sent to the printer, printed "
                               "jobs.", ["printer"], buckets=BYTES_BUCKETS, registry=r)
        self.confirmed = Histogram("ticketd_confirm_seconds", "Time from sent (the printer "
                                   "has the bytes) to the printer's confirmation (the paper "
                                   "is out): the real paper speed.", ["printer"],
                                   buckets=DURATION_BUCKETS, registry=r)
        self._sent: dict[str, float] = {}  # job id -> when it was sent
        # (metric, label values) -> its child: labels() takes a lock and checks the
        # values on every call, four times per job; the series are never removed
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}
        self.state = StateCollector(printers)
        r.register(self.state)  # type: ignore[arg-type]
        if process:
            ProcessCollector(registry=r)
        self._known(p.name for p in printers())

    def _known(self, printers: Iterable[str]) -> None:
        """Every printer's series exist from the start (at 0): rates and alerts need them."""
        for name in printers:
            for state in FINAL:
                self.jobs.labels(name, state.value)
            self.duration.labels(name)
            self.bytes.labels(name)
            self.confirmed.labels(name)

    def watch_connections(self, count: Callable[[], int]) -> None:
        """``count()`` gives the open WebSocket connections at scrape time."""
        self.state.connections = count

    def watch_mqtt(self, state: Callable[[], Mapping[str, Mapping[str, Any]]]) -> None:
        """``state()`` is ``MqttService.state``: per printer its prefix, state, connects."""
        self.state.mqtt = state

    def watch_stages(self, totals: Callable[[], Mapping[str, Any]]) -> None:
        """``totals()`` is ``Stages.totals`` (``ticketd.stages``)."""
        self.state.stages = totals

    def watch_journal(self, state: Callable[[], Any]) -> None:
        """``state()`` is the print service's ``journal_state()`` (``.ok``)."""
        self.state.journal = state

    def record(self, event: object) -> None:
        """A print-service listener (JobEvent and PrinterEvent; status is read at scrape)."""
        if not isinstance(event, JobEvent):
            return
        job = event.job
        if event.old is None:
            self._child(self.accepted, job.printer, job.source).inc()
            return
        if event.new is JobState.SENT and event.old is not JobState.SENT:
            self._sent[job.id] = job.updated
        if not event.new.final:
            return
        sent = self._sent.pop(job.id, None)
        if sent is not None and event.new is JobState.PRINTED:
            self._child(self.confirmed, job.printer).observe(max(job.updated - sent, 0.0))
        self._child(self.jobs, job.printer, event.new.value).inc()
        if event.new is JobState.PRINTED:
            if job.started is not None and job.finished is not None:
                self._child(self.duration, job.printer).observe(
                    max(job.finished - job.started, 0.0))
            self._child(self.bytes, job.printer).observe(job.bytes_written)

    def _child(self, metric: Any, *values: str) -> Any:
        child = self._children.get((metric, values))
        if child is None:
            child = self._children[(metric, values)] = metric.labels(*values)
        return child

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition and its content type (OpenMetrics if the scraper asks for it)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
