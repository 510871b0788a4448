"""A printer on a serial line (RS-232 or a USB-serial adapter) through pyserial.

pyserial is imported only when a serial printer is opened, so that installs without it
still run network and virtual printers.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from twisted.logger import Logger

from ticketd.config import PrinterConfig
from ticketd.printers import _query, status
from ticketd.printers.connection import PrinterIOError, WriteTimeout
from ticketd.printers.status import PrinterStatus


def _pyserial() -> Any:
    try:
        import serial  # noqa: PLC0415 - heavy/optional, imported on first use
    except ImportError:
        raise PrinterIOError("serial printers need pyserial: pip install pyserial") from None
    return serial


class SerialConnection:
    """:class:`~ticketd.printers.connection.PrinterConnection` on a serial port.

    ``flow_control`` matters: a printer whose buffer fills signals it with RTS/CTS, DSR/DTR or
    XOFF; ignoring it loses bytes in the middle of an image.
    """

    log = Logger()

    def __init__(self, device: str, *, baudrate: int = 9600, bytesize: int = 8,
                 parity: str = "N", stopbits: float = 1, flow_control: str = "none",
                 write_timeout: float = 10.0, status_timeout: float = 1.0,
                 serial_factory: Callable[..., Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if flow_control not in ("none", "rtscts", "dsrdtr", "xonxoff"):
            raise ValueError(f"unknown flow control {flow_control!r}")
        self.device = device
        self.baudrate = baudrate
        self.bytesize = bytesize
        self.parity = parity
        self.stopbits = stopbits
        self.flow_control = flow_control
        self.write_timeout = write_timeout
        self.status_timeout = status_timeout
        self._factory = serial_factory
        self._clock = clock
        self._port: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "SerialConnection":
        if not config.device:
            raise PrinterIOError(f"printer {config.name}: no device configured")
        return cls(config.device, baudrate=config.baudrate, bytesize=config.bytesize,
                   parity=config.parity, stopbits=config.stopbits,
                   flow_control=config.flow_control, write_timeout=config.write_timeout,
                   status_timeout=config.status_timeout)

    def __repr__(self) -> str:
        return f"<SerialConnection {self.device}>"

    # --- PrinterConnection ------------------------------------------------------------

    def open(self) -> None:
        if self._port is not None:
            return
        factory = self._factory
        if factory is None:
            factory = _pyserial().Serial
        try:
            port = factory(
                port=self.device, baudrate=self.baudrate, bytesize=self.bytesize,
                parity=self.parity, stopbits=self.stopbits,
                xonxoff=self.flow_control == "xonxoff",
                rtscts=self.flow_control == "rtscts",
                dsrdtr=self.flow_control == "dsrdtr",
                timeout=self.status_timeout, write_timeout=self.write_timeout)
        except (OSError, ValueError) as e:  # SerialException is an OSError
            raise PrinterIOError(f"cannot open serial printer {self.device}: {e}") from None
        with self._lock:
            self._port = port

    def write(self, data: bytes, job_id: str | None = None) -> None:
        self.open()
        port = self._port
        try:
            port.write_timeout = self.write_timeout
            written = port.write(data)
            port.flush()
        except Exception as e:
            self.close()
            if type(e).__name__ == "SerialTimeoutException":
                raise WriteTimeout(f"serial printer {self.device} did not take the job "
                                   f"within {self.write_timeout:g} s") from None
            if isinstance(e, (OSError, ValueError, TypeError)):
                raise PrinterIOError(f"writing to serial printer {self.device} failed: "
                                     f"{e}") from None
            raise
        if written is not None and written < len(data):
            self.close()
            raise WriteTimeout(f"serial printer {self.device} took {written} of "
                               f"{len(data)} bytes (aborted or timed out)")

    def query_status(self) -> PrinterStatus:
        try:
            self.open()
        except PrinterIOError as e:
            return status.not_connected(str(e))
        port = self._port

        def send(data: bytes) -> None:
            port.write_timeout = self.status_timeout
            port.write(data)
            port.flush()

        def recv(timeout: float) -> bytes:
            port.timeout = timeout
            return port.read(1)

        try:
            port.reset_input_buffer()
            return _query.exchange(send, recv, self.status_timeout, self._clock)
        except Exception as e:
            if not isinstance(e, (OSError, ValueError, TypeError)):
                raise
            self.close()
            return status.not_connected(f"serial printer {self.device}: {e}")

    def close(self) -> None:
        with self._lock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001 - close never raises
                pass

    def abort(self) -> None:
        """pyserial's cancel_write/cancel_read wake the blocked call on POSIX."""
        with self._lock:
            port = self._port
        if port is None:
            return
        for name in ("cancel_write", "cancel_read"):
            method = getattr(port, name, None)
            if method is not None:
                try:
                    method()
                except Exception:  # noqa: BLE001
                    pass
