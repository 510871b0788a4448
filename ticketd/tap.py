"""``twistd ticketd``: command-line options and the service tree built from the config.

Only this module knows the whole: it wires the journal, the job manager, one queue (with
its own thread) per printer, the HTTP site and the systemd notifier into one MultiService.
The printer queues are the job manager's children: on stop the manager refuses new jobs,
lets each queue finish the job it is writing, then flushes and closes the journal.
"""

from __future__ import annotations

from typing import Any

from twisted.application import service, strports
from twisted.python import usage

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


def makeService(options: Options) -> service.MultiService:  # noqa: N802 (twistd's name)
    from twisted.internet import reactor
    return build(options.config, reactor)


def build(config: Config, reactor: Any) -> service.MultiService:
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

    top = service.MultiService()
    config.state.directory.mkdir(parents=True, exist_ok=True)
    journal_thread = printer_thread("ticketd-journal")
    committer = GroupCommitter(Journal(config.state.directory / "journal.sqlite3"),
                               runner(reactor, journal_thread), journal_thread)
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

    site = build_site(manager, reactor.seconds(), reactor)
    interface = config.server.listen.replace(":", "\\:")
    http = strports.service(f"tcp:{config.server.port}:interface={interface}", site)
    http.setName("http")
    http.setServiceParent(top)
    top.http = http  # type: ignore[attr-defined]

    SystemdNotifier(reactor).setServiceParent(top)
    return top

