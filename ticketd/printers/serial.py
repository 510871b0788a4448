"""A printer on a serial line (RS-232 or a USB-serial adapter) through pyserial.

pyserial is imported only when a serial printer is opened, so that installs without it
still run network and virtual printers.
"""

from __future__ import annotations

import os

from typing import Any, Callable

import attrs

from ticketd.config import PrinterConfig
from ticketd.printers import status_exchange
from ticketd.printers.connection import (PrinterIOError, WriteTimeout, connection_class,
                                        required, timeouts)
from ticketd.printers.status import PrinterStatus
from ticketd.printers.stream import StreamConnection

FLOW_CONTROLS = ("none", "rtscts", "dsrdtr", "xonxoff")


def _pyserial() -> Any:
    try:
        import serial  # noqa: PLC0415 - heavy/optional, imported on first use
    except ImportError:
        raise PrinterIOError("serial printers need pyserial: pip install pyserial") from None
    return serial


@connection_class
class SerialConnection(StreamConnection[Any]):
    """:class:`~ticketd.printers.connection.PrinterConnection` on a serial port.

    ``flow_control`` matters: a printer whose buffer fills signals it with RTS/CTS, DSR/DTR or
    XOFF; ignoring it loses bytes in the middle of an image.
    """

    label_prefix = "serial printer"
    io_errors = (OSError, ValueError, TypeError)  # SerialException is an OSError

    device: str = attrs.field(kw_only=False)
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    flow_control: str = attrs.field(default="none")
    _serial_factory: Callable[..., Any] | None = None

    @flow_control.validator
    def _known_flow_control(self, _: object, value: str) -> None:
        if value not in FLOW_CONTROLS:
            raise ValueError(f"unknown flow control {value!r}")

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "SerialConnection":
        return cls(required(config, config.device, "no device configured"),
                   baudrate=config.baudrate, bytesize=config.bytesize, parity=config.parity,
                   stopbits=config.stopbits, flow_control=config.flow_control,
                   **timeouts(config))

    @property
    def target(self) -> str:
        return self.device

    # --- the port -------------------------------------------------------------------

    def _connect(self) -> Any:
        factory = self._serial_factory
        if factory is None:
            factory = _pyserial().Serial
        try:
            return factory(
                port=self.device, baudrate=self.baudrate, bytesize=self.bytesize,
                parity=self.parity, stopbits=self.stopbits,
                xonxoff=self.flow_control == "xonxoff",
                rtscts=self.flow_control == "rtscts",
                dsrdtr=self.flow_control == "dsrdtr",
                timeout=self.status_timeout, write_timeout=self.write_timeout)
        except (OSError, ValueError) as e:
            raise PrinterIOError(f"cannot open serial printer {self.device}: "
                                 f"{_open_error(e)}") from None

    def _release(self, port: Any) -> None:
        port.close()

    def _interrupt(self, port: Any) -> None:
        """pyserial's cancel_write/cancel_read wake the blocked call on POSIX."""
        for name in ("cancel_write", "cancel_read"):
            method = getattr(port, name, None)
            if method is not None:
                try:
                    method()
                except Exception:  # noqa: BLE001
                    pass

    def _put(self, port: Any, data: memoryview, remaining: float) -> int:
        """All of it in one call: pyserial keeps to ``write_timeout`` itself."""
        port.write_timeout = self.write_timeout
        written = port.write(data)
        port.flush()
        if written is not None and written < len(data):
            raise WriteTimeout(f"serial printer {self.device} took {written} of "
                               f"{len(data)} bytes (aborted or timed out)")
        return len(data)

    def _is_timeout(self, e: Exception) -> bool:
        return type(e).__name__ == "SerialTimeoutException"

    def _reason(self, e: Exception) -> str:
        return str(e)

    def _exchange(self, port: Any) -> PrinterStatus:
        def send(data: bytes) -> None:
            port.write_timeout = self.status_timeout
            port.write(data)
            port.flush()

        def recv(timeout: float) -> bytes:
            port.timeout = timeout
            return port.read(1)

        port.reset_input_buffer()
        return status_exchange.exchange(send, recv, self.status_timeout, self._clock)


def _open_error(e: Exception) -> str:
    """pyserial's "[Errno 2] could not open port X: [Errno 2] No such file ..." as the
    system's words for the errno ("No such file or directory"): the device is named once,
    by the caller."""
    code = getattr(e, "errno", None)
    return os.strerror(code) if isinstance(code, int) and code > 0 else str(e)
