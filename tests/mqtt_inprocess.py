"""The daemon in this process (``tap.build`` on trial's real reactor) against a real broker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from twisted.internet import reactor, task
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from ticketd.config import parse
from ticketd.tap import build
from tests.broker import MosquittoBroker, daemon_toml


class InProcessCase(TestCase):
    timeout = 60

    def setUp(self) -> None:
        self.dir = Path(self.mktemp()).resolve()
        self.state = self.dir / "state"
        self.logged: list[str] = []

        def observe(event: dict[str, Any]) -> None:
            from twisted.logger import formatEvent
            try:
                self.logged.append(formatEvent(event))
            except Exception:
                pass
        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)

    def broker(self, **kw: Any) -> MosquittoBroker:
        b = MosquittoBroker(self.dir / f"broker{len(self.logged)}", **kw).start()
        self.addCleanup(b.stop)
        return b

    def start_daemon(self, broker: MosquittoBroker, prefixes: dict[str, str],
                     **mqtt: Any) -> Any:
        text = daemon_toml(broker, self.state, prefixes, **mqtt)
        self.top = build(parse(text, str(self.dir / "ticketd.toml")), reactor)
        self.top.startService()
        self.addCleanup(lambda: self.top.running and self.top.stopService())
        return self.top.getServiceNamed("mqtt")

    def start_network(self, broker: MosquittoBroker, name: str, prefix: str, port: int,
                      extra: str = "") -> Any:
        """The daemon with one network printer at loopback ``port`` on ``broker``; its
        job manager."""
        text = (f'[server]\nport = 0\n[state]\ndirectory = "{self.state}"\n'
                f'[printers.{name}]\nconnection = "network"\nhost = "127.0.0.1"\n'
                f'port = {port}\nprefix = "{prefix}"\n{extra}' + broker.mqtt_toml())
        self.top = build(parse(text, str(self.dir / "ticketd.toml")), reactor)
        self.top.startService()
        self.addCleanup(lambda: self.top.running and self.top.stopService())
        return self.top.getServiceNamed("jobs")

    def log_text(self) -> str:
        return "\n".join(self.logged)

    async def until(self, check: Callable[[], Any], timeout: float, what: str) -> float:
        t0 = time.monotonic()
        while not check():
            if time.monotonic() - t0 > timeout:
                self.fail(f"{what}: not within {timeout} s\n" + self.log_text()[-3000:])
            await task.deferLater(reactor, 0.02, lambda: None)
        return time.monotonic() - t0

    async def sleep(self, seconds: float) -> None:
        await task.deferLater(reactor, seconds, lambda: None)
