"""One daemon per state directory: an exclusive ``flock`` on ``STATE/ticketd.lock``.

Two daemons on one journal would each recover and print the same queued jobs. The kernel
drops the lock when its process dies (kill -9 and power loss included), so a stale lock
file never blocks a restart; the file holds the PID of its holder, for the message.
Standard library only, no Twisted: the lock is taken by the job core's start-up.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "ticketd.lock"
_PROBE_NAME = ".ticketd-write-check"


class StateError(Exception):
    """The state directory cannot be used; ``str()`` is the one line shown to the user."""


def _writable(directory: Path) -> None:
    """Refuse a directory that cannot be created or written (read-only mount, a file in
    the way, no permission) now, with its setting, rather than at the first job."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / _PROBE_NAME
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as e:
        raise StateError(f"state.directory {directory}: cannot write there: "
                         f"{e.strerror or e}") from None


class StateLock:
    """The lock on one state directory; :meth:`acquire` it before opening the journal."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise StateError naming the directory and the holder's PID."""
        _writable(self.directory)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise StateError(f"state.directory {self.directory}: cannot open {self.path}: "
                             f"{e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StateError(f"state.directory {self.directory}: in use by another ticketd, "
                             f"PID {holder}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        """Let the next daemon in (the PID stays in the file; the lock is what counts)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
