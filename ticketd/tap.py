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

import os
import sys
from typing import Any, Callable

import attrs
from twisted.application import service, strports
from twisted.internet.error import CannotListenError
from twisted.logger import ILogObserver, Logger
from twisted.python import usage
from twisted.python.components import Componentized

from ticketd.config import Config, ConfigError, load
from ticketd.state_lock import StateError


class Options(usage.Options):
    optParameters = [
        ["config", "c", "etc/ticketd.toml",
         "The TOML config file: ticketd's own, or the original MQTT print server's."],
        ["http-port", None, None, "Serve HTTP/WebSocket on this port instead of [server] "
         "port (0: any free port).", int],
    ]

    def postOptions(self) -> None:
        """A config error is one line on stderr and exit status 1: not a UsageError, which
        twistd would print after its whole usage text."""
        try:
            self.config: Config = load(self["config"])
        except ConfigError as e:
            print(str(e), file=sys.stderr)
            raise SystemExit(1) from None
        if self["http-port"] is not None:
            if not 0 <= self["http-port"] <= 65535:
                print(f"--http-port: expected 0-65535, got {self['http-port']}",
                      file=sys.stderr)
                raise SystemExit(1)
            server = attrs.evolve(self.config.server, port=self["http-port"])
            self.config = attrs.evolve(self.config, server=server)


class Daemon(service.MultiService):
    """The top service. ``log_observer``, if set, becomes the twistd Application's
    ``ILogObserver`` when twistd parents us to it: that is how ``[log]`` replaces twistd's
    own log observer (the reasons are in :func:`ticketd.logs.twistd_observer`).

    ``twistd`` (set by :func:`makeService`: twistd's options) makes a start refused by the
    environment (state directory, port) end the process with one line and exit code 1;
    without it (tests) the refusal is raised as :class:`StartRefused`."""

    log_observer: ILogObserver | None = None
    twistd: Any = None
    log = Logger()

    def setServiceParent(self, parent: Any) -> Any:  # noqa: N802
        if self.log_observer is not None and isinstance(parent, Componentized):
            parent.setComponent(ILogObserver, self.log_observer)
        return super().setServiceParent(parent)

    def privilegedStartService(self) -> None:  # noqa: N802 (the port is bound here)
        self._refusing(super().privilegedStartService)

    def startService(self) -> None:  # noqa: N802
        self._refusing(super().startService)

    def stopService(self) -> Any:  # noqa: N802
        """MultiService's stop, but the render processes (``render``) are ended only once
        every other child has stopped: the queues may render while they finish a job."""
        from twisted.internet.defer import DeferredList, maybeDeferred

        render = self.namedServices.get("render")
        if render is None:
            return super().stopService()
        service.Service.stopService(self)
        others = DeferredList([maybeDeferred(child.stopService)
                               for child in reversed(list(self)) if child is not render])
        return others.addBoth(lambda _: maybeDeferred(render.stopService))

    def _refusing(self, start: Callable[[], None]) -> None:
        try:
            try:
                start()
            except StateError as e:
                raise StartRefused(str(e)) from None
            except CannotListenError as e:
                raise StartRefused(f"server.port: cannot listen on {e.interface or '*'}:"
                                   f"{e.port}: {_reason(e.socketError)}") from None
        except StartRefused as e:
            if self.twistd is None:
                raise
            refuse(str(e), self.twistd, self.log)


class StartRefused(Exception):
    """The daemon cannot start here; ``str()`` is one line naming the setting."""


def _reason(error: object) -> str:
    return str(getattr(error, "strerror", None) or error)


def refuse(line: str, twistd: Any, log: Logger) -> None:
    """End a start that the environment refused: the line in the log and on stderr (when
    daemonized, where stderr is gone, twistd's waiting parent gets it instead), exit 1.
    A SystemExit, not an exception: twistd would print a traceback."""
    log.critical("{line}", line=line)
    pipe = twistd.get("statusPipe")
    if pipe is None:
        stderr = sys.__stderr__ or sys.stderr  # twistd sent sys.stderr to the log
        stderr.write(line + "\n")
        stderr.flush()
    else:
        try:
            os.write(pipe, b"1 " + line.encode("utf-8", "replace"))
            os.close(pipe)
        except OSError:
            pass
        pidfile = twistd.get("pidfile")
        if pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
    raise SystemExit(1)


def makeService(options: Options) -> Daemon:  # noqa: N802 (twistd's name)
    from twisted.internet import reactor

    from ticketd.logs import bridge_stdlib_logging, twistd_observer
    bridge_stdlib_logging(options.config.log)
    top = build(options.config, reactor)
    top.log_observer = twistd_observer(options.config.log, options.parent)
    top.twistd = options.parent if options.parent is not None else {}
    return top


def build(config: Config, reactor: Any) -> Daemon:
    """The whole daemon for ``config`` on ``reactor`` (tests pass their own).

    The named children, in start order: ``render`` (the render processes, when there are
    any: stopped after the queues), ``jobs`` (the job manager, whose children are the
    printer queues), ``spool-pruning`` (the virtual printers' old files), ``mqtt`` (when
    configured: started after the queues so that it stops, publishing Offline, before
    them), ``http``, ``announce`` (the URLs in the log) and ``systemd``."""
    from ticketd.documents import ImageCache
    from ticketd.jobs.commit import GroupCommitter
    from ticketd.jobs.journal import Journal, open_journal
    from ticketd.jobs.manager import JobManager
    from ticketd.jobs.prepare import preparer
    from ticketd.jobs.printer_queue import PrinterQueue
    from ticketd.jobs.service import PrintService
    from ticketd.metrics import Metrics
    from ticketd.printers.factory import connect
    from ticketd.printers.spool_pruning import SpoolPruner
    from ticketd.printers.virtual import VirtualConnection
    from ticketd.stages import Stages
    from ticketd.systemd import SystemdNotifier
    from ticketd.threads import printer_thread, runner
    from ticketd.state_lock import StateLock
    from ticketd.web.site import build_site

    top = Daemon()
    state = config.state

    def open_state() -> Journal:
        """At start: the lock, then the journal (which releases the lock on close)."""
        lock = StateLock(state.directory)
        lock.acquire()
        try:
            return open_journal(state.directory, state.sync, lock)
        except BaseException:
            lock.release()
            raise

    stages = Stages()  # where a job's time goes: /metrics' ticketd_stage_*
    journal_thread = printer_thread("ticketd-journal")
    committer = GroupCommitter(None, runner(reactor, journal_thread, stages, "handoff.journal"),
                               journal_thread, schedule=lambda f: reactor.callLater(0, f),
                               opener=open_state, stages=stages)
    processes = render_processes(config)
    if processes is not None:  # first: started before the queues, stopped after them
        _RenderProcesses(processes).setServiceParent(top)
    manager = JobManager(config, committer, reactor)
    manager.setServiceParent(top)
    prepare = preparer(ImageCache(), strict=config.server.strict_documents,
                       processes=processes)
    spools = []
    for printer in config.printers:
        thread = printer_thread(f"ticketd-printer-{printer.name}")
        connection = connect(printer)
        inner = getattr(connection, "inner", connection)  # without status queries
        if isinstance(inner, VirtualConnection):
            spools.append(inner)
        queue = PrinterQueue(printer, connection, clock=reactor,
                             run=runner(reactor, thread, stages, "handoff.printer"),
                             prepare=prepare, sink=manager, threads=thread, stages=stages)
        manager.add_queue(queue)

    # Validation, previews and discovery: the reactor's shared thread pool.
    printing = PrintService(manager, run=in_reactor_threads(reactor), stages=stages)
    SpoolPruner(spools, config.state.retention_hours * 3600, reactor,
                in_reactor_threads(reactor)).setServiceParent(top)
    metrics = Metrics(printing.printers)
    metrics.watch_journal(printing.journal_state)
    metrics.watch_stages(stages.totals)
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
    http._raiseSynchronously = True  # a port in use refuses the start, with its setting
    http.setName("http")
    http.setServiceParent(top)
    _AnnounceURLs(http, config.server.listen).setServiceParent(top)
    if config.server.admin_token is None:  # kept in the state directory once started
        _KeepAdminToken(site.admin_token, config.state.directory).setServiceParent(top)

    notifier = SystemdNotifier(reactor)
    notifier.setName("systemd")
    notifier.setServiceParent(top)
    return top


def render_processes(config: Config, platform: str = sys.platform) -> Any:
    """The render processes ``[server] render_processes`` asks for, or None. By default
    one, where the daemon may use two cores or more; none on Windows, whose pipes the
    printer threads cannot wait on with a deadline."""
    from ticketd.jobs.render_processes import RenderProcesses

    count = config.server.render_processes
    if platform == "win32":
        if count:
            Logger().warn("[server] render_processes = {n}: not on Windows; the printers' "
                          "threads render", n=count)
        return None
    if count is None:
        count = 1 if _cores() >= 2 else 0
    return RenderProcesses(count) if count else None


def _cores() -> int:
    """The cores this process may run on (its affinity, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class _RenderProcesses(service.Service):
    """The render processes as a child of the top service (see :meth:`Daemon.stopService`
    for when they end)."""

    name = "render"

    def __init__(self, processes: Any) -> None:
        self.processes = processes

    def startService(self) -> None:  # noqa: N802
        super().startService()
        self.processes.start()

    def stopService(self) -> Any:  # noqa: N802
        self.processes.stop()
        return super().stopService()


class _AnnounceURLs(service.Service):
    """One start-up line naming the dashboard's and the WebSocket's URLs, with the port
    actually bound (``--http-port 0`` too), once the port listens."""

    name = "announce"
    log = Logger()

    def __init__(self, http: Any, listen: str) -> None:
        self.http, self.listen = http, listen

    def startService(self) -> None:  # noqa: N802
        super().startService()
        # The endpoint service's port, bound by now (privilegedStartService): its only
        # handle on the listening port.
        self.http._waitingForPort.addCallback(self._announce)

    def _announce(self, port: Any) -> Any:
        from ticketd.web.hosts import local_urls
        dashboard, websocket = local_urls(self.listen, port.getHost().port)
        self.log.info("dashboard at {dashboard}, WebSocket at {websocket}",
                      dashboard=dashboard, websocket=websocket)
        return port


class _KeepAdminToken(service.Service):
    """Writes the dashboard's admin token into the state directory at start (after the
    job manager took the state directory's lock: nothing is created before twistd has
    daemonized and dropped privileges), so that a restart keeps it."""

    name = "admin-token"

    def __init__(self, token: str, directory: Any) -> None:
        self.token, self.directory = token, directory

    def startService(self) -> None:  # noqa: N802
        super().startService()
        from ticketd.web.access import keep_admin_token
        keep_admin_token(self.token, self.directory)


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
