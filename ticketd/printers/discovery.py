"""Printer discovery: the configured printers with live status, plus receipt printers that
are plugged in or installed but not configured (Linux: USB, ``/dev/usb/lp*``, serial ports,
CUPS queues), in Ticket Daemon's ``printers`` shape (``get_printers``, docs/protocol.rst).

The scanners block (USB descriptors, ``lpstat``), so :class:`Discovery` runs them through an
injected thread runner and caches what they found for 30 s on an injected clock; the
configured printers' status is read fresh each time through an injected callable (it is in
memory). Everything else here is plain functions of plain data, tested without hardware.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from typing import Any, Callable, Iterable

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from ticketd.config import PrinterConfig
from ticketd.printers.status import UNKNOWN_YET, PrinterStatus

Entry = dict[str, Any]
Configured = Iterable[tuple[PrinterConfig, PrinterStatus]]
Runner = Callable[..., Deferred]
CACHE_SECONDS = 30.0

#: USB vendors that make (almost only) receipt printers.
RECEIPT_VENDORS: dict[int, str] = {
    0x04B8: "Epson", 0x0519: "Star", 0x1504: "Bixolon", 0x1D90: "Citizen", 0x2730: "Citizen",
    0x0DD4: "Custom", 0x0416: "Winbond (Xprinter)", 0x0483: "STM (generic POS)",
    0x1FC9: "NXP (generic POS)", 0x6868: "Generic POS", 0x154F: "SNBC", 0x0FE6: "ICS (POS)",
    0x20D1: "Rongta", 0x28E9: "GD32 (generic POS)", 0x0525: "Netchip (generic POS)",
}
USB_PRINTER_CLASS = 0x07
_VIRTUAL_WORDS = re.compile(r"pdf|xps|onenote|fax|file:|virtual|cups-pdf", re.I)
_THERMAL_WORDS = re.compile(r"thermal|receipt|ticket|\bpos\b|pos-?\d|tm-|tsp|srp-|ct-s|"
                            r"xprinter|xp-|58 ?mm|80 ?mm|escpos|esc/pos", re.I)
_NETWORK_URI = re.compile(r"^(socket|ipp|ipps|http|https|lpd|dnssd)://", re.I)


# --- configured printers -------------------------------------------------------------------

def state_word(status: PrinterStatus) -> str:
    """Ticket Daemon's ``ready|offline|paused|error|unknown`` for a PrinterStatus."""
    if status == UNKNOWN_YET:
        return "unknown"
    if status.ok:
        return "ready"
    if status.not_connected or status.no_response or (not status.online and not (
            status.paper_out or status.cover_open or status.feeding or status.error)):
        return "offline"
    if status.error:
        return "error"
    return "paused"  # paper out, cover open, feeding: jobs wait for a person


def port_of(p: PrinterConfig) -> str:
    return {
        "network": f"tcp://{p.host}:{p.port}",
        "serial": p.device or "",
        "file": p.device or "",
        "usb": f"usb:{p.vendor_id or 0:04x}:{p.product_id or 0:04x}",
        "cups": f"cups:{p.queue}",
        "win32": f"win32:{p.queue}",
        "virtual": f"virtual:{p.spool}",
    }.get(p.connection, "")


def match_key(p: PrinterConfig) -> tuple[Any, ...] | None:
    """What a detected device must equal to be this configured printer."""
    if p.connection == "usb":
        return ("usb", p.vendor_id, p.product_id)
    if p.connection in ("serial", "file") and p.device:
        return ("device", os.path.realpath(p.device))
    if p.connection == "cups":
        return ("cups", p.queue)
    return None


def configured_entry(p: PrinterConfig, status: PrinterStatus, default: str) -> Entry:
    return {
        "name": p.name, "port": port_of(p), "driver": f"ticketd-{p.connection}",
        "status": state_word(status), "is_default": p.name == default,
        # A configured printer is a receipt printer, a virtual one too (is_virtual says
        # which): POS pages that look for a thermal printer find one.
        "is_virtual": p.connection == "virtual", "printer_type": "thermal",
        # extensions
        "configured": True, "connection": p.connection, "status_text": status.text,
        "aliases": list(p.aliases),
    }


def default_name(printers: Iterable[PrinterConfig]) -> str:
    printers = list(printers)
    return next((p.name for p in printers if p.default), printers[0].name if printers else "")


def summarise(listing: list[Entry], default: str) -> dict[str, Any]:
    thermal = sum(1 for e in listing if e["printer_type"] == "thermal")
    return {"status": "ok" if thermal else ("warning" if listing else "error"),
            "detected_count": len(listing), "thermal_count": thermal, "default_name": default}


def merge(configured: Configured, candidates: list[Entry]) -> tuple[list[Entry], dict[str, Any]]:
    """Configured printers (live status) first, then the detected ones not configured."""
    pairs = list(configured)
    default = default_name(p for p, _ in pairs)
    listing: list[Entry] = []
    keys: dict[tuple[Any, ...], Entry] = {}
    for p, status in pairs:
        entry = configured_entry(p, status, default)
        listing.append(entry)
        key = match_key(p)
        if key is not None:
            keys[key] = entry
    for c in candidates:
        key = tuple(c.get("_key", ()))
        if key and key in keys:
            keys[key]["detected"] = True
            continue
        listing.append({k: v for k, v in c.items() if k != "_key"})
    return listing, summarise(listing, default)


# --- detection (blocking: run in a thread) -------------------------------------------------

def guess_type(*texts: str) -> str:
    """Ticket Daemon's guess from names: virtual, thermal, network or unknown."""
    joined = " ".join(t for t in texts if t)
    if _VIRTUAL_WORDS.search(joined):
        return "virtual"
    if _THERMAL_WORDS.search(joined):
        return "thermal"
    if any(_NETWORK_URI.match(t or "") for t in texts):
        return "network"
    return "unknown"


def candidate(name: str, port: str, driver: str, printer_type: str, key: tuple[Any, ...],
              status: str = "unknown") -> Entry:
    return {"name": name, "port": port, "driver": driver, "status": status,
            "is_default": False, "is_virtual": printer_type == "virtual",
            "printer_type": printer_type, "configured": False, "_key": list(key)}


def scan_usb() -> list[Entry]:
    """USB devices of the printer class or from a receipt-printer vendor (pyusb; no
    libusb backend or no permission → nothing)."""
    try:
        import usb.core
        devices = list(usb.core.find(find_all=True))
    except Exception:  # NoBackendError, USBError, ImportError
        return []
    found = []
    for dev in devices:
        vid, pid = int(dev.idVendor), int(dev.idProduct)
        printer_class = dev.bDeviceClass == USB_PRINTER_CLASS
        try:
            printer_class = printer_class or any(
                intf.bInterfaceClass == USB_PRINTER_CLASS for cfg in dev for intf in cfg)
        except Exception:
            pass
        if not printer_class and vid not in RECEIPT_VENDORS:
            continue
        vendor = RECEIPT_VENDORS.get(vid)
        name = f"{vendor or 'USB printer'} {vid:04x}:{pid:04x}"
        found.append(candidate(name, f"usb:{vid:04x}:{pid:04x}", "usb",
                               "thermal" if vendor else "unknown", ("usb", vid, pid)))
    return found


def _sysfs_vendor(lp: str) -> int | None:
    base = os.path.basename(lp)
    for path in (f"/sys/class/usbmisc/{base}/device/../idVendor",
                 f"/sys/class/usb/{base}/device/../idVendor"):
        try:
            with open(path) as f:
                return int(f.read().strip(), 16)
        except (OSError, ValueError):
            continue
    return None


def scan_lp(pattern: str = "/dev/usb/lp*") -> list[Entry]:
    found = []
    for dev in sorted(glob.glob(pattern)):
        vendor = _sysfs_vendor(dev)
        known = vendor in RECEIPT_VENDORS if vendor is not None else False
        found.append(candidate(os.path.basename(dev), dev, "usblp",
                               "thermal" if known else "unknown",
                               ("device", os.path.realpath(dev))))
    return found


def scan_serial() -> list[Entry]:
    try:
        from serial.tools import list_ports
        ports = list(list_ports.comports())
    except Exception:
        return []
    found = []
    for port in ports:
        known = port.vid in RECEIPT_VENDORS if port.vid is not None else False
        kind = "thermal" if known else guess_type(port.description or "", port.product or "")
        name = port.description if port.description not in (None, "", "n/a") else port.name
        found.append(candidate(name or port.device, port.device, "serial",
                               kind if kind != "virtual" else "unknown",
                               ("device", os.path.realpath(port.device))))
    return found


def scan_cups(lpstat: str | None = None, timeout: float = 5.0) -> list[Entry]:
    lpstat = lpstat or shutil.which("lpstat")
    if not lpstat:
        return []

    def run(*args: str) -> str:
        try:
            return subprocess.run([lpstat, *args], capture_output=True, text=True,
                                  timeout=timeout, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    return parse_lpstat(run("-p"), run("-v"), run("-d"))


def parse_lpstat(printers: str, devices: str, default: str) -> list[Entry]:
    """``lpstat -p``, ``-v`` and ``-d`` outputs → entries (a pure function, tested alone)."""
    states: dict[str, str] = {}
    for line in printers.splitlines():
        m = re.match(r"printer (\S+) (?:is )?(.*)", line)
        if m:
            text = m.group(2).lower()
            states[m.group(1)] = ("paused" if "disabled" in text else
                                  "ready" if "idle" in text or "printing" in text else "unknown")
    uris: dict[str, str] = {}
    for line in devices.splitlines():
        m = re.match(r"device for (\S+?):\s*(\S+)", line)
        if m:
            uris[m.group(1)] = m.group(2)
    m = re.search(r"destination:\s*(\S+)", default)
    default_queue = m.group(1) if m else None
    found = []
    for name in sorted(set(states) | set(uris)):
        uri = uris.get(name, "")
        entry = candidate(name, uri, "cups", guess_type(name, uri), ("cups", name),
                          states.get(name, "unknown"))
        entry["is_default"] = name == default_queue
        found.append(entry)
    return found


SCANNERS: tuple[Callable[[], list[Entry]], ...] = (scan_usb, scan_lp, scan_serial, scan_cups)


def scan_all(scanners: Iterable[Callable[[], list[Entry]]] = SCANNERS) -> list[Entry]:
    found: list[Entry] = []
    for scan in scanners:
        try:
            found.extend(scan())
        except Exception:  # one broken source must not hide the others
            Logger().failure("printer discovery: {scan} failed", scan=getattr(scan, "__name__",
                                                                              scan))
    return found


class Discovery:
    """``discovery() -> Deferred[(printers, summary)]``: scans at most every 30 s, in a
    thread; concurrent callers share one scan."""

    log = Logger()

    def __init__(self, configured: Callable[[], Configured], *, clock: Any, run: Runner,
                 scanners: Iterable[Callable[[], list[Entry]]] = SCANNERS,
                 ttl: float = CACHE_SECONDS) -> None:
        self.configured = configured
        self.clock = clock
        self.run = run
        self.scanners = tuple(scanners)
        self.ttl = ttl
        self._found: list[Entry] = []
        self._stamp: float | None = None
        self._waiting: list[Deferred[tuple[list[Entry], dict[str, Any]]]] | None = None

    def __call__(self) -> Deferred[tuple[list[Entry], dict[str, Any]]]:
        now = self.clock.seconds()
        if self._stamp is not None and now - self._stamp < self.ttl:
            return succeed(merge(self.configured(), self._found))
        d: Deferred[tuple[list[Entry], dict[str, Any]]] = Deferred()
        if self._waiting is not None:
            self._waiting.append(d)
            return d
        self._waiting = [d]
        self.run(scan_all, self.scanners).addCallbacks(self._scanned, self._failed)
        return d

    def _scanned(self, found: list[Entry]) -> None:
        self._found, self._stamp = found, self.clock.seconds()
        self._answer()

    def _failed(self, f: Any) -> None:
        self.log.failure("printer discovery failed", f)
        self._answer()  # the configured printers are still worth an answer

    def _answer(self) -> None:
        waiting, self._waiting = self._waiting or [], None
        for d in waiting:
            d.callback(merge(self.configured(), self._found))
