"""The daemon's configuration: TOML (read with ``tomllib``) into frozen attrs classes.

Relative paths (state directory, TLS files) are relative to the config file's folder, so
the daemon behaves the same whatever directory it is started from.

Everything is validated at start so that a typo or a bad value stops the daemon with one
clear line naming the file, the key path and the value, e.g.::

    etc/ticketd.toml: printers.kitchen.port: expected an integer 1-65535, got "abc"

Unknown keys are errors: a misspelt setting must never be silently ignored.
The original MQTT server's flat file is read as it is (:data:`ORIGINAL_KEYS`).

The checks and the table reader behind those messages are :mod:`ticketd.config_reader`;
a printer's table is :mod:`ticketd.config_printer`; this module holds the other config
classes and what each section may contain.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Mapping

import attrs

from ticketd.config_reader import (Bad, ConfigError, Reader, boolean, hex_or_int, integer,
                                   number, one_of, show, string, strings, table)
from ticketd.config_printer import (CONNECTION_TYPES, VIRTUAL_STATUSES, PrinterConfig,
                                    read_printer)
from ticketd.paper import DPIS, PAPER_WIDTHS

__all__ = ["Config", "ConfigError", "LogConfig", "MqttConfig", "PrinterConfig", "ServerConfig",
           "StateConfig", "load", "parse", "CONNECTION_TYPES", "DEFAULT_NAMESPACE_LEVELS",
           "DPIS", "LOG_LEVELS", "PAPER_WIDTHS", "VIRTUAL_STATUSES", "boolean", "hex_or_int",
           "integer", "number", "one_of", "string", "strings", "table"]



@attrs.frozen
class ServerConfig:
    listen: str = "127.0.0.1"
    port: int = 8766
    max_message_size: int = 1024 * 1024
    allowed_origins: tuple[str, ...] = ()
    auth_token: str | None = None
    rate_limit: float = 0.0  # jobs per second per connection, 0 = unlimited
    auto_ping_interval: float = 20.0
    #: Refuse every submitted document that intake had to interpret (a warning) instead
    #: of printing it with the warning.
    strict_documents: bool = False
    #: Processes that render documents beside the daemon (0: the printers' threads do);
    #: None: one on a machine with two or more cores, else none.
    render_processes: int | None = None
    #: Names besides the listen address and localhost that the ``Host`` header may carry.
    hostnames: tuple[str, ...] = ()
    #: Needed to read or change other clients' jobs; None: generated into the state
    #: directory (``admin-token``) at first start.
    admin_token: str | None = None
    #: ``/metrics`` needs the admin token too.
    metrics_token: bool = False
    max_connections_per_client: int = 64


@attrs.frozen
class StateConfig:
    directory: Path = Path("var/ticketd")
    retention_hours: float = 24.0
    retention_count: int = 100_000
    #: SQLite ``synchronous``: "full" survives a power cut, "normal" a crash of the daemon.
    sync: str = "full"


LOG_LEVELS = ("debug", "info", "warn", "error", "critical")
#: Chatty libraries are quiet unless ``[log.levels]`` says otherwise.
DEFAULT_NAMESPACE_LEVELS: tuple[tuple[str, str], ...] = (
    ("autobahn", "warn"), ("txaio", "warn"), ("paho", "warn"))


@attrs.frozen
class LogConfig:
    level: str = "info"
    format: str = "text"  # text | json
    file: str | None = None  # None = stdout (or twistd's --logfile); absolute once parsed
    max_bytes: int = 5 * 1024 * 1024
    keep: int = 5  # rotated files kept beside the current one
    #: (namespace, level) pairs, the defaults merged with ``[log.levels]``; a namespace
    #: covers its children ("ticketd.jobs" covers "ticketd.jobs.manager.JobManager").
    levels: tuple[tuple[str, str], ...] = DEFAULT_NAMESPACE_LEVELS


@attrs.frozen
class MqttConfig:
    hostname: str = "localhost"
    port: int = 8883
    client_id: str = "ticketd"
    username: str | None = None
    password: str | None = None
    keepalive: int = 60
    protocol: str = "5"  # "5" | "3.1.1"
    tls: bool = True
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_insecure: bool = False
    session_expiry: int = 3600
    status_check_interval: float = 5.0
    max_payload: int = 1024 * 1024
    client_id_as_given: bool = False  # one printer: connect as client_id, no "-<printer>"


@attrs.frozen
class Config:
    path: Path
    server: ServerConfig
    state: StateConfig
    log: LogConfig
    printers: tuple[PrinterConfig, ...]
    mqtt: MqttConfig | None = None

    def printer(self, name: str) -> PrinterConfig:
        return next(p for p in self.printers if p.name == name)


# --- sections ---------------------------------------------------------------------------

def parse(text: str, source: str = "<config>") -> Config:
    """Parse TOML text; ``source`` names the file in every error message."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    top = Reader(source, "", data)
    base = Path(source).resolve().parent if source != "<config>" else Path.cwd()
    flat = [k for k in ORIGINAL_KEYS if k in data]
    if flat:
        return _original(source, data, base, flat)

    s = Reader(source, "server", top.get("server", table, {}))
    server = ServerConfig(
        listen=s.get("listen", string, "127.0.0.1"),
        port=s.get("port", integer(0, 65535), 8766),
        max_message_size=s.get("max_message_size", integer(1024, 64 * 1024 * 1024), 1 << 20),
        allowed_origins=s.get("allowed_origins", strings, ()),
        auth_token=s.get("auth_token", string),
        rate_limit=s.get("rate_limit", number(0, 100_000), 0.0),
        auto_ping_interval=s.get("auto_ping_interval", number(0, 3600), 20.0),
        strict_documents=s.get("strict_documents", boolean, False),
        render_processes=s.get("render_processes", integer(0, 16), None),
        hostnames=tuple(h.lower() for h in s.get("hostnames", strings, ())),
        admin_token=s.get("admin_token", string),
        metrics_token=s.get("metrics_token", boolean, False),
        max_connections_per_client=s.get("max_connections_per_client",
                                         integer(1, 100_000), 64),
    )
    s.finish()

    st = Reader(source, "state", top.get("state", table, {}))
    directory = Path(st.get("directory", string, "var/ticketd"))
    state = StateConfig(
        directory=(base / directory).resolve(),
        retention_hours=st.get("retention_hours", number(0, 24 * 365), 24.0),
        retention_count=st.get("retention_count", integer(1, 10_000_000), 100_000),
        sync=st.get("sync", one_of("full", "normal"), "full"),
    )
    st.finish()

    lg = Reader(source, "log", top.get("log", table, {}))
    log_file = lg.get("file", string)
    log = LogConfig(
        level=lg.get("level", one_of(*LOG_LEVELS), "info"),
        format=lg.get("format", one_of("text", "json"), "text"),
        file=str((base / log_file).resolve()) if log_file is not None else None,
        max_bytes=lg.get("max_bytes", integer(1024, 1 << 40), 5 * 1024 * 1024),
        keep=lg.get("keep", integer(1, 1000), 5),
        levels=_log_levels(source, lg.get("levels", table, {})),
    )
    lg.finish()

    mqtt = None
    if "mqtt" in data:
        mqtt = _mqtt(source, top.get("mqtt", table), base)
    # The original MQTT server's status_check_interval: the default poll interval.
    interval = mqtt.status_check_interval if mqtt is not None else 5.0

    raw_printers = top.get("printers", table, {})
    if not raw_printers:
        raise ConfigError(f"{source}: printers: at least one [printers.NAME] table is required")
    printers = []
    for name, raw in raw_printers.items():
        p = read_printer(source, name, raw, interval)
        if p.spool is not None and not p.spool.is_absolute():
            p = attrs.evolve(p, spool=state.directory / p.spool)
        printers.append(p)
    _check_names(source, printers)
    if mqtt is not None and mqtt.client_id_as_given and len(printers) != 1:
        raise ConfigError(f"{source}: mqtt.client_id_as_given: needs exactly one printer "
                          f"(each printer has its own connection, and a client id is one "
                          f"connection), got {len(printers)}")
    top.finish()
    return Config(path=Path(source), server=server, state=state, log=log,
                  printers=tuple(printers), mqtt=mqtt)


_NAMESPACE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _log_levels(source: str, raw: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """``[log.levels]``: ``"namespace" = "level"``, over the defaults for chatty libraries."""
    r = Reader(source, "log.levels", raw)
    levels = dict(DEFAULT_NAMESPACE_LEVELS)
    for key in raw:
        shown = f'"{key}"' if "." in key or not key else key
        if not _NAMESPACE.fullmatch(key):
            raise r.fail(shown, "expected a logger namespace such as \"ticketd.jobs\"")
        try:
            levels[key] = one_of(*LOG_LEVELS)(raw[key])
        except Bad as e:
            raise r.fail(shown, f"expected {e.expected}, got {show(raw[key])}") from None
    return tuple(levels.items())


def _check_names(source: str, printers: list[PrinterConfig]) -> None:
    seen: dict[str, str] = {}
    for p in printers:
        for n in p.names():
            if n in seen:
                raise ConfigError(f"{source}: printers.{p.name}: name or alias {n!r} "
                                  f"is already used by printers.{seen[n]}")
            seen[n] = p.name
    defaults = [p.name for p in printers if p.default]
    if len(defaults) > 1:
        raise ConfigError(f"{source}: printers.{defaults[1]}.default: only one printer may be "
                          f"the default, printers.{defaults[0]} already is")


def _mqtt(source: str, raw: Mapping[str, Any], base: Path) -> MqttConfig:
    m = Reader(source, "mqtt", raw)

    def path(v: Any) -> Path:
        p = Path(string(v))
        return (base / p).resolve()

    cfg = MqttConfig(
        hostname=m.get("hostname", string, "localhost"),
        port=m.get("port", integer(1, 65535), 8883),
        client_id=m.get("client_id", string, "ticketd"),
        username=m.get("username", string),
        password=m.get("password", string),
        keepalive=m.get("keepalive", integer(5, 65535), 60),
        protocol=m.get("protocol", one_of("5", "3.1.1"), "5"),
        tls=m.get("tls", boolean, True),
        ca_file=m.get("ca_file", path),
        cert_file=m.get("cert_file", path),
        key_file=m.get("key_file", path),
        tls_insecure=m.get("tls_insecure", boolean, False),
        session_expiry=m.get("session_expiry", integer(0, 0xFFFFFFFF), 3600),
        status_check_interval=m.get("status_check_interval", number(0.1, 3600), 5.0),
        max_payload=m.get("max_payload", integer(1024, 256 * 1024 * 1024), 1 << 20),
        client_id_as_given=m.get("client_id_as_given", boolean, False),
    )
    m.finish()
    return cfg


#: The original MQTT print server's config: these keys at the top level, no tables.
ORIGINAL_KEYS = ("hostname", "port", "client_id", "username", "password", "prefix", "printer",
                 "status_check_interval")
_TABLES = ("server", "state", "log", "mqtt", "printers")


def _original(source: str, data: Mapping[str, Any], base: Path, flat: list[str]) -> Config:
    """As that server ran: one ``file`` printer on ``printer``, TLS verified against the
    system's CAs, MQTT 3.1.1 as exactly ``client_id``; state in ``var/ticketd`` beside."""
    tables = [k for k in _TABLES if k in data]
    if tables:
        raise ConfigError(f"{source}: {flat[0]} and [{tables[0]}]: the original MQTT server's "
                          f"flat keys and ticketd's tables cannot be mixed; write either the "
                          f"flat file alone or ticketd's format ([mqtt] and [printers.NAME])")
    r = Reader(source, "", data)
    interval = r.get("status_check_interval", number(0.1, 3600), 5.0)
    mqtt = MqttConfig(
        hostname=r.get("hostname", string, required=True),
        port=r.get("port", integer(1, 65535), 8883),
        client_id=r.get("client_id", string, required=True),
        username=r.get("username", string), password=r.get("password", string),
        protocol="3.1.1", tls=True, status_check_interval=interval, client_id_as_given=True)
    prefix = r.get("prefix", lambda v: v if v == "" else string(v), "")
    printer = PrinterConfig(name="printer", connection="file", prefix=prefix.rstrip("/"),
                            device=r.get("printer", string, required=True),
                            status_interval=interval)
    r.finish()
    return Config(path=Path(source), server=ServerConfig(),
                  state=StateConfig(directory=(base / "var/ticketd").resolve()),
                  log=LogConfig(), printers=(printer,), mqtt=mqtt)


def load(path: str | Path) -> Config:
    """Read and validate a config file; every problem is a ConfigError naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the config file: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text: {e}") from None
    return parse(text, str(p))
