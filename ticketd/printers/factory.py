"""Choose the connection adapter for a printer's ``connection`` type.

Adapters are imported by name on first use, so pyusb/pyserial are loaded only by a daemon
that has such a printer, and a missing optional library fails that one printer clearly.
"""

from __future__ import annotations

import importlib

from ticketd.config import PrinterConfig
from ticketd.printers.connection import PrinterConnection

ADAPTERS: dict[str, tuple[str, str]] = {
    "network": ("ticketd.printers.network", "NetworkConnection"),
    "serial": ("ticketd.printers.serial", "SerialConnection"),
    "usb": ("ticketd.printers.usb", "UsbConnection"),
    "file": ("ticketd.printers.device", "DeviceConnection"),
    "cups": ("ticketd.printers.cups", "CupsConnection"),
    "win32": ("ticketd.printers.win32", "Win32Connection"),
    "virtual": ("ticketd.printers.virtual", "VirtualConnection"),
}


def connect(config: PrinterConfig) -> PrinterConnection:
    """A new, not yet opened connection for ``config`` (nothing touches the device here,
    except for missing required settings, which raise PrinterIOError)."""
    try:
        module_name, class_name = ADAPTERS[config.connection]
    except KeyError:
        raise ValueError(f"printer {config.name}: unknown connection type "
                         f"{config.connection!r}") from None
    cls = getattr(importlib.import_module(module_name), class_name)
    connection: PrinterConnection = cls.from_config(config)
    if not config.status_query:
        from ticketd.printers.nostatus import WithoutStatus
        connection = WithoutStatus(connection)
    return connection
