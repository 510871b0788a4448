"""Log output from ``[log]``: rotation, JSON lines, levels by namespace, audit events, and
how the observer reaches twistd (in-process and with the real daemon)."""

from __future__ import annotations

import io
import json
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from twisted.application import service
from twisted.logger import ILogObserver, Logger
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from ticketd import logs
from ticketd.config import DEFAULT_NAMESPACE_LEVELS, LogConfig
from ticketd.tap import Daemon
from tests.daemon import DaemonProcess


def emit(observer: ILogObserver, namespace: str, level: str, text: str, **kw: object) -> None:
    getattr(Logger(namespace=namespace, observer=observer), level)(text, **kw)


class RotationTests(SynchronousTestCase):
    def test_rotates_and_keeps_at_most_keep_files(self) -> None:
        directory = Path(self.mktemp())
        cfg = LogConfig(file=str(directory / "ticketd.log"), max_bytes=2048, keep=3)
        observer = logs.observer(cfg)
        for i in range(400):  # ~80 bytes a line: ~15 rotations
            emit(observer, "ticketd.test", "info", "event {i} with some padding text", i=i)
        names = sorted(p.name for p in directory.iterdir())
        self.assertEqual(names, ["ticketd.log", "ticketd.log.1", "ticketd.log.2",
                                 "ticketd.log.3"])
        for p in directory.iterdir():
            self.assertLess(p.stat().st_size, 2048 + 200, p.name)
        self.assertIn("event 399 ", (directory / "ticketd.log").read_text())
        self.assertNotIn("event 0 ", "".join(p.read_text() for p in directory.iterdir()))


class FormatTests(SynchronousTestCase):
    def lines(self, cfg: LogConfig, *events: tuple) -> list[str]:
        out = io.StringIO()
        observer = logs.observer(cfg, out)
        for namespace, level, text, kw in events:
            emit(observer, namespace, level, text, **kw)
        return out.getvalue().splitlines()

    def test_json_lines_parse(self) -> None:
        try:
            1 / 0
        except ZeroDivisionError:
            failure = Failure()
        out = io.StringIO()
        observer = logs.observer(LogConfig(format="json"), out)
        log = Logger(namespace="ticketd.web.messages.Session", observer=observer)
        log.info("job {job} printed in {ms} ms", job="j1", ms=12.5, printer=object())
        log.warn("ws {peer}: ticket refused ({reason})", peer="1.2.3.4:5", reason="queue_full",
                 audit=True)
        log.failure("writing {job} failed\nsecond line", failure, job="j2")
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual(len(rows), 3)
        first, audit, error = rows
        self.assertEqual((first["level"], first["namespace"], first["message"], first["job"],
                          first["ms"]),
                         ("info", "ticketd.web.messages.Session", "job j1 printed in 12.5 ms",
                          "j1", 12.5))
        self.assertTrue(first["time"].endswith("+00:00"))
        self.assertIsInstance(first["printer"], str)  # not JSON: its str()
        self.assertNotIn("log_format", first)
        self.assertEqual((audit["audit"], audit["reason"], audit["level"]),
                         (True, "queue_full", "warn"))
        self.assertEqual(error["level"], "critical")
        self.assertIn("ZeroDivisionError", error["traceback"])

    def test_text_lines(self) -> None:
        lines = self.lines(LogConfig(), ("ticketd.jobs.manager.JobManager", "info",
                                         "two\nlines", {}),
                           ("ticketd.web.ws", "warn", "bad token", {"audit": True}))
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} "
                                   r"\[ticketd\.jobs\.manager\.JobManager#info\] two$")
        self.assertEqual(lines[1], "\tlines")
        self.assertTrue(lines[2].endswith("[ticketd.web.ws#warn] AUDIT bad token"), lines[2])


class LevelTests(SynchronousTestCase):
    def kept(self, cfg: LogConfig, namespace: str, level: str, **kw: object) -> bool:
        out = io.StringIO()
        emit(logs.observer(cfg, out), namespace, level, "x", **kw)
        return bool(out.getvalue())

    def test_per_namespace_levels(self) -> None:
        cfg = LogConfig(level="info",
                        levels=DEFAULT_NAMESPACE_LEVELS + (("ticketd.jobs", "debug"),))
        self.assertFalse(self.kept(cfg, "autobahn.websocket.protocol.WebSocketProtocol", "info"))
        self.assertTrue(self.kept(cfg, "autobahn.websocket.protocol.WebSocketProtocol", "warn"))
        self.assertFalse(self.kept(cfg, "txaio.tx", "info"))
        self.assertFalse(self.kept(cfg, "paho.mqtt.client", "info"))
        self.assertTrue(self.kept(cfg, "ticketd.jobs.manager.JobManager", "debug"))
        self.assertFalse(self.kept(cfg, "ticketd.web.ws.TicketServerProtocol", "debug"))
        self.assertTrue(self.kept(cfg, "ticketd.web.ws.TicketServerProtocol", "info"))
        self.assertTrue(self.kept(cfg, "autobahnish", "info"))  # a prefix is not a parent

    def test_audit_events_survive_any_level(self) -> None:
        cfg = LogConfig(level="critical", levels=(("ticketd", "critical"),))
        self.assertFalse(self.kept(cfg, "ticketd.web.ws", "error"))
        self.assertTrue(self.kept(cfg, "ticketd.web.ws", "info", audit=True))


class TwistdTests(SynchronousTestCase):
    def test_daemon_hands_the_observer_to_twistds_application(self) -> None:
        """twistd's AppLogger.start uses the Application's ILogObserver component."""
        observer = logs.observer(LogConfig(), io.StringIO())
        application = service.Application("ticketd")
        top = Daemon()
        top.log_observer = observer
        top.setServiceParent(application)
        self.assertIs(application.getComponent(ILogObserver), observer)
        self.assertIn(top, list(service.IServiceCollection(application)))
        plain = service.Application("ticketd")
        Daemon().setServiceParent(plain)
        self.assertIsNone(plain.getComponent(ILogObserver))

    def test_destination(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir()
        own = tmp / "own.log"
        theirs = tmp / "twistd.log"
        self.assertIsNone(logs.twistd_observer(LogConfig(), {"syslog": True}))
        self.assertIsNone(logs.twistd_observer(LogConfig(), {"logger": object()}))
        emit(logs.twistd_observer(LogConfig(file=str(own)), {"logfile": str(theirs)}),
             "t", "info", "to the config's file")
        emit(logs.twistd_observer(LogConfig(), {"logfile": str(theirs), "nodaemon": True}),
             "t", "info", "to twistd's --logfile")
        self.assertIn("to the config's file", own.read_text())
        self.assertIn("to twistd's --logfile", theirs.read_text())
        self.assertIsNotNone(logs.twistd_observer(LogConfig(), {"logfile": "-"}))


class DaemonLogFileTests(SynchronousTestCase):
    """The real ``twistd -n ticketd``: ``[log] file`` receives the log, stdout does not."""

    def test_log_file_json_and_metrics(self) -> None:
        daemon = DaemonProcess(self.mktemp())
        self.addCleanup(daemon.stop)
        daemon.start('[log]\nfile = "logs/ticketd.log"\nformat = "json"\n'
                     '[printers.v1]\nconnection = "virtual"\n')
        with urllib.request.urlopen(daemon.base_url + "/metrics", timeout=5) as r:
            families = {f.name: f for f in text_string_to_metric_families(r.read().decode())}
        self.assertIn(daemon.stop(), (0, -15))  # twistd re-raises SIGTERM on its way out
        rows = [json.loads(line) for line in
                (daemon.dir / "logs" / "ticketd.log").read_text().splitlines()]
        messages = " | ".join(r["message"] for r in rows)
        self.assertIn("starting up", messages)  # twistd's own first lines come through ours
        self.assertIn("Server Shut Down", messages)
        self.assertNotIn("starting up", daemon.log_path.read_text())  # no second observer
        self.assertIn("ticketd_jobs", families)
        self.assertEqual(families["ticketd_queue_length"].samples[0].labels, {"printer": "v1"})
        self.assertEqual(families["ticketd_websocket_connections"].samples[0].value, 0)


class StdlibBridgeTests(SynchronousTestCase):
    """Standard-library loggers (paho, python-escpos) reach twisted.logger."""

    def test_records_forwarded_with_namespace_and_level(self) -> None:
        import logging

        from twisted.logger import globalLogPublisher

        from ticketd.config import LogConfig
        from ticketd.logs import bridge_stdlib_logging

        root = logging.getLogger("ticketd-test-root")
        root.propagate = False
        handler = bridge_stdlib_logging(LogConfig(), root)
        self.addCleanup(root.removeHandler, handler)
        seen: list[dict] = []
        globalLogPublisher.addObserver(seen.append)
        self.addCleanup(globalLogPublisher.removeObserver, seen.append)
        child = root.getChild("paho")
        child.warning("connection %s lost", "x")
        child.debug("not wanted at info")
        mine = [e for e in seen if e.get("log_namespace", "").endswith("paho")]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["text"], "connection x lost")
        self.assertEqual(mine[0]["log_level"].name, "warn")
