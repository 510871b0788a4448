"""``twistd ticketd``: command-line options and the service tree built from the config.

Only this module knows the whole: it wires the journal, the job manager, one queue (with
its own thread) per printer, the HTTP site and the systemd notifier into one MultiService.
The printer queues are the job manager's children: on stop the manager refuses new jobs,
lets each queue finish the job it is writing, then flushes and closes the journal.
Under twistd, ``[log]`` replaces twistd's log observer (:class:`Daemon`); ``/metrics``
reads the daemon's own registry (``ticketd.metrics``).
"""

from __future__ import annotations

from typing import Any

from twisted.application import service, strports
from twisted.logger import ILogObserver
from twisted.python import usage
from twisted.python.components import Componentized

from ticketd.config import Config, ConfigError, load


class Options(usage.Options):
    optParameters = [
        ["config", "c", "etc/ticketd.toml", "The TOML config file."],
    ]

    def postOptions(self) -> None:
        try:
            self.config: Config = load(self["config"])
        except ConfigError as e:
            raise usage.UsageError(str(e)) from None


class Daemon(service.MultiService):
    """The top service. ``log_observer``, if set, becomes the twistd Application's
    ``ILogObserver`` when twistd parents us to it: that is how ``[log]`` replaces twistd's
    own log observer (the reasons are in :func:`ticketd.logs.twistd_observer`)."""

    log_observer: ILogObserver | None = None

    def setServiceParent(self, parent: Any) -> Any:  # noqa: N802
        if self.log_observer is not None and isinstance(parent, Componentized):
            parent.setComponent(ILogObserver, self.log_observer)
        return super().setServiceParent(parent)


def makeService(options: Options) -> Daemon:  # noqa: N802 (twistd's name)
    from twisted.internet import reactor

    from ticketd.logs import bridge_stdlib_logging, twistd_observer
    bridge_stdlib_logging(options.config.log)
    top = build(options.config, reactor)
    top.log_observer = twistd_observer(options.config.log, options.parent)
    return top


def build(config: Config, reactor: Any) -> Daemon:
    """The whole daemon for ``config`` on ``reactor`` (tests pass their own)."""
    from ticketd.jobs.commit import GroupCommitter
    from ticketd.jobs.journal import Journal
    from ticketd.jobs.manager import JobManager
    from ticketd.jobs.prepare import preparer
    from ticketd.jobs.printer_queue import PrinterQueue
    from ticketd.printers.factory import connect
    from ticketd.systemd import SystemdNotifier
    from ticketd.threads import printer_thread, runner
    from ticketd.web.site import build_site

    top = Daemon()
    config.state.directory.mkdir(parents=True, exist_ok=True)
    journal_thread = printer_thread("ticketd-journal")
    committer = GroupCommitter(Journal(config.state.directory / "journal.sqlite3"),
                               runner(reactor, journal_thread), journal_thread,
                               schedule=lambda f: reactor.callLater(0, f))
    manager = JobManager(config, committer, reactor)
    manager.setServiceParent(top)

    from ticketd.documents import ImageCache
    prepare = preparer(ImageCache())
    for printer in config.printers:
        thread = printer_thread(f"ticketd-printer-{printer.name}")
        queue = PrinterQueue(printer, connect(printer), clock=reactor,
                             run=runner(reactor, thread), prepare=prepare, sink=manager,
                             threads=thread)
        manager.add_queue(queue)

    # --- MQTT (issue 6): after the queues, so it stops (publishing Offline) before them ---
    if config.mqtt is not None:
        from ticketd.mqtt.service import MqttService
        mqtt_service = MqttService(config, manager, reactor)
        mqtt_service.setServiceParent(top)
        top.mqtt = mqtt_service  # type: ignore[attr-defined]
    # --- end MQTT ---

    # --- metrics (issue 7): recorded from job events, the rest read at scrape time ---
    from ticketd.metrics import Metrics
    metrics = Metrics(manager.queues)
    manager.subscribe(metrics.record)
    if config.mqtt is not None:
        metrics.watch_mqtt(mqtt_service.state)
    top.metrics = metrics  # type: ignore[attr-defined]
    # --- end metrics ---

    site = build_site(manager, reactor.seconds(), reactor, metrics=metrics)
    interface = config.server.listen.replace(":", "\\:")
    http = strports.service(f"tcp:{config.server.port}:interface={interface}", site)
    http.setName("http")
    http.setServiceParent(top)
    top.http = http  # type: ignore[attr-defined]

    SystemdNotifier(reactor).setServiceParent(top)
    return top

