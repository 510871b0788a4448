"""The DLE EOT 1..4 exchange shared by every byte-stream connection (TCP, tty, device node).

Kept apart from the I/O so that each adapter only supplies "send these bytes" and "give me
whatever arrives within t seconds"; the rules (one query at a time, skip stray bytes, stop at
the first unanswered query) then hold the same for every wire.
"""

from __future__ import annotations

import time
from typing import Callable

from ticketd.printers import status
from ticketd.printers.status import PrinterStatus, StatusParser


def exchange(send: Callable[[bytes], None], recv: Callable[[float], bytes],
             timeout: float, clock: Callable[[], float] = time.monotonic) -> PrinterStatus:
    """Ask DLE EOT n for n = 1..4, one at a time, each answered within ``timeout``.

    ``recv(t)`` returns the bytes that arrived within ``t`` seconds (``b""`` if none) and
    raises ``OSError`` on an I/O error, which propagates: the caller decides whether that
    means "Printer not connected". Bytes that do not have the status pattern (leftovers of
    earlier traffic, an XON) are skipped. If the printer stops answering after n = 1 the
    answers so far are still parsed; if it never answers, the result is "No response".
    """
    parser = StatusParser()
    for n in status.QUERIES:
        send(status.query(n))
        reply = _await_status_byte(recv, timeout, clock)
        if reply is None:
            if n == 1:
                return status.no_response(f"no reply to DLE EOT 1 within {timeout:g} s")
            break
        parser.reply(n, reply)
    return parser.result()


def _await_status_byte(recv: Callable[[float], bytes], timeout: float,
                       clock: Callable[[], float]) -> int | None:
    deadline = clock() + timeout
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            return None
        chunk = recv(remaining)
        for b in chunk:
            if status.is_status_byte(b):
                return b
