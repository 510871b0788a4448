"""A printer queue's job queue that an operator can pause: while paused, jobs wait in it
(still queued, still counted, still cancellable) and the printer's worker is handed none.

Kept apart from the printer queue so that the operator's pause is one small concept: it
is not a printer fault (no hold limit runs out, the printer's status is untouched), and it
lives only in memory: a restart resumes every printer.
"""

from __future__ import annotations

from typing import TypeVar

from twisted.internet.defer import Deferred, DeferredQueue

T = TypeVar("T")


class PausableQueue(DeferredQueue[T]):
    """A DeferredQueue whose getters wait while ``paused``, even with items pending."""

    paused = False

    def put(self, obj: T) -> None:
        if self.paused:
            self.pending.append(obj)  # unbounded, as the printer queue's own: never dropped
        else:
            super().put(obj)

    def get(self) -> Deferred[T]:
        if not self.paused:
            return super().get()
        d: Deferred[T] = Deferred(canceller=self._cancelGet)
        self.waiting.append(d)
        return d

    def pause(self, paused: bool) -> bool:
        """Pause (True) or resume (False); False when that changes nothing. Resuming hands
        the waiting getters their items at once, in order."""
        if paused == self.paused:
            return False
        self.paused = paused
        while not paused and self.waiting and self.pending:
            self.waiting.pop(0).callback(self.pending.pop(0))
        return True


__all__ = ["PausableQueue"]
