"""Who may read or change other clients' jobs: the holder of the **admin token**.

Printing needs no admin token (an allowed page prints; ``auth_token``, when configured,
still gates it). Everything that reveals or touches another connection's jobs does: the
live feed (``subscribe``), cancelling a job this connection did not send, a journaled
job's picture, ``/health``'s printing job id, ``/metrics`` with ``metrics_token``.

The token is ``[server] admin_token`` or, by default, made at first start into the state
directory (``admin-token``, mode 0600), so that it survives restarts without being written
in the config. The daemon's own dashboard gets it in its page (``<meta>``, same origin
only: the page is not CORS-readable and the Host check stops DNS rebinding), and sends it
in a header or in each WebSocket message, never in a URL.
"""

from __future__ import annotations

import collections
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from twisted.web.server import Request

from ticketd.config import ServerConfig

TOKEN_FILE = "admin-token"
HEADER = b"x-admin-token"
BAD_ADMIN_TOKEN = "Invalid or missing admin token"
OWN_JOBS = 10_000  # ids a connection remembers as its own (cancel without the token)


def tokens_match(given: Any, expected: str) -> bool:
    """Constant-time comparison; anything but a string is a mismatch."""
    if isinstance(given, bytes):
        given = given.decode("utf-8", "replace")
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def admin_token(server: ServerConfig, state_directory: Path | None) -> str:
    """The configured token, else the one kept in ``state_directory``, else a fresh one
    (which :func:`keep_admin_token` writes there once the daemon has started: nothing is
    created before twistd has daemonized and dropped privileges)."""
    if server.admin_token is not None:
        return server.admin_token
    if state_directory is not None:
        try:
            token = (state_directory / TOKEN_FILE).read_text("ascii").strip()
        except (OSError, UnicodeDecodeError):
            token = ""
        if token:
            return token
    return new_admin_token()


def new_admin_token() -> str:
    """A fresh token that never starts with "-": pasted after ``--admin-token``, such a
    token would read as an option (``ticketd-print`` would stop with a usage error)."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def keep_admin_token(token: str, state_directory: Path) -> None:
    """Write ``token`` into ``STATE/admin-token`` (mode 0600) unless a token is there."""
    path = state_directory / TOKEN_FILE
    try:
        if path.read_text("ascii").strip():
            return
        path.unlink()  # an empty file (a crash while writing it): write it again
    except (OSError, UnicodeDecodeError):
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(token + "\n")


def request_has_admin(request: Request, token: str | None, *, bearer: bool = False) -> bool:
    """The request carries the admin token in ``X-Admin-Token`` (or, with ``bearer``, in
    ``Authorization: Bearer``, for scrapers). ``token`` None: no admin check here."""
    if token is None:
        return True
    given = request.getHeader(HEADER)
    header = request.getHeader(b"authorization") or b""
    if given is None and bearer and header.lower().startswith(b"bearer "):
        given = header[7:].strip()
    return tokens_match(given, token)


class OwnJobs:
    """The ids a connection submitted (its last OWN_JOBS): cancelling them needs nothing."""

    def __init__(self, limit: int = OWN_JOBS) -> None:
        self.limit = limit
        self._ids: collections.OrderedDict[str, None] = collections.OrderedDict()

    def add(self, job_id: str) -> None:
        self._ids[job_id] = None
        self._ids.move_to_end(job_id)
        while len(self._ids) > self.limit:
            self._ids.popitem(last=False)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._ids
