"""The MQTT client service: one broker connection per printer prefix, each with its own
last will (MQTT allows one will per connection, and each prefix needs its own Offline).

Connects run in a small pool of daemon threads (DNS, TCP and TLS handshakes block), given
by ``tap.py`` with the TLS context; everything else happens on the reactor. Stopping publishes Offline on every prefix first, then
disconnects; it is started after the printer queues so that it stops before them.
"""

from __future__ import annotations

import ssl
from typing import Any, Callable, Protocol

from twisted.application import service
from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import Logger

from ticketd.config import Config
from ticketd.jobs.service import PrintService
from ticketd.mqtt import messages
from ticketd.mqtt.bridge import PrinterBridge
from ticketd.mqtt.link import MqttLink


class Threads(Protocol):
    """What the service starts and stops with itself: the connects' thread pool."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class MqttService(service.Service):
    log = Logger()
    name = "mqtt"

    def __init__(self, config: Config, printing: PrintService, reactor: Any, *,
                 run: Callable[..., Deferred], threads: Threads | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 random: Callable[[], float] | None = None) -> None:
        """``run``: blocking connects (DNS, TCP, TLS) in ``threads``, which this service
        starts and stops; ``ssl_context``: required when ``[mqtt] tls`` is on."""
        assert config.mqtt is not None
        self.config = config
        self.mqtt = config.mqtt
        self.printing = printing
        self.reactor = reactor
        self._threads = threads
        self.run = run
        self.random = random
        self.bridges: dict[str, PrinterBridge] = {}
        self.links: dict[str, MqttLink] = {}
        self._unsubscribe: Callable[[], None] | None = None
        prefixes: dict[str, str] = {}
        for p in config.printers:
            prefix = (p.name if p.prefix is None else p.prefix).rstrip("/")
            if prefix in prefixes:
                raise ValueError(f"printers.{p.name}.prefix: MQTT prefix {prefix!r} is already "
                                 f"used by printers.{prefixes[prefix]}")
            prefixes[prefix] = p.name
            bridge = PrinterBridge(printer=p.name, prefix=prefix, service=printing,
                                   clock=reactor, max_payload=self.mqtt.max_payload,
                                   hold=p.mqtt_hold)
            link = MqttLink(config=self.mqtt, client_id=self.client_id(p.name),
                            will_topic=bridge.status_topic, will_payload=messages.offline(),
                            handler=bridge, reactor=reactor, run=run, random=random,
                            ssl_context=ssl_context)
            bridge.link = link
            self.bridges[p.name] = bridge
            self.links[p.name] = link

    def client_id(self, printer: str) -> str:
        """``<client_id>-<printer>``, so that each prefix has its own connection and will;
        ``client_id`` as given when the config says so (one printer, as the original
        server connected)."""
        m = self.mqtt
        return m.client_id if m.client_id_as_given else f"{m.client_id}-{printer}"

    def startService(self) -> None:
        super().startService()
        if self._threads is not None:
            self._threads.start()
        self._unsubscribe = self.printing.subscribe(self._event)
        m = self.mqtt
        self.log.info("mqtt: {n} connection(s) to {host}:{port} (MQTT {protocol}, TLS {tls})",
                      n=len(self.links), host=m.hostname, port=m.port, protocol=m.protocol,
                      tls="off" if not m.tls else "insecure" if m.tls_insecure else "on")
        for link in self.links.values():
            link.start()

    def stopService(self) -> Deferred[None]:
        super().stopService()
        d = gatherResults([link.stop() for link in self.links.values()], consumeErrors=True)

        def done(_: object) -> None:
            if self._unsubscribe is not None:
                self._unsubscribe()
            if self._threads is not None:
                self._threads.stop()
        return d.addBoth(done)

    def _event(self, event: Any) -> None:
        name = getattr(event, "printer", None)  # a PrinterEvent's, else its job's
        if not isinstance(name, str):
            name = getattr(getattr(event, "job", None), "printer", None)
        bridge = self.bridges.get(name) if name else None
        if bridge is not None:
            bridge.event(event)

    def state(self) -> dict[str, Any]:
        """For /health: each prefix's connection state."""
        return {name: {"prefix": self.bridges[name].prefix, "state": link.state,
                       "connects": link.connects, "error": link.last_error}
                for name, link in self.links.items()}
