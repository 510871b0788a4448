"""A USB printer driven with pyusb directly (bulk-out for bytes, bulk-in for status).

python-escpos' ``Usb`` printer is not used: it imports escpos (logging side effects), resets
the device on open and cannot read DLE EOT replies. What it does that matters is kept here:
detach the usblp kernel driver from the interface, select the configuration, claim the
interface. pyusb is imported only when a USB printer is opened.
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


def _pyusb() -> Any:
    try:
        import usb.core  # noqa: PLC0415 - optional, imported on first use
        import usb.util  # noqa: PLC0415
    except ImportError:
        raise PrinterIOError("USB printers need pyusb: pip install pyusb") from None
    return usb


class UsbConnection:
    """:class:`~ticketd.printers.connection.PrinterConnection` over pyusb.

    ``find`` (``usb.core.find`` by default) is injectable so that tests can hand in a fake
    device with ``write(ep, data, timeout)`` and ``read(ep, size, timeout)``.
    """

    log = Logger()

    def __init__(self, vendor_id: int, product_id: int, *, interface: int = 0,
                 in_ep: int = 0x82, out_ep: int = 0x01, write_timeout: float = 10.0,
                 status_timeout: float = 1.0, find: Callable[..., Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.interface = interface
        self.in_ep = in_ep
        self.out_ep = out_ep
        self.write_timeout = write_timeout
        self.status_timeout = status_timeout
        self._find = find
        self._clock = clock
        self._dev: Any = None
        self._aborted = threading.Event()

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "UsbConnection":
        if config.vendor_id is None or config.product_id is None:
            raise PrinterIOError(f"printer {config.name}: vendor_id and product_id are needed")
        return cls(config.vendor_id, config.product_id, interface=config.interface,
                   in_ep=config.in_ep, out_ep=config.out_ep,
                   write_timeout=config.write_timeout, status_timeout=config.status_timeout)

    @property
    def ident(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"

    def __repr__(self) -> str:
        return f"<UsbConnection {self.ident}>"

    # --- PrinterConnection ------------------------------------------------------------

    def open(self) -> None:
        if self._dev is not None:
            return
        self._aborted.clear()
        usb = None
        find = self._find
        if find is None:
            usb = _pyusb()
            find = usb.core.find
        try:
            dev = find(idVendor=self.vendor_id, idProduct=self.product_id)
        except Exception as e:  # NoBackendError, USBError
            if type(e).__name__ == "NoBackendError":
                raise PrinterIOError(f"USB printer {self.ident}: no libusb backend found "
                                     "(install libusb-1.0)") from None
            raise PrinterIOError(f"USB printer {self.ident}: {e}") from None
        if dev is None:
            raise PrinterIOError(f"USB printer {self.ident} not found (is it plugged in "
                                 "and switched on?)")
        try:
            self._claim(dev, usb)
        except Exception as e:  # noqa: BLE001 - USBError: access denied, busy
            raise PrinterIOError(f"cannot use USB printer {self.ident}: {e} (permissions? "
                                 "a udev rule must give ticketd access)") from None
        self._dev = dev

    def _claim(self, dev: Any, usb: Any) -> None:
        if hasattr(dev, "is_kernel_driver_active"):
            try:
                if dev.is_kernel_driver_active(self.interface):
                    dev.detach_kernel_driver(self.interface)
            except NotImplementedError:  # not on every platform
                pass
        if hasattr(dev, "get_active_configuration"):
            try:
                dev.get_active_configuration()
            except Exception:  # noqa: BLE001 - not configured yet
                dev.set_configuration()
        if usb is not None:
            usb.util.claim_interface(dev, self.interface)

    def write(self, data: bytes, job_id: str | None = None) -> None:
        self.open()
        dev = self._dev
        deadline = self._clock() + self.write_timeout
        view = memoryview(data)
        try:
            while view:
                if self._aborted.is_set():
                    raise PrinterIOError(f"USB printer {self.ident}: aborted")
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise WriteTimeout(f"USB printer {self.ident} did not take the job within "
                                       f"{self.write_timeout:g} s")
                chunk = view[:16384]
                n = dev.write(self.out_ep, bytes(chunk), max(1, int(remaining * 1000)))
                view = view[n:]
        except PrinterIOError:
            self.close()
            raise
        except Exception as e:
            self.close()
            if type(e).__name__ == "USBTimeoutError":
                raise WriteTimeout(f"USB printer {self.ident} did not take the job within "
                                   f"{self.write_timeout:g} s") from None
            raise PrinterIOError(f"writing to USB printer {self.ident} failed: {e}") from None

    def query_status(self) -> PrinterStatus:
        try:
            self.open()
        except PrinterIOError as e:
            return status.not_connected(str(e))
        dev = self._dev
        ms = max(1, int(self.status_timeout * 1000))

        def send(data: bytes) -> None:
            dev.write(self.out_ep, data, ms)

        def recv(timeout: float) -> bytes:
            try:
                return bytes(dev.read(self.in_ep, 64, max(1, int(timeout * 1000))))
            except Exception as e:
                if type(e).__name__ == "USBTimeoutError":
                    return b""
                raise

        try:
            return _query.exchange(send, recv, self.status_timeout, self._clock)
        except Exception as e:  # noqa: BLE001 - USBError and friends: the device is gone
            self.close()
            return status.not_connected(f"USB printer {self.ident}: {e}")

    def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is None:
            return
        try:
            usb = _pyusb() if self._find is None else None
            if usb is not None:
                usb.util.release_interface(dev, self.interface)
                usb.util.dispose_resources(dev)
        except Exception:  # noqa: BLE001 - close never raises
            pass

    def abort(self) -> None:
        """libusb calls cannot be interrupted from another thread; a blocked transfer ends
        at its own timeout (always set), and no further chunk is written after this."""
        self._aborted.set()
