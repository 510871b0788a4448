"""Log output from ``[log]``: text or JSON lines, stdout or a size-rotated file, levels by
namespace, and audit events that no level setting can hide.

Everything here builds plain ``twisted.logger`` observers from a :class:`LogConfig`; nothing
is installed globally. ``ticketd.tap`` hands the observer to twistd (see
:func:`twistd_observer` for how and why).

Audit events are ordinary events carrying ``audit=True`` (and a ``reason`` such as
``auth_failed``, ``origin_refused``, ``queue_full``, ``unknown_printer``, ``rate_limited``):
they are always kept, and are marked ``AUDIT`` in text and ``"audit": true`` in JSON, so
a security trail survives ``level = "error"`` and is easy to grep or to ship.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from typing import IO, Any, Mapping

from twisted.logger import (FileLogObserver, FilteringLogObserver, ILogFilterPredicate,
                            ILogObserver, Logger, LogLevel, LogLevelFilterPredicate,
                            PredicateResult, eventAsText, formatEvent, formatTime)
from twisted.python.logfile import LogFile
from zope.interface import implementer

from ticketd.config import LogConfig

_LEVELS = {"debug": LogLevel.debug, "info": LogLevel.info, "warn": LogLevel.warn,
           "error": LogLevel.error, "critical": LogLevel.critical}
#: Event keys that are Twisted's bookkeeping, not the event's own fields (JSON output).
_PRIVATE = frozenset({"format", "message", "system", "isError", "why", "failure", "time",
                      "printed"})


@implementer(ILogFilterPredicate)
class LevelFilter:
    """Keeps an event if its level reaches its namespace's level; audit events always."""

    def __init__(self, config: LogConfig) -> None:
        self.levels = LogLevelFilterPredicate(defaultLogLevel=_LEVELS[config.level])
        for namespace, level in config.levels:
            self.levels.setLogLevelForNamespace(namespace, _LEVELS[level])

    def __call__(self, event: Mapping[str, Any]) -> PredicateResult:
        if event.get("audit") is True:
            return PredicateResult.yes
        level = event.get("log_level") or LogLevel.info
        if level < self.levels.logLevelForNamespace(event.get("log_namespace")):
            return PredicateResult.no
        return PredicateResult.maybe


def _level_name(event: Mapping[str, Any]) -> str:
    return str(getattr(event.get("log_level"), "name", "info"))


def format_text(event: Mapping[str, Any]) -> str | None:
    """``2025-01-31T12:00:00+0100 [namespace#level] AUDIT message``, continuation lines
    (tracebacks, multi-line messages) indented by a tab so that one event stays one block."""
    text = eventAsText(event, includeTimestamp=False, includeSystem=False)
    if not text:
        return None
    stamp = formatTime(event.get("log_time"), timeFormat="%Y-%m-%dT%H:%M:%S%z")
    mark = "AUDIT " if event.get("audit") is True else ""
    body = text.replace("\n", "\n\t")
    return f"{stamp} [{event.get('log_namespace', '-')}#{_level_name(event)}] {mark}{body}\n"


def _plain(value: Any) -> Any:
    """The value if JSON can hold it as is, else its ``str()``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(
            v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    return str(value)


def format_json(event: Mapping[str, Any]) -> str | None:
    """One JSON object per line: time (UTC), level, namespace, message, ``audit`` when set,
    the event's own fields (non-JSON values as text) and ``traceback`` for a failure."""
    try:
        message = formatEvent(event)
    except Exception:  # formatEvent does not raise, but a line must never be lost
        message = repr(event.get("log_format"))
    when = event.get("log_time")
    out: dict[str, Any] = {
        "time": datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="milliseconds")
        if isinstance(when, (int, float)) else None,
        "level": _level_name(event),
        "namespace": event.get("log_namespace"),
        "message": message,
    }
    for key, value in event.items():
        if key.startswith("log_") or key in _PRIVATE or key in out:
            continue
        out[key] = _plain(value)
    failure = event.get("log_failure")
    if failure is not None:
        try:
            out["traceback"] = failure.getTraceback()
        except Exception:
            out["traceback"] = repr(failure)
    return json.dumps(out, ensure_ascii=False, default=str) + "\n"


def open_file(path: str, config: LogConfig) -> LogFile:
    """A file that rotates at ``max_bytes`` into ``path.1`` … ``path.<keep>`` (older ones
    are deleted): Twisted's LogFile, so no extra dependency and no rotation thread."""
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    return LogFile(name, directory, rotateLength=config.max_bytes,
                   maxRotatedFiles=config.keep)


def observer(config: LogConfig, out: IO[Any] | LogFile | None = None) -> ILogObserver:
    """The filtered, formatted observer for ``config``, writing to ``out`` if given, else
    to ``config.file`` (rotated) or stdout."""
    if out is None:
        out = open_file(config.file, config) if config.file else sys.stdout
    formatter = format_json if config.format == "json" else format_text
    return FilteringLogObserver(FileLogObserver(out, formatter), [LevelFilter(config)])


def twistd_observer(config: LogConfig, twistd: Mapping[str, Any] | None) -> ILogObserver | None:
    """The observer for the daemon under ``twistd``, or None to leave twistd's own.

    How ``[log]`` takes effect: twistd calls ``makeService`` *before* it begins logging,
    then parents our service to a new Application and calls ``AppLogger.start``, which uses
    the Application's ``ILogObserver`` component instead of its ``--logfile`` observer when
    one is set (the documented hook for ``.tac`` files). ``ticketd.tap.Daemon`` sets that
    component from its ``setServiceParent``. So there is one primary observer and no
    duplicate lines, events logged while the service tree was built are replayed through
    our filter, and twistd's own rules stay: ``--logger`` still wins over us, ``--syslog``
    is left to twistd (None here). The destination is ``[log] file``, else twistd's
    ``--logfile PATH`` (rotated by our settings), else stdout; a daemonizing twistd
    without either logs to ``twistd.log`` like twistd does (stdout becomes /dev/null).
    """
    twistd = twistd or {}
    if twistd.get("syslog") or twistd.get("logger"):
        return None
    path = config.file
    logfile = twistd.get("logfile")
    if path is None and logfile and logfile != "-":
        path = os.path.abspath(logfile)
    elif path is None and not logfile and not twistd.get("nodaemon", True):
        path = os.path.abspath("twistd.log")
    out: IO[Any] | LogFile = open_file(path, config) if path else sys.stdout
    return observer(config, out)


_FROM_STDLIB = ((logging.CRITICAL, LogLevel.critical), (logging.ERROR, LogLevel.error),
                (logging.WARNING, LogLevel.warn), (logging.INFO, LogLevel.info))
_TO_STDLIB = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
              "error": logging.ERROR, "critical": logging.CRITICAL}


class StdlibBridge(logging.Handler):
    """Forwards standard-library log records (paho, python-escpos) into twisted.logger,
    under the record's logger name as namespace, so that ``[log]``'s levels, format and
    file apply to them as to our own events."""

    def emit(self, record: logging.LogRecord) -> None:
        level = next((lvl for n, lvl in _FROM_STDLIB if record.levelno >= n), LogLevel.debug)
        try:
            Logger(namespace=record.name).emit(level, "{text}", text=record.getMessage())
        except Exception:  # a logging failure must never break the caller
            self.handleError(record)


def bridge_stdlib_logging(config: LogConfig,
                          root: logging.Logger | None = None) -> StdlibBridge:
    """Route the process's standard logging through twisted.logger (the daemon's entry
    point calls this once). Installed before python-escpos is imported, it also keeps that
    library's ``logging.basicConfig()`` from adding its own stderr handler. The root level
    is the lowest level the config asks for, so records nobody wants are not even made."""
    root = root if root is not None else logging.getLogger()
    handler = StdlibBridge()
    root.addHandler(handler)
    wanted = [config.level, *(level for _, level in config.levels)]
    root.setLevel(min(_TO_STDLIB.get(w, logging.INFO) for w in wanted))
    return handler
