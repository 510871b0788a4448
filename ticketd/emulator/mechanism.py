"""The emulated print mechanism, without I/O: a receive buffer, a paper roll, a speed.

What arrives goes into the buffer and comes out on paper at ``speed`` mm/s, in order; a
command that asks for an answer (``GS r``, ``GS ( H`` fn 48, ``GS a``) is carried out
when everything before it has printed. When the roll ends the mechanism stops before the
line that no longer fits and keeps the rest of the buffer; a new roll lets it go on where
it stopped. A power cycle drops the buffer. The caller tells the time (``run(now)``) and
whether the printer is stopped (a paper-out, an open cover ...).
"""

from __future__ import annotations

import collections
from typing import Generic, TypeVar

import attrs

from ticketd.emulator.commands import Piece, Print, Request

Owner = TypeVar("Owner")  # who sent a piece: its answer goes back there


@attrs.frozen
class PrintSettings:
    """``speed`` mm/s (0: instant), ``roll`` mm of paper per roll (None: endless),
    ``buffer`` bytes the receive buffer holds before the printer stops reading."""

    speed: float = 0.0
    roll: float | None = None
    buffer: int = 4096


class Mechanism(Generic[Owner]):
    def __init__(self, settings: PrintSettings) -> None:
        self.settings = settings
        self.paper_left: float | None = settings.roll
        self.rolls = 1
        self.paper = bytearray()  # everything that came out, all rolls one after the other
        self.printed_mm = 0.0
        self.buffered = 0  # bytes received and not printed yet
        self._items: collections.deque[tuple[Piece, Owner, float]] = collections.deque()
        self._done_mm = 0.0  # of the piece being printed
        self._t: float | None = None

    @property
    def full(self) -> bool:
        return self.buffered >= self.settings.buffer

    def take(self, pieces: list[Piece], owner: Owner, now: float) -> None:
        """Into the buffer, arrived at ``now``: an idle mechanism starts on them then, so
        the time it stood idle is never time it printed, whenever :meth:`run` comes."""
        for piece in pieces:
            self._items.append((piece, owner, now))
            self.buffered += len(piece.data)

    def run(self, now: float, stopped: bool) -> tuple[list[tuple[Request, Owner]], bool]:
        """Print what the time since the last call allows; (requests reached, in order;
        whether the roll ended). Stopped: nothing moves (and no time is owed later)."""
        head = now if self._t is None else self._t  # how far the print head's time went
        self._t = now
        reached: list[tuple[Request, Owner]] = []
        if stopped:
            return reached, False
        speed = self.settings.speed
        while self._items:
            piece, owner, arrived = self._items[0]
            mm = piece.mm if isinstance(piece, Print) else 0.0
            if mm > 0 and self.paper_left is not None and self.paper_left < mm:
                return reached, True
            if speed > 0:
                head = max(head, arrived)  # idle until it came
                need = max(mm - self._done_mm, 0.0) / speed
                if head + need > now:
                    self._done_mm += max(0.0, now - head) * speed
                    break
                head += need
            self._items.popleft()
            self._done_mm = 0.0
            self.buffered -= len(piece.data)
            if isinstance(piece, Request):
                reached.append((piece, owner))
                continue
            self.paper += piece.data
            self.printed_mm += mm
            if self.paper_left is not None:
                self.paper_left -= mm
        return reached, False

    def due(self) -> float | None:
        """Seconds until the piece being printed is done (None: nothing to wait for)."""
        if not self._items or self.settings.speed <= 0:
            return None
        piece = self._items[0][0]
        mm = piece.mm if isinstance(piece, Print) else 0.0
        return max(0.0, mm - self._done_mm) / self.settings.speed

    def refill(self) -> None:
        """A new roll (of ``settings.roll``, which a test may change meanwhile): printing
        goes on where it stopped."""
        self.paper_left = self.settings.roll
        self.rolls += 1

    def drop(self) -> None:
        """Power off: the buffer is gone, the paper that came out stays."""
        self._items.clear()
        self.buffered = 0
        self._done_mm = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"speed": self.settings.speed, "roll": self.settings.roll,
                "paper_left": self.paper_left, "rolls": self.rolls,
                "printed_mm": round(self.printed_mm, 3), "buffered": self.buffered,
                "buffer": self.settings.buffer}
