"""The ``Host`` check: a page on another name (DNS rebinding: ``evil.example`` resolved to
127.0.0.1) must not read anything of the daemon, so every request names one of ours.

:func:`host_allowed` is a plain function; :class:`HostRefused` answers 421.
"""

from __future__ import annotations

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ticketd.config import ServerConfig
from ticketd.web.connections import peer_name

LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}


def local_urls(listen: str, port: int) -> tuple[str, str]:
    """The dashboard's and the WebSocket's URLs as the start-up log names them: on the
    listen address, or loopback when it listens on every address (a browser cannot open
    ``0.0.0.0``; loopback passes the Host and Origin checks)."""
    name = listen.lower()
    name = _WILDCARDS.get(name, f"[{name}]" if ":" in name and "[" not in name else name)
    return f"http://{name}:{port}/", f"ws://{name}:{port}/ws"


def own_names(server: ServerConfig) -> frozenset[str]:
    """The names the daemon answers to: its listen address, localhost, configured ones."""
    listen = server.listen.lower()
    if ":" in listen and not listen.startswith("["):
        listen = f"[{listen}]"
    return frozenset((listen, *LOCAL_NAMES, *server.hostnames))


def host_allowed(host: bytes | None, names: frozenset[str], ports: tuple[int, ...]) -> bool:
    """``host`` is ``name`` or ``name:port`` with one of our names and ports."""
    if not host:
        return False
    try:
        text = host.decode("ascii").strip().lower()
    except UnicodeDecodeError:
        return False
    name, port = text, ""
    if text.startswith("["):
        end = text.find("]")
        name, rest = text[:end + 1], text[end + 1:]
        if end < 0 or (rest and not rest.startswith(":")):
            return False
        port = rest[1:]
    elif ":" in text:
        name, _, port = text.rpartition(":")
    if name.endswith(".") and name[:-1] in names:  # "localhost." is the same name
        name = name[:-1]
    if name not in names:
        return False
    return port == "" or (port.isdigit() and int(port) in ports)


class HostRefused(Resource):
    """Every method, every path: 421, and an audit event."""

    isLeaf = True
    log = Logger()

    def render(self, request: Request) -> int:
        host = (request.getHeader(b"host") or b"").decode("latin-1")
        self.log.warn("http {peer}: request refused (host_refused): Host {host!r} is not a "
                      "name of this daemon", peer=peer_name(request.getClientAddress()),
                      host=host[:200], path=request.path.decode("latin-1")[:200],
                      reason="host_refused", audit=True)
        request.setResponseCode(421, b"Misdirected Request")
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"connection", b"close")
        request.write(b"Misdirected request: this Host is not a name of this daemon "
                      b"(see [server] hostnames).\n")
        channel = request.channel
        request.finish()
        # Nothing more on this connection (an upgrade request would otherwise stay open).
        channel.loseConnection()
        return NOT_DONE_YET
