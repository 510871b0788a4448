"""What ``ticketd-print`` says while a job waits: a line per step, a spinner on a terminal.

A line per change (``held: Out of paper — waiting``, ``printing``) so that a log or a
pipe reads like a story; the spinner redraws one line and only where a person watches.
"""

from __future__ import annotations

import time
from typing import Any, Callable, TextIO

from ticketd.sync_client import Progress

FRAMES = "|/-\\"


class ProgressLines:
    """Writes a job's steps to ``err``; ``tty`` (default: ``err.isatty()``) adds a spinner."""

    def __init__(self, err: TextIO, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.err = err
        self.tty = _isatty(err) if tty is None else tty
        self.clock = clock
        self.started = clock()
        self.state = "queued"
        self._frame = 0
        self._drawn = False

    def elapsed(self) -> float:
        return self.clock() - self.started

    def line(self, text: str) -> None:
        self._erase()
        print(text, file=self.err, flush=True)

    def acked(self, ack: dict[str, Any]) -> None:
        job_id = ack.get("id")
        where = f" at position {ack['position']}" if "position" in ack else ""
        if ack.get("duplicate"):
            self.line(f"job {job_id} duplicate (already {ack.get('state')}) on "
                      f"{ack.get('printer', '?')}: it is not printed again")
            return
        self.line(f"job {job_id} {ack.get('status')} on {ack.get('printer', '?')}{where}, "
                  f"queue {ack.get('current')}/{ack.get('capacity')}")

    def step(self, progress: Progress) -> None:
        self.state = progress.state
        if progress.state == "held":
            self.line(f"held: {progress.message or 'the printer is not ready'} — waiting")
        elif progress.state == "queued":
            self.line("resumed: the printer is ready")
        else:
            self.line(progress.state)

    def tick(self) -> None:
        """One turn of the spinner (a terminal only)."""
        if not self.tty:
            return
        self._frame = (self._frame + 1) % len(FRAMES)
        self.err.write(f"\r{FRAMES[self._frame]} {self.state} {self.elapsed():.0f} s")
        self.err.flush()
        self._drawn = True

    def done(self) -> None:
        self._erase()

    def _erase(self) -> None:
        if self._drawn:
            self.err.write("\r\033[K")
            self._drawn = False


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
