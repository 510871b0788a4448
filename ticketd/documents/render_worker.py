"""A render process: documents in on stdin, ESC/POS out on stdout (``python -m
ticketd.documents.render_worker``).

The daemon's printer threads send their documents here (``ticketd/jobs/render_processes.py``)
so that rendering, the largest part of a receipt's Python work, runs beside the daemon's
interpreter lock instead of under it. The wire, both ways a header then its bodies
(docs/architecture.rst, "Render processes"), after the byte READY that the process writes
once its renderer is imported:

- request: ``<IB`` (length of the document, flags: 1 = checked at intake, 2 = strict), then
  the document as UTF-8 JSON, as the job keeps it;
- result: ``<BII`` (status, length of A, length of B), then A and B. Status 0: A is the
  ESC/POS bytes, B the warnings as a JSON list; 1: A is the document's error
  (``DocumentError``, the job fails with it); 2: A is the traceback of what went wrong
  inside.

The process holds no state but its image cache; it ends at the end of its input, or when
its output is gone (the daemon stops, or died: nothing outlives it).
"""

from __future__ import annotations

import json
import os
import signal
import struct
import sys
import traceback
from typing import BinaryIO, Callable

from .errors import DocumentError
from .images import ImageCache

READY = b"\x01"  # written once, when the renderer is imported
REQUEST = struct.Struct("<IB")
RESULT = struct.Struct("<BII")
CHECKED, STRICT = 1, 2
OK, REFUSED, BROKEN = 0, 1, 2


def request(payload: bytes, checked: bool, strict: bool) -> bytes:
    """One request's bytes."""
    flags = (CHECKED if checked else 0) | (STRICT if strict else 0)
    return REQUEST.pack(len(payload), flags) + payload


def result(status: int, a: bytes, b: bytes = b"") -> bytes:
    """One result's bytes."""
    return RESULT.pack(status, len(a), len(b)) + a + b


def render_request(payload: bytes, flags: int, cache: ImageCache) -> bytes:
    """The result for one request: what rendering in the printer's thread would give."""
    from . import render_kept

    try:
        rendered = render_kept(payload, checked=bool(flags & CHECKED),
                               strict=bool(flags & STRICT), image_cache=cache)
    except DocumentError as e:
        return result(REFUSED, str(e).encode(errors="backslashreplace"))
    except Exception:  # the same bug in the printer's thread: an internal error
        return result(BROKEN, traceback.format_exc().encode(errors="backslashreplace"))
    return result(OK, rendered.data, json.dumps(list(rendered.warnings)).encode())


def serve(read: Callable[[int], bytes], write: Callable[[bytes], object]) -> None:
    """Answer requests until the input ends (mid-request too)."""
    cache = ImageCache()
    while True:
        head = _exactly(read, REQUEST.size)
        if head is None:
            return
        length, flags = REQUEST.unpack(head)
        payload = _exactly(read, length)
        if payload is None:
            return
        write(render_request(payload, flags, cache))


def _exactly(read: Callable[[int], bytes], n: int) -> bytes | None:
    """``n`` bytes, or None at the end of the input."""
    parts, got = [], 0
    while got < n:
        part = read(n - got)
        if not part:
            return None
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def main(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Serve on the process's stdin and stdout. Ctrl-C in the daemon's terminal reaches
    this process too: the daemon ends it (by closing its input), so it ignores SIGINT
    (``etc/ticketd.service`` sends SIGTERM to the daemon alone, for the same reason). The
    results go to a copy of stdout; stdout itself becomes stderr, so that a stray print
    in a library cannot corrupt them. The renderer is imported first, while the daemon
    starts, not on the first receipt."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .escpos_import import import_renderer

    import_renderer()  # python-escpos and Pillow, before the first job

    out = os.dup(stdout.fileno())
    os.dup2(sys.stderr.fileno(), stdout.fileno())
    fd_in = stdin.fileno()

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(out, view):]

    try:
        write(READY)
        serve(lambda n: os.read(fd_in, n), write)
    except OSError:  # EPIPE: the daemon is gone (or refused to start): nothing to say
        pass


if __name__ == "__main__":
    main(sys.stdin.buffer, sys.stdout.buffer)
