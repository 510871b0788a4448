"""``twistd ticketd``: command-line options and the service tree built from the config.

Only this module knows the whole: it wires the journal, the job manager, one queue (with
its own thread) per printer, the print service that the transports use, the MQTT service
(its threads and TLS context), the HTTP site and the systemd notifier into one
MultiService.
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
    """The whole daemon for ``config`` on ``reactor`` (tests pass their own).

    The named children, in start order: ``jobs`` (the job manager, whose children are the
    printer queues), ``mqtt`` (when configured: started after the queues so that it stops,
    publishing Offline, before them), ``http`` and ``systemd``."""
    from ticketd.documents import ImageCache
    from ticketd.jobs.commit import GroupCommitter
    from ticketd.jobs.journal import Journal
    from ticketd.jobs.manager import JobManager
    from ticketd.jobs.prepare import preparer
    from ticketd.jobs.printer_queue import PrinterQueue
    from ticketd.jobs.service import PrintService
    from ticketd.metrics import Metrics
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
    prepare = preparer(ImageCache(), strict=config.server.strict_documents)
    for printer in config.printers:
        thread = printer_thread(f"ticketd-printer-{printer.name}")
        queue = PrinterQueue(printer, connect(printer), clock=reactor,
                             run=runner(reactor, thread), prepare=prepare, sink=manager,
                             threads=thread)
        manager.add_queue(queue)

    # Validation, previews and discovery: the reactor's shared thread pool.
    printing = PrintService(manager, run=in_reactor_threads(reactor))
    metrics = Metrics(printing.printers)
    printing.subscribe(metrics.record)

    if config.mqtt is not None:
        mqtt_service = _mqtt(config, printing, reactor)
        mqtt_service.setServiceParent(top)
        metrics.watch_mqtt(mqtt_service.state)

    site = build_site(printing, config.server, clock=reactor, started=reactor.seconds(),
                      reactor=reactor, metrics=metrics,
                      state_directory=config.state.directory)
    interface = config.server.listen.replace(":", "\\:")
    http = strports.service(f"tcp:{config.server.port}:interface={interface}", site)
    http.setName("http")
    http.setServiceParent(top)

    notifier = SystemdNotifier(reactor)
    notifier.setName("systemd")
    notifier.setServiceParent(top)
    return top


def _mqtt(config: Config, printing: Any, reactor: Any) -> Any:
    """The MQTT service with its connect threads and TLS context (bad files fail here, at
    start, with the file's name)."""
    from ticketd.mqtt.service import MqttService
    from ticketd.mqtt.tls import tls_context
    from ticketd.threads import DaemonThreadPool, runner

    assert config.mqtt is not None
    pool = DaemonThreadPool(0, 4, "ticketd-mqtt", join_timeout=2.0)
    ctx = tls_context(config.mqtt) if config.mqtt.tls else None
    return MqttService(config, printing, reactor, run=runner(reactor, pool), threads=pool,
                       ssl_context=ctx)


def in_reactor_threads(reactor: Any) -> Any:
    """``run(f, *args)`` in the reactor's shared thread pool."""
    from twisted.internet.threads import deferToThreadPool

    def in_thread(f: Any, *args: Any) -> Any:
        return deferToThreadPool(reactor, reactor.getThreadPool(), f, *args)
    return in_thread
