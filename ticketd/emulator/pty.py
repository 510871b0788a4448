"""The emulated printer behind a pseudo-terminal: the slave path stands in for
``/dev/usb/lp0`` (a ``file`` printer) or ``/dev/ttyUSB0`` (a ``serial`` printer).

The master side is served on the reactor with ``addReader``. The emulator keeps a slave
descriptor open itself, so that a client closing and reopening the path (as the device
connection does for the TM-U220 quirk) never makes the master read fail with EIO, and sets
the line raw so the tty layer neither echoes nor translates bytes.
"""

from __future__ import annotations

import os
import tty
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorFDSet, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from ticketd.emulator.core import Session
from ticketd.emulator.live import LiveEmulator


class PtyPrinter:
    """A pty pair served by :class:`LiveEmulator`; use :attr:`path` as the device.

    A pty cannot be hung up without destroying it, so the ``disconnect_after`` fault and a
    power cycle end the current session record (bytes after it go to a new one) instead of
    failing the writer. Answers that come later (in-order requests, ASB) are written to the
    master as they come; a full print buffer stops the reading until it has room, which
    the tty layer passes on to the writer as a blocked write.
    """

    log = Logger()

    def __init__(self, reactor: IReactorFDSet, clock: IReactorTime | None = None,
                 emulator: LiveEmulator | None = None) -> None:
        self.reactor = reactor
        self.clock = clock if clock is not None else reactor  # type: ignore[assignment]
        self.emulator = emulator if emulator is not None else LiveEmulator()
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self._resume: IDelayedCall | None = None
        self._reading = False
        self._closed = False
        self._full = False  # the print buffer is full: not reading until it has room
        self.session: Session = self._new_session()
        self.emulator.add_state_listener(self._state_changed)

    def _new_session(self) -> Session:
        session = self.emulator.open_session(f"pty {self.path}")
        session.send = self._write
        session.on_hang_up = self._hung_up
        session.on_room = self._room
        return session

    def _write(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            os.write(self.master, data)
        except OSError as e:
            self.log.warn("emulator pty {path}: answer lost: {error}", path=self.path,
                          error=e.strerror)

    def _hung_up(self) -> None:
        """A power cycle: later bytes are a new session's."""
        if not self._closed:
            self.session = self._new_session()
            self._room()  # the buffer it waited for is gone

    # IReadDescriptor
    def fileno(self) -> int:
        return self.master if not self._closed else -1

    def logPrefix(self) -> str:
        return "PtyPrinter"

    def connectionLost(self, reason: Failure) -> None:
        self.stop()

    def doRead(self) -> None:
        if not self._reading:  # removed in this reactor iteration (slow pause)
            return
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError as e:
            self.log.warn("emulator pty {path}: read failed: {error}", path=self.path,
                          error=e.strerror)
            return
        if not data:
            return
        out = self.session.receive(data)
        if self._closed:  # a waiter fired by receive() may have stopped us
            return
        if out.reply:
            self._write(out.reply)
        if out.hang_up:
            self.session.close()
            self.session = self._new_session()
            return
        if out.full:
            self._full = True
            self._stop_reading()
        if out.pause > 0:
            self._stop_reading()
            if self._resume is not None and self._resume.active():
                self._resume.cancel()
            self._resume = self.clock.callLater(out.pause, self._start_reading)

    def _state_changed(self, state: Any) -> None:
        if state.slow_rate is None and self._resume is not None and self._resume.active():
            self._resume.cancel()
            self._start_reading()

    def _room(self) -> None:
        self._full = False
        if self._resume is None or not self._resume.active():
            self._start_reading()

    def _start_reading(self) -> None:
        self._resume = None
        if not self._reading and not self._closed and not self._full:
            self._reading = True
            self.reactor.addReader(self)  # type: ignore[arg-type]

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self.reactor.removeReader(self)  # type: ignore[arg-type]

    def start(self) -> "PtyPrinter":
        self._start_reading()
        return self

    def stop(self) -> None:
        """Stop serving and close both ends (the path disappears)."""
        if self._closed:
            return
        self._stop_reading()
        self.emulator.remove_state_listener(self._state_changed)
        if self._resume is not None and self._resume.active():
            self._resume.cancel()
        self._resume = None
        self.session.close()
        self._closed = True
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


def open_pty(reactor: Any, *, clock: IReactorTime | None = None,
             emulator: LiveEmulator | None = None) -> PtyPrinter:
    """Start an emulated printer on a new pty; ``.path`` is the device, ``.stop()`` ends it."""
    return PtyPrinter(reactor, clock, emulator).start()
