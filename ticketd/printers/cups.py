"""A CUPS queue used raw: ticketd renders ESC/POS itself and CUPS only moves the bytes.

Uses the ``lp``/``lpstat`` commands (from cups-client) rather than pycups so that nothing
needs compiling; CUPS cannot report paper or cover state, so status is only what
``lpstat -p`` knows: enabled (Ready), disabled (Offline), or unknown queue (not connected).
"""

from __future__ import annotations

import subprocess
from typing import Any, Callable

import attrs
from twisted.logger import Logger

from ticketd.config import PrinterConfig
from ticketd.printers import status
from ticketd.printers.connection import (PrinterIOError, SpooledConnection, WriteTimeout,
                                        connection_class, required, timeouts)
from ticketd.printers.status import PrinterStatus

Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


@connection_class
class CupsConnection(SpooledConnection):
    """:class:`~ticketd.printers.connection.PrinterConnection` to a CUPS raw queue."""

    log = Logger()

    queue: str = attrs.field(kw_only=False)
    write_timeout: float = 10.0
    status_timeout: float = 1.0
    lp: str = "lp"
    lpstat: str = "lpstat"
    _run: Runner = subprocess.run

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "CupsConnection":
        return cls(required(config, config.queue, "no CUPS queue configured"),
                   **timeouts(config))

    def __repr__(self) -> str:
        return f"<CupsConnection {self.queue}>"

    def _call(self, argv: list[str], timeout: float, data: bytes | None = None) -> Any:
        try:
            return self._run(argv, input=data, capture_output=True, timeout=timeout,
                             check=False)
        except FileNotFoundError:
            raise PrinterIOError(f"cannot use CUPS queue {self.queue}: the {argv[0]!r} "
                                 "command is not installed (install cups-client)") from None

    def write(self, data: bytes, job_id: str | None = None) -> None:
        argv = [self.lp, "-d", self.queue, "-o", "raw"]
        if job_id:
            argv += ["-t", job_id[:200]]
        try:
            result = self._call(argv, self.write_timeout, data)
        except subprocess.TimeoutExpired:
            raise WriteTimeout(f"CUPS queue {self.queue}: lp did not finish within "
                               f"{self.write_timeout:g} s") from None
        if result.returncode != 0:
            msg = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.returncode}"
            raise PrinterIOError(f"CUPS queue {self.queue} refused the job: {msg}")

    def query_status(self) -> PrinterStatus:
        try:
            result = self._call([self.lpstat, "-p", self.queue], max(self.status_timeout, 2.0))
        except PrinterIOError as e:
            return status.not_connected(str(e))
        except subprocess.TimeoutExpired:
            return status.no_response(f"CUPS queue {self.queue}: lpstat did not answer")
        return parse_lpstat(self.queue, result.returncode,
                            result.stdout.decode("utf-8", "replace"),
                            result.stderr.decode("utf-8", "replace"))


def parse_lpstat(queue: str, returncode: int, out: str, err: str) -> PrinterStatus:
    """``printer Q is idle.  enabled since ...`` / ``printer Q disabled since ...``."""
    if returncode != 0 or not out.strip():
        return status.not_connected(f"CUPS queue {queue}: {err.strip() or 'unknown queue'}")
    first = out.strip().splitlines()[0].lower()
    if " disabled" in first:
        return status.PrinterStatus(online=False, detail=out.strip())
    return status.READY
