"""The emulated printer on a loopback TCP port, like a printer's port 9100."""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IListeningPort, IReactorTCP, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from ticketd.emulator.core import Emulator, Session
from ticketd.emulator.live import LiveEmulator


class PrinterProtocol(Protocol):
    """One client connection: feeds the core and carries out its :class:`Outcome`."""

    log = Logger()

    def __init__(self, emulator: Emulator, clock: IReactorTime) -> None:
        self.emulator = emulator
        self.clock = clock
        self.session: Session | None = None
        self._resume: IDelayedCall | None = None
        self._full = False  # the print buffer is full: not reading until it has room

    def connectionMade(self) -> None:
        peer = self.transport.getPeer()
        self.session = self.emulator.open_session(f"{peer.host}:{peer.port}")
        self.session.send = self.transport.write
        self.session.on_hang_up = self.transport.abortConnection
        self.session.on_room = self._room
        self.emulator.add_state_listener(self._state_changed)
        self.log.debug("emulator: connection {n} from {peer}",
                       n=self.session.record.number, peer=self.session.record.peer)

    def dataReceived(self, data: bytes) -> None:
        if self.session is None or not self.session.record.open:
            return
        out = self.session.receive(data)
        if out.reply:
            self.transport.write(out.reply)
        if out.hang_up:
            self.log.info("emulator: dropping connection {n} (disconnect_after)",
                          n=self.session.record.number)
            self.session.close()
            self.transport.abortConnection()
        elif out.full and not self._full:
            # flow control: a printer whose buffer is full stops reading; TCP then makes
            # the sender wait until the print head has made room
            self._full = True
            self.transport.pauseProducing()
        if not out.hang_up and out.pause > 0:
            # slow: stop reading for as long as the bytes "take to print"; TCP flow
            # control then slows the sender down, as a real printer's full buffer does.
            if self._resume is not None and self._resume.active():
                self._resume.delay(out.pause)
            else:
                self.transport.pauseProducing()
                self._resume = self.clock.callLater(out.pause, self._resume_reading)

    def _state_changed(self, state: Any) -> None:
        """Slow cleared: stop the pause now, not when the old rate says."""
        if state.slow_rate is None and self._resume is not None and self._resume.active():
            self._resume.cancel()
            self._resume_reading()

    def _resume_reading(self) -> None:
        self._resume = None
        if not self._full:
            self.transport.resumeProducing()

    def _room(self) -> None:
        self._full = False
        if self._resume is None or not self._resume.active():
            self.transport.resumeProducing()

    def connectionLost(self, reason: Any = None) -> None:
        self.emulator.remove_state_listener(self._state_changed)
        if self._resume is not None and self._resume.active():
            self._resume.cancel()
        self._resume = None
        if self.session is not None:
            self.session.close()


class PrinterFactory(Factory):
    """Builds :class:`PrinterProtocol` for one shared :class:`Emulator`."""

    noisy = False

    def __init__(self, emulator: Emulator, clock: IReactorTime) -> None:
        self.emulator = emulator
        self.clock = clock

    def buildProtocol(self, addr: Any) -> PrinterProtocol:
        p = PrinterProtocol(self.emulator, self.clock)
        p.factory = self
        return p


def listen(reactor: IReactorTCP, port: int = 0, interface: str = "127.0.0.1", *,
           emulator: LiveEmulator | None = None,
           clock: IReactorTime | None = None,
           receive_buffer: int | None = 16 * 1024) -> tuple[LiveEmulator, IListeningPort]:
    """Start an emulated printer; ``listening_port.getHost().port`` is the real port.

    ``clock`` times the slow fault (default: the reactor); stop with
    ``listening_port.stopListening()`` (open connections are not closed by that).
    """
    emulator = emulator if emulator is not None else LiveEmulator()
    emulator.attach(clock if clock is not None else reactor)  # type: ignore[arg-type]
    factory = PrinterFactory(emulator, clock if clock is not None else reactor)  # type: ignore[arg-type]
    listening = reactor.listenTCP(port, factory, interface=interface)
    sock = getattr(listening, "socket", None)
    if receive_buffer and sock is not None:
        # inherited by accepted connections: a printer-sized window, so that a writer
        # notices a slow or vanished printer instead of filling a huge loopback buffer
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    return emulator, listening
