"""Shared by the WebSocket end-to-end tests: the real daemon (subprocess), an emulated
network printer in the test's reactor, and a connected ticketd.client."""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet import task
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.trial.unittest import TestCase

from ticketd.client import TicketClient, connect
from ticketd.emulator import tcp
from ticketd.emulator.live import LiveEmulator
from ticketd.emulator.mechanism import PrintSettings
from tests.daemon import DaemonProcess
from tests.documents_support import examples  # noqa: F401  (re-exported)

TIMEOUT = 20.0

PRINTERS = """
[printers.receipt]
connection = "network"
host = "127.0.0.1"
port = $emulator
default = true
aliases = ["58mm PT-210", "POS 203DPI"]
status_interval = 0.3
status_timeout = 1.0
queue_capacity = 5

[printers.virt]
connection = "virtual"
aliases = ["virtual"]
"""


def doc(*texts: str, model: str = "58mm PT-210") -> dict[str, Any]:
    return {"version": "1.0", "profile": {"model": model, "paper_width": 58},
            "commands": [{"type": "text", "data": {"content": {"text": t}}} for t in texts]
            + [{"type": "cut", "data": {"mode": "partial"}}]}


class DaemonTestCase(TestCase):
    """Per test: an emulator, the daemon configured with ``printers`` + ``server``, a client."""

    timeout = 60
    printers = PRINTERS
    server = ""
    mechanism: PrintSettings | None = None  # how the emulator prints (default: instantly)

    def setUp(self) -> Deferred[None]:
        from twisted.internet import reactor
        self.reactor = reactor
        self.emulator, port = tcp.listen(self.reactor,
                                         emulator=LiveEmulator(self.mechanism))
        self.addCleanup(self.emulator.stop)
        self.addCleanup(port.stopListening)
        self.daemon = DaemonProcess(self.mktemp())
        self.addCleanup(self.daemon.stop_async, self.reactor)
        text = self.printers.replace("$emulator", str(port.getHost().port))
        if self.server:
            text = f'[server]\nlisten = "127.0.0.1"\nport = $port\n{self.server}\n' + text
        return ensureDeferred(self._start(text))

    async def _start(self, text: str) -> None:
        await self.daemon.start_async(self.reactor, text)
        if self.connect_client:
            self.client = await self.connect()

    connect_client = True

    async def connect(self, **kw: Any) -> TicketClient:
        client = await connect(self.reactor, self.daemon.ws_url, **kw)
        self.addCleanup(client.close)
        return client

    def within(self, d: Deferred[Any], seconds: float = TIMEOUT) -> Deferred[Any]:
        return d.addTimeout(seconds, self.reactor)

    async def until(self, check: Callable[[], Any], seconds: float = TIMEOUT) -> Any:
        """Poll ``check`` (an async or plain callable) until it returns something truthy."""
        for _ in range(int(seconds / 0.05)):
            value = check()
            if isinstance(value, Deferred) or hasattr(value, "__await__"):
                value = await value
            if value:
                return value
            await task.deferLater(self.reactor, 0.05, lambda: None)
        self.fail(f"timed out after {seconds:g} s")

    def sleep(self, seconds: float) -> Deferred[None]:
        return task.deferLater(self.reactor, seconds, lambda: None)
