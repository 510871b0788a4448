"""A USB printer driven with pyusb directly (bulk-out for bytes, bulk-in for status).

python-escpos' ``Usb`` printer is not used: it imports escpos (logging side effects), resets
the device on open and cannot read DLE EOT replies. What it does that matters is kept here:
detach the usblp kernel driver from the interface, select the configuration, claim the
interface. pyusb is imported only when a USB printer is opened.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import attrs

from ticketd.config import PrinterConfig
from ticketd.printers import status_exchange
from ticketd.printers.connection import PrinterIOError, connection_class, timeouts
from ticketd.printers.status import PrinterStatus
from ticketd.printers.stream import StreamConnection

CHUNK = 16384  # bytes per bulk-out transfer


def _pyusb() -> Any:
    try:
        import usb.core  # noqa: PLC0415 - optional, imported on first use
        import usb.util  # noqa: PLC0415
    except ImportError:
        raise PrinterIOError("USB printers need pyusb: pip install pyusb") from None
    return usb


def _is_usb_timeout(e: Exception) -> bool:
    return type(e).__name__ == "USBTimeoutError"


@connection_class
class UsbConnection(StreamConnection[Any]):
    """:class:`~ticketd.printers.connection.PrinterConnection` over pyusb.

    ``find`` (``usb.core.find`` by default) is injectable so that tests can hand in a fake
    device with ``write(ep, data, timeout)`` and ``read(ep, size, timeout)``.
    """

    label_prefix = "USB printer"
    io_errors = (Exception,)  # USBError and friends: the device is gone

    vendor_id: int = attrs.field(kw_only=False)
    product_id: int = attrs.field(kw_only=False)
    interface: int = 0
    in_ep: int = 0x82
    out_ep: int = 0x01
    _find: Callable[..., Any] | None = None
    _aborted: threading.Event = attrs.field(factory=threading.Event, init=False)

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "UsbConnection":
        if config.vendor_id is None or config.product_id is None:
            raise PrinterIOError(f"printer {config.name}: vendor_id and product_id are needed")
        return cls(config.vendor_id, config.product_id, interface=config.interface,
                   in_ep=config.in_ep, out_ep=config.out_ep, **timeouts(config))

    @property
    def ident(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"

    target = ident

    def abort(self) -> None:
        """libusb calls cannot be interrupted from another thread; a blocked transfer ends
        at its own timeout (always set), and no further chunk is written after this."""
        self._aborted.set()

    # --- the device -----------------------------------------------------------------

    def _connect(self) -> Any:
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
        return dev

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

    def _release(self, dev: Any) -> None:
        usb = _pyusb() if self._find is None else None
        if usb is not None:
            usb.util.release_interface(dev, self.interface)
            usb.util.dispose_resources(dev)

    def _live_link(self) -> Any:
        if self._aborted.is_set():
            raise PrinterIOError(f"USB printer {self.ident}: aborted")
        return super()._live_link()

    def _put(self, dev: Any, data: memoryview, remaining: float) -> int:
        n: int = dev.write(self.out_ep, bytes(data[:CHUNK]), max(1, int(remaining * 1000)))
        return n

    def _is_timeout(self, e: Exception) -> bool:
        return _is_usb_timeout(e)

    def _reason(self, e: Exception) -> str:
        return str(e)

    def _exchange(self, dev: Any) -> PrinterStatus:
        ms = max(1, int(self.status_timeout * 1000))

        def send(data: bytes) -> None:
            dev.write(self.out_ep, data, ms)

        def recv(timeout: float) -> bytes:
            try:
                return bytes(dev.read(self.in_ep, 64, max(1, int(timeout * 1000))))
            except Exception as e:
                if _is_usb_timeout(e):
                    return b""
                raise

        return status_exchange.exchange(send, recv, self.status_timeout, self._clock)
