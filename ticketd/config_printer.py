"""One ``[printers.NAME]`` table: the printer's config class and what the table may hold
(the common settings, and each connection kind's own). Read by :mod:`ticketd.config`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import attrs

from ticketd.config_reader import (ConfigError, Reader, boolean, hex_or_int, integer, number,
                                   one_of, show, string, strings)
from ticketd.paper import DPIS, PAPER_WIDTHS

__all__ = ["CONNECTION_TYPES", "VIRTUAL_STATUSES", "PrinterConfig", "read_printer"]

CONNECTION_TYPES = ("network", "serial", "usb", "file", "cups", "win32", "virtual")
#: How a job is known to have printed (docs/protocol.rst, "Confirmation"): the printer's
#: in-order answer to ``GS ( H`` fn 48 or ``GS r 1`` after the job's bytes, or (no
#: in-order answer) the real-time DLE EOT status read right after them, or nothing.
IN_ORDER_CONFIRM = ("process_id", "gs_r")
CONFIRM_MODES = IN_ORDER_CONFIRM + ("realtime", "none")
#: The kinds whose connection reads the in-order answers (the others have none yet).
CONFIRMING_KINDS = ("network",)
VIRTUAL_STATUSES = ("ready", "paper_near_end", "paper_out", "cover_open", "offline", "silent")


@attrs.frozen
class PrinterConfig:
    """One ``[printers.NAME]`` table. Connection settings live beside the common ones."""

    name: str
    connection: str
    # common
    profile: str = "default"
    paper_width: int = 80
    dpi: int = 203
    code_table: str | None = None
    queue_capacity: int = 100
    status_interval: float = 5.0
    status_timeout: float = 1.0
    write_timeout: float = 10.0
    hold_timeout: float = 600.0
    status_query: bool = True  # false for printers that never answer DLE EOT
    reprint_interrupted: bool = False
    retry_failed: int = 0
    aliases: tuple[str, ...] = ()
    default: bool = False
    prefix: str | None = None  # MQTT topic prefix (None: the name; "": none)
    mqtt_hold: float = 0.0  # seconds a fault may hold an MQTT job; 0: fail it at once
    # "gs_r" by default for a network printer (nearly every ESC/POS printer answers GS r
    # in order), "realtime" for the others, as before
    confirm: str = "realtime"
    confirm_timeout: float = 30.0  # seconds a Ready printer may take to confirm a job
    # network
    host: str | None = None
    port: int = 9100
    connect_timeout: float = 5.0
    # serial / file
    device: str | None = None
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    flow_control: str = "none"  # none | rtscts | dsrdtr | xonxoff
    # usb
    vendor_id: int | None = None
    product_id: int | None = None
    interface: int = 0
    in_ep: int = 0x82
    out_ep: int = 0x01
    # cups / win32
    queue: str | None = None
    # virtual
    spool: Path | None = None
    status: str = "ready"
    preview: bool = True  # a PNG of each job beside its .bin

    def names(self) -> tuple[str, ...]:
        """The name and aliases, lower-cased, that route a job to this printer."""
        return (self.name.lower(),) + tuple(a.lower() for a in self.aliases)


_CONNECTION_KEYS: dict[str, frozenset[str]] = {
    "network": frozenset({"host", "port", "connect_timeout"}),
    "serial": frozenset({"device", "baudrate", "bytesize", "parity", "stopbits", "flow_control"}),
    "usb": frozenset({"vendor_id", "product_id", "interface", "in_ep", "out_ep"}),
    "file": frozenset({"device"}),
    "cups": frozenset({"queue"}),
    "win32": frozenset({"queue"}),
    "virtual": frozenset({"spool", "status", "preview"}),
}
_ALL_CONNECTION_KEYS = frozenset().union(*_CONNECTION_KEYS.values())


def read_printer(source: str, name: str, raw: Any, interval: float = 5.0) -> PrinterConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: printers.{name}: expected a table, got {show(raw)}")
    r = Reader(source, f"printers.{name}", raw)
    kind = r.get("connection", one_of(*CONNECTION_TYPES), required=True)
    own = _CONNECTION_KEYS[kind]
    kw: dict[str, Any] = dict(
        name=name,
        connection=kind,
        profile=r.get("profile", string, "default"),
        paper_width=r.get("paper_width", one_of(*PAPER_WIDTHS), 80),
        dpi=r.get("dpi", one_of(*DPIS), 203),
        code_table=r.get("code_table", string),
        queue_capacity=r.get("queue_capacity", integer(1, 100_000), 100),
        status_interval=r.get("status_interval", number(0.1, 3600), interval),
        status_timeout=r.get("status_timeout", number(0.05, 60), 1.0),
        write_timeout=r.get("write_timeout", number(0.1, 3600), 10.0),
        hold_timeout=r.get("hold_timeout", number(0, 7 * 86400), 600.0),
        status_query=r.get("status_query", boolean, True),
        reprint_interrupted=r.get("reprint_interrupted", boolean, False),
        retry_failed=r.get("retry_failed", integer(0, 10), 0),
        aliases=r.get("aliases", strings, ()),
        default=r.get("default", boolean, False),
        prefix=r.get("prefix", string),
        mqtt_hold=r.get("mqtt_hold", number(0, 7 * 86400), 0.0),
        confirm=r.get("confirm", one_of(*CONFIRM_MODES),
                      "gs_r" if kind in CONFIRMING_KINDS else "realtime"),
        confirm_timeout=r.get("confirm_timeout", number(1, 3600), 30.0),
    )
    if kind not in CONFIRMING_KINDS and kw["confirm"] in IN_ORDER_CONFIRM:
        raise r.fail("confirm", f"{kw['confirm']!r} needs a printer that answers on its "
                                f"own link ({', '.join(CONFIRMING_KINDS)}); a {kind} printer "
                                "has \"realtime\" or \"none\"")
    required = {"network": ("host",), "serial": ("device",), "file": ("device",),
                "usb": ("vendor_id", "product_id"), "cups": ("queue",), "win32": ("queue",)}
    checks: dict[str, Callable[[Any], Any]] = {
        "host": string, "port": integer(1, 65535), "connect_timeout": number(0.1, 300),
        "device": string, "baudrate": integer(50, 4_000_000), "bytesize": one_of(5, 6, 7, 8),
        "parity": one_of("N", "E", "O", "M", "S"), "stopbits": one_of(1, 1.5, 2),
        "flow_control": one_of("none", "rtscts", "dsrdtr", "xonxoff"),
        "vendor_id": hex_or_int, "product_id": hex_or_int, "interface": integer(0, 255),
        "in_ep": hex_or_int, "out_ep": hex_or_int, "queue": string,
        "spool": string, "status": one_of(*VIRTUAL_STATUSES), "preview": boolean,
    }
    for key in sorted(own):
        value = r.get(key, checks[key], required=key in required.get(kind, ()))
        if value is not None:
            kw[key] = value
    if kind == "virtual":
        spool = Path(kw.get("spool") or f"spool/{name}")
        kw["spool"] = spool
    others = _ALL_CONNECTION_KEYS - own
    for key in raw:
        if key in others:
            raise r.fail(key, f"is not a setting of a {kind} printer")
    r.finish()
    return PrinterConfig(**kw)
