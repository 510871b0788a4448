"""``ticketd-emulator``: run one emulated printer until interrupted.

Prints one line per endpoint so that scripts can parse them, e.g.::

    ticketd-emulator: listening on 127.0.0.1:9100
    ticketd-emulator: pty at /dev/pts/7
    ticketd-emulator: control on http://127.0.0.1:9101/
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import attrs

from ticketd.emulator import tcp
from ticketd.emulator.control import control_site
from ticketd.emulator.core import ConnectionRecord
from ticketd.emulator.live import LiveEmulator
from ticketd.emulator.mechanism import PrintSettings

PREFIX = "ticketd-emulator:"


def _at_least(kind: type, low: float, strict: bool, what: str) -> Callable[[str], Any]:
    """An argparse type: a finite ``kind`` >= ``low`` (> when ``strict``); argparse puts the
    option's name before the message."""
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"{text!r}: must be {'more than' if strict else 'at least'} {low:g} {what}")
        return value
    return convert


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ticketd-emulator",
                                description="An emulated ESC/POS receipt printer.")
    p.add_argument("--port", type=int, default=9100, help="TCP port (0 = any free port)")
    p.add_argument("--listen", default="127.0.0.1", help="address to listen on")
    p.add_argument("--pty", action="store_true", help="also serve a pseudo-terminal")
    p.add_argument("--control-port", type=int, default=None,
                   help="loopback port of the JSON control API (0 = any free port)")
    p.add_argument("--record", type=Path, default=None, metavar="DIR",
                   help="write each connection's bytes to DIR/conn-N.bin")
    p.add_argument("--fault", default="ready", help="initial status fault")
    p.add_argument("--speed", type=_at_least(float, 0, False, "mm/s"), default=200.0,
                   help="print speed in mm/s, like a TM-T20 (0 = instant)")
    p.add_argument("--paper", type=_at_least(float, 0, True, "mm"), default=None, metavar="MM",
                   help="paper per roll in mm: the paper runs out after that (default: "
                        "endless)")
    p.add_argument("--buffer", type=_at_least(int, 1, False, "byte"), default=4096,
                   metavar="BYTES",
                   help="receive buffer: the printer stops reading when it is full")
    return p.parse_args(argv)


class Recorder:
    """Appends each connection's raw bytes to ``DIR/conn-N.bin`` as they arrive."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[int, Any] = {}

    def __call__(self, event: str, record: ConnectionRecord, data: bytes) -> None:
        if event == "connect":
            self._files[record.number] = open(self.directory / f"conn-{record.number}.bin", "wb")
        elif event == "data" and record.number in self._files:
            f = self._files[record.number]
            f.write(data)
            f.flush()
        elif event == "disconnect":
            f = self._files.pop(record.number, None)
            if f is not None:
                f.close()

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()


@attrs.frozen
class Running:
    """What :func:`start` set up, for tests and for shutdown."""

    emulator: LiveEmulator
    ports: tuple[Any, ...]
    pty: Any
    recorder: Recorder | None

    def stop(self) -> None:
        self.emulator.stop()
        for p in self.ports:
            p.stopListening()
        if self.pty is not None:
            self.pty.stop()
        if self.recorder is not None:
            self.recorder.close()


def start(reactor: Any, args: argparse.Namespace,
          say: Callable[[str], None] = print) -> Running:
    """Set everything up on ``reactor`` (not run it) and announce the endpoints."""
    emulator = LiveEmulator(PrintSettings(speed=args.speed, roll=args.paper,
                                          buffer=args.buffer), clock=reactor)
    emulator.set_fault(args.fault)
    recorder = None
    if args.record is not None:
        recorder = Recorder(args.record)
        emulator.add_observer(recorder)
    ports = []
    _, port = tcp.listen(reactor, args.port, args.listen, emulator=emulator)
    ports.append(port)
    host = port.getHost()
    say(f"{PREFIX} listening on {host.host}:{host.port}")
    pty = None
    if args.pty:
        from ticketd.emulator.pty import open_pty  # noqa: PLC0415 - POSIX only
        pty = open_pty(reactor, emulator=emulator)
        say(f"{PREFIX} pty at {pty.path}")
    if args.control_port is not None:
        cport = reactor.listenTCP(args.control_port, control_site(emulator),
                                  interface="127.0.0.1")
        ports.append(cport)
        say(f"{PREFIX} control on http://127.0.0.1:{cport.getHost().port}/")
    return Running(emulator, tuple(ports), pty, recorder)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from twisted.internet import reactor  # noqa: PLC0415 - only the CLI owns the reactor
    from twisted.logger import globalLogBeginner, textFileLogObserver  # noqa: PLC0415

    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)],
                                     redirectStandardIO=False)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        running = start(reactor, args, say)
    except Exception as e:  # noqa: BLE001 - port in use, bad fault: one line, exit 1
        print(f"{PREFIX} error: {e}", file=sys.stderr)
        return 1
    reactor.addSystemEventTrigger("before", "shutdown", running.stop)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
