"""Where a client finds ticketd: the URL a person types, made into the WebSocket URL.

``http://host:port``, ``ws://host:port`` and ``host:port`` all mean ``ws://host:port/ws``
(a bare ``host``: port 8766; ``https``/``wss`` give ``wss://``): people copy the
dashboard's address, and the daemon serves its socket at ``/ws``. ``TICKETD_URL`` is the default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "ws://127.0.0.1:8766/ws"
DEFAULT_PORT = 8766
SCHEMES = {"ws": "ws", "http": "ws", "wss": "wss", "https": "wss"}


class BadURL(ValueError):
    """A URL no client could connect to (an unknown scheme, no host, a bad port)."""


def default_url(environ: Mapping[str, str] | None = None) -> str:
    """``TICKETD_URL`` when set (and not empty), else the daemon's default address."""
    env = os.environ if environ is None else environ
    return env.get("TICKETD_URL", "").strip() or DEFAULT_URL


def websocket_url(text: str) -> str:
    """The ``ws://``/``wss://`` URL of ``text``; the path defaults to ``/ws``."""
    text = text.strip()
    typed_scheme = "://" in text
    if not typed_scheme:
        text = "ws://" + text
    parts = urlsplit(text)
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise BadURL(f"{text!r}: the scheme must be ws, wss, http or https")
    if not parts.hostname:
        raise BadURL(f"{text!r}: no host")
    try:
        port = parts.port
    except ValueError as e:
        raise BadURL(f"{text!r}: {e}") from None
    netloc = parts.netloc
    if port is None and not typed_scheme:
        netloc = f"{netloc}:{DEFAULT_PORT}"  # a bare host means the daemon's default port
    path = parts.path if parts.path not in ("", "/") else "/ws"
    return urlunsplit((scheme, netloc, path, parts.query, ""))
