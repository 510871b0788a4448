"""``/metrics``: counters from job events, gauges read at scrape time, parsed back with
prometheus_client's own parser (a real JobManager from tests.fakes.Rig, no sockets)."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase
from twisted.web.test.requesthelper import DummyRequest

from ticketd.jobs.model import Job, JobEvent, JobKind, JobState
from ticketd.metrics import Metrics
from ticketd.printers.status import PrinterStatus
from ticketd.web.metrics import MetricsResource
from ticketd.web.site import build_site
from tests.fakes import Rig, config

PRINTERS = ('[printers.p1]\nconnection = "virtual"\nqueue_capacity = 10\n'
            '[printers.p2]\nconnection = "virtual"\nqueue_capacity = 5\n')


def scrape(resource: Any, accept: bytes | None = None) -> tuple[dict[str, Any], str]:
    request = DummyRequest([b""])
    if accept is not None:
        request.requestHeaders.setRawHeaders(b"accept", [accept])
    body = resource.render(request)
    content_type = request.responseHeaders.getRawHeaders(b"content-type")[0].decode()
    return {f.name: f for f in text_string_to_metric_families(body.decode())}, content_type


def value(families: dict[str, Any], sample: str, **labels: str) -> float:
    family = families[sample.removesuffix("_total").removesuffix("_count")
                      .removesuffix("_sum").removesuffix("_bucket")]
    found = [s.value for s in family.samples if s.name == sample and
             all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (sample, labels, family.samples)
    return float(found[0])


class MetricsTests(TestCase):
    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), PRINTERS))
        self.metrics = Metrics(self.rig.service.printers, process=False)
        self.rig.manager.subscribe(self.metrics.record)
        self.resource = MetricsResource(self.metrics)
        self.rig.start()

    def tearDown(self) -> Deferred:
        return self.rig.stop()

    def submit(self, printer: str, job_id: str, data: bytes = b"hello\n") -> None:
        self.rig.manager.submit(job_id=job_id, printer=printer, source="ws",
                                kind=JobKind.RAW, payload=data)

    def test_counters_and_histograms_match_the_jobs(self) -> None:
        for i in range(4):  # N = 4 printed on p1
            self.submit("p1", f"a{i}", b"x" * (100 * (i + 1)))
        for i in range(3):  # M = 3 failed on p2
            self.rig.connections["p2"].fail_next = "cannot connect: Connection refused"
            self.submit("p2", f"b{i}")
        families, content_type = scrape(self.resource)
        self.assertTrue(content_type.startswith("text/plain"), content_type)
        self.assertEqual(value(families, "ticketd_jobs_total", printer="p1", state="printed"), 4)
        self.assertEqual(value(families, "ticketd_jobs_total", printer="p2", state="failed"), 3)
        self.assertEqual(value(families, "ticketd_jobs_total", printer="p2", state="printed"), 0)
        self.assertEqual(value(families, "ticketd_jobs_total", printer="p1", state="failed"), 0)
        self.assertEqual(value(families, "ticketd_jobs_accepted_total", printer="p1",
                               source="ws"), 4)
        self.assertEqual(value(families, "ticketd_print_duration_seconds_count", printer="p1"),
                         4)
        self.assertEqual(value(families, "ticketd_print_duration_seconds_count", printer="p2"),
                         0)  # failed jobs are not timed
        self.assertEqual(value(families, "ticketd_print_bytes_count", printer="p1"), 4)
        self.assertEqual(value(families, "ticketd_print_bytes_sum", printer="p1"), 1000)
        self.assertEqual(value(families, "ticketd_print_bytes_bucket", printer="p1", le="256.0"),
                         2)

    def test_duration_is_started_to_finished(self) -> None:
        """(Inline threads print in no clock time: the event is made by hand.)"""
        job = Job(id="j", printer="p1", source="ws", kind=JobKind.RAW, payload=b"",
                  created=0.0, state=JobState.PRINTED, started=10.0, finished=12.5,
                  bytes_written=3000)
        self.metrics.record(JobEvent(job, JobState.PRINTING, JobState.PRINTED))
        families, _ = scrape(self.resource)
        self.assertEqual(value(families, "ticketd_print_duration_seconds_sum", printer="p1"),
                         2.5)
        self.assertEqual(value(families, "ticketd_print_duration_seconds_bucket", printer="p1",
                               le="2.0"), 0)
        self.assertEqual(value(families, "ticketd_print_duration_seconds_bucket", printer="p1",
                               le="5.0"), 1)

    def test_queue_and_status_gauges_are_read_at_scrape_time(self) -> None:
        self.rig.connections["p2"].status = PrinterStatus(online=False, paper_out=True)
        for i in range(3):
            self.submit("p2", f"h{i}")
        queue = self.rig.queues["p2"]
        families, _ = scrape(self.resource)
        self.assertGreaterEqual(queue.length, 2)
        self.assertEqual(value(families, "ticketd_queue_length", printer="p2"), queue.length)
        self.assertEqual(value(families, "ticketd_queue_held", printer="p2"), queue.held)
        self.assertGreaterEqual(queue.held, 2)
        self.assertEqual(value(families, "ticketd_queue_capacity", printer="p2"), 5)
        self.assertEqual(value(families, "ticketd_queue_length", printer="p1"), 0)
        self.assertEqual(value(families, "ticketd_printer_ready", printer="p2"), 0)
        self.assertEqual(value(families, "ticketd_printer_status", printer="p2",
                               status="paper_out"), 1)
        self.assertEqual(value(families, "ticketd_printer_status", printer="p2",
                               status="ready"), 0)
        self.rig.connections["p2"].status = PrinterStatus()
        self.rig.queues["p2"].poll()
        families, _ = scrape(self.resource)
        self.assertEqual(value(families, "ticketd_printer_ready", printer="p2"), 1)
        self.assertEqual(value(families, "ticketd_queue_length", printer="p2"), 0)
        self.assertEqual(value(families, "ticketd_jobs_total", printer="p2", state="printed"), 3)

    def test_connections_and_mqtt(self) -> None:
        sessions = [1, 2]
        links = {"p1": {"prefix": "shop/p1", "state": "connected", "connects": 3},
                 "p2": {"prefix": "p2", "state": "waiting", "connects": 0}}
        self.metrics.watch_connections(lambda: len(sessions))
        self.metrics.watch_mqtt(lambda: links)
        families, _ = scrape(self.resource)
        self.assertEqual(value(families, "ticketd_websocket_connections"), 2)
        self.assertEqual(value(families, "ticketd_mqtt_connected", printer="p1"), 1)
        self.assertEqual(value(families, "ticketd_mqtt_connected", printer="p2"), 0)
        self.assertEqual(value(families, "ticketd_mqtt_reconnects_total", printer="p1",
                               prefix="shop/p1"), 2)
        self.assertEqual(value(families, "ticketd_mqtt_reconnects_total", printer="p2"), 0)

    def test_openmetrics_on_request_and_own_registry(self) -> None:
        request = DummyRequest([b""])
        request.requestHeaders.setRawHeaders(b"accept", [b"application/openmetrics-text"])
        body = self.resource.render(request)
        self.assertTrue(body.endswith(b"# EOF\n"))
        self.assertIn("openmetrics", request.responseHeaders.getRawHeaders(b"content-type")[0]
                      .decode())
        self.assertIsNone(REGISTRY.get_sample_value("ticketd_queue_capacity",
                                                    {"printer": "p1"}))  # not the global one

    def test_site_mounts_metrics_and_counts_websocket_sessions(self) -> None:
        site = build_site(self.rig.service, self.rig.config.server, clock=Clock(), started=0.0,
                          reactor=Clock(), metrics=self.metrics)
        self.assertIsInstance(site.resource.children[b"metrics"], MetricsResource)
        hub = site.resource.children[b"ws"]._factory.hub
        hub.open(lambda m: None, "test")
        families, _ = scrape(site.resource.children[b"metrics"])
        self.assertEqual(value(families, "ticketd_websocket_connections"), 1)
