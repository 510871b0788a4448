"""The printer's in-order confirmation of a job, without I/O: the request sent after the
job's bytes, and the reading of its answer out of whatever else the printer sends.

``DLE EOT`` is real-time: the printer answers it at once, before printing what its buffer
holds. Two requests are answered only once everything before them has been processed
(Epson ESC/POS): ``GS r 1`` (transmit the paper sensor status: one byte with bit 4 clear,
which no DLE EOT answer has) and ``GS ( H`` fn 48 (process ID response: ``37 22 d1 d2 d3
d4 00``, the four id bytes we sent). Their answer is the proof that the paper came out.
A printer that a raw job set to Automatic Status Back (``GS a``) also sends 4-byte status
packets by itself; their last three bytes look like a ``GS r`` answer, so they are passed
over whole, even when a read cuts one.

A link keeps its own :class:`Confirmations`: the answers to requests on a link that closed
can never arrive, so closing it makes them lost.
"""

from __future__ import annotations

import collections

import attrs

from ticketd.config_printer import IN_ORDER_CONFIRM as IN_ORDER
from ticketd.printers.status import PrinterStatus

GS_R_PAPER = b"\x1dr\x01"
_PID_HEAD = b"\x37\x22"
_PID_SIZE = 7
_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASB_MASK, _ASB_HEAD = 0x93, 0x10  # an ASB packet's first byte; a DLE EOT answer is 0x12


def process_id_request(ident: bytes) -> bytes:
    """``GS ( H pL pH fn m d1..d4`` with pL=6, pH=0, fn=48, m=48."""
    return b"\x1d(H\x06\x00\x30\x30" + ident


@attrs.frozen
class Confirmation:
    """How the wait for a job's answer went: ``confirmed``; else ``lost`` (the link it
    was asked on is gone: the answer can never come) or the real-time ``status`` read."""

    confirmed: bool
    status: PrinterStatus | None = None
    lost: bool = False


class Confirmations:
    """The requests of one link, in order, and their answers as they arrive."""

    def __init__(self, mode: str) -> None:
        if mode not in IN_ORDER:
            raise ValueError(f"no in-order confirmation with {mode!r}")
        self.mode = mode
        self._count = 0
        self._pending: collections.deque[str] = collections.deque()
        self._confirmed: set[str] = set()
        self._lost: set[str] = set()
        self._rest = b""
        self._asb_left = 0  # bytes of an Automatic Status Back packet still to come

    def request(self) -> tuple[str, bytes]:
        """A new request: (token, bytes to send after the job)."""
        self._count += 1
        n, ident = self._count, bytearray()
        for _ in range(4):
            n, digit = divmod(n, len(_ALPHABET))
            ident.append(_ALPHABET[digit])
        token = bytes(reversed(ident)).decode()
        self._pending.append(token)
        if self.mode == "gs_r":
            return token, GS_R_PAPER
        return token, process_id_request(token.encode())

    def feed(self, data: bytes) -> bytes:
        """Take the answers out of ``data``; the other bytes (DLE EOT answers) come back."""
        if self.mode == "gs_r":
            return self._feed_gs_r(data)
        return self._feed_process_id(data)

    def state(self, token: str) -> str:
        """"confirmed", "lost" or "pending"."""
        if token in self._confirmed:
            return "confirmed"
        if token in self._lost or token not in self._pending:
            return "lost"
        return "pending"

    def forget(self, token: str) -> None:
        """The job is done with: its answer need not be kept."""
        self._confirmed.discard(token)
        self._lost.discard(token)

    def link_closed(self) -> None:
        """The requests asked on the link that closed will never be answered."""
        self._lost.update(self._pending)
        self._pending.clear()
        self._rest = b""
        self._asb_left = 0

    def _answered(self, token: str | None = None) -> None:
        if token is None:
            if self._pending:
                self._confirmed.add(self._pending.popleft())
            return
        while self._pending:  # in order: those asked before it were answered or lost
            earlier = self._pending.popleft()
            if earlier == token:
                self._confirmed.add(token)
                return
            self._lost.add(earlier)

    def _feed_gs_r(self, data: bytes) -> bytes:
        rest = bytearray()
        for b in data:
            if self._asb_left:
                self._asb_left -= 1
                rest.append(b)
            elif b & _ASB_MASK == _ASB_HEAD:  # 0xx1 xx00: the first of 4
                self._asb_left = 3
                rest.append(b)
            elif b & 0x90 == 0 and self._pending:
                self._answered()
            else:
                rest.append(b)
        return bytes(rest)

    def _feed_process_id(self, data: bytes) -> bytes:
        buf = self._rest + data
        self._rest = b""
        rest = bytearray()
        i = 0
        while i < len(buf):
            if buf[i] != _PID_HEAD[0]:
                rest.append(buf[i])
                i += 1
                continue
            piece = buf[i:i + _PID_SIZE]
            if len(piece) < _PID_SIZE and _PID_HEAD.startswith(piece[:2]):
                self._rest = piece  # cut by the read: wait for the rest
                break
            if piece[:2] == _PID_HEAD and piece[6] == 0:
                token = piece[2:6].decode("ascii", "replace")
                if token in self._pending:
                    self._answered(token)
                i += _PID_SIZE
                continue
            rest.append(buf[i])
            i += 1
        return bytes(rest)
