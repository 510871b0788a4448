"""systemd's notify protocol: READY, STOPPING and a watchdog fed from a reactor timer.

The watchdog ping comes from the reactor itself, so if the reactor hangs the pings stop and
systemd restarts the daemon (``WatchdogSec=`` in etc/ticketd.service). Without
``NOTIFY_SOCKET`` (not under systemd) the service does nothing.
"""

from __future__ import annotations

import os
import socket
from typing import Mapping

from twisted.application import service
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ticketd.periodic import Periodic


class SystemdNotifier(service.Service):
    log = Logger()
    name = "systemd"

    def __init__(self, clock: IReactorTime, environ: Mapping[str, str] = os.environ) -> None:
        self.clock = clock
        self.address = environ.get("NOTIFY_SOCKET")
        usec = environ.get("WATCHDOG_USEC")
        self.interval = int(usec) / 2e6 if usec and usec.isdigit() else None
        self._loop: Periodic | None = None

    def notify(self, message: str) -> None:
        if not self.address:
            return
        address = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            try:
                s.sendto(message.encode(), address)
            except OSError as e:
                self.log.warn("systemd notify failed: {error}", error=e)

    def startService(self) -> None:
        super().startService()
        self.notify("READY=1")
        if self.address and self.interval:
            self._loop = Periodic(self.clock, self.interval, self.notify, "WATCHDOG=1",
                                  log=self.log, name="systemd watchdog")
            self._loop.start(now=True)

    def stopService(self) -> None:
        super().stopService()
        if self._loop is not None:
            self._loop.stop()
        self.notify("STOPPING=1")
