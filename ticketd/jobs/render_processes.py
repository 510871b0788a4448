"""Render processes: the printer threads' documents rendered in worker processes.

Python threads share one interpreter lock, and rendering is the largest part of a
receipt's Python work: in a process of its own it runs on another core beside the
reactor, the journal and the transports (docs/architecture.rst, "Render processes"). A
printer thread takes an idle process, writes the document to it and waits for the bytes
(blocking, with no reactor: it is the printer's own thread). When none is idle, or one
fails or does not answer within :data:`DEADLINE`, the thread renders the document itself,
as it would without them: a process can only take work off the daemon, never a job. A
process that failed is replaced after :data:`RESPAWN_AFTER` seconds.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Sequence

from twisted.logger import Logger

from ticketd.documents.render_worker import BROKEN, OK, READY, REFUSED, RESULT, request
from ticketd.jobs.printer_work import RENDER_ALLOWANCE, PreparationError

RESPAWN_AFTER = 30.0  # seconds after a process failed before another one is started
#: Seconds a process has for one document: a third of what the printer's thread has, so
#: that the thread can still render it itself when a process hangs (or was stopped).
DEADLINE = RENDER_ALLOWANCE / 3
MAX_RESULT = 256 << 20  # bytes: a longer result is a broken process, not a receipt


def worker_command() -> tuple[str, ...]:
    """The daemon's own interpreter on the daemon's own copy of ticketd, wherever that
    is (an installed package, a checkout on ``PYTHONPATH``)."""
    import ticketd

    root = os.path.dirname(os.path.dirname(os.path.abspath(ticketd.__file__)))
    return (sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r}); "
            "from ticketd.documents.render_worker import main; "
            "main(sys.stdin.buffer, sys.stdout.buffer)")


class ProcessFailed(Exception):
    """The process ended, or its answer made no sense: it is replaced."""


class TooLate(Exception):
    """No answer by the deadline."""


class _Process:
    """One render process and its two pipes (non-blocking: every wait has the deadline);
    used by one printer thread at a time."""

    def __init__(self, command: Sequence[str]) -> None:
        self.popen = subprocess.Popen(list(command), stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, bufsize=0, close_fds=True)
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self._in, self._out = self.popen.stdin.fileno(), self.popen.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        # poll, not select: a busy daemon's descriptors pass 1024
        self._writable, self._readable = select.poll(), select.poll()
        self._writable.register(self._in, select.POLLOUT)
        self._readable.register(self._out, select.POLLIN)
        self.ready = False  # it said READY: its renderer is imported

    def check_ready(self) -> bool:
        """Whether it has said READY (without waiting); ProcessFailed if it ended."""
        if not self.ready and self._readable.poll(0):
            try:
                said = os.read(self._out, 1)
            except BlockingIOError:
                return False
            except OSError as e:
                raise ProcessFailed(str(e)) from None
            if said != READY:
                raise ProcessFailed(f"it said {said!r} at start (exit status "
                                    f"{self.exit_status()})")
            self.ready = True
        return self.ready

    def render(self, payload: bytes, checked: bool, strict: bool, timeout: float
               ) -> tuple[int, bytes, bytes]:
        """(status, A, B) of the result; ProcessFailed, or TooLate after ``timeout``
        seconds."""
        deadline = time.monotonic() + timeout
        try:
            self._write(memoryview(request(payload, checked, strict)), deadline)
            status, a, b = RESULT.unpack(self._read(RESULT.size, deadline))
            if a + b > MAX_RESULT:
                raise ProcessFailed(f"a result of {a + b} bytes")
            body = self._read(a + b, deadline)
        except OSError as e:  # EPIPE: it ended
            raise ProcessFailed(f"{e} (exit status {self.exit_status()})") from None
        return status, body[:a], body[a:]

    @staticmethod
    def _wait(poll: Any, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0 or not poll.poll(left * 1000):
            raise TooLate

    def _write(self, data: memoryview, deadline: float) -> None:
        while True:  # a request mostly fits the pipe: written at the first try
            try:
                data = data[os.write(self._in, data):]
            except BlockingIOError:
                pass
            if not data:
                return
            self._wait(self._writable, deadline)

    def _read(self, n: int, deadline: float) -> bytes:
        parts, got = [], 0
        while got < n:
            self._wait(self._readable, deadline)
            try:
                part = os.read(self._out, min(n - got, 1 << 20))
            except BlockingIOError:
                continue
            if not part:
                raise ProcessFailed(f"it ended (exit status {self.exit_status()})")
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def exit_status(self) -> int | str:
        try:
            return self.popen.wait(1.0)
        except subprocess.TimeoutExpired:
            return "none yet"

    def close(self) -> None:
        """End it: its input closes, then it is killed and reaped (it holds no state)."""
        for pipe in (self.popen.stdin, self.popen.stdout):
            if pipe is not None:
                pipe.close()
        if self.popen.poll() is None:
            self.popen.kill()
        try:
            self.popen.wait(2.0)
        except subprocess.TimeoutExpired:
            pass


class RenderProcesses:
    """``count`` render processes for every printer's thread; ``render`` is called there."""

    log = Logger()

    def __init__(self, count: int, command: Sequence[str] | None = None,
                 deadline: float = DEADLINE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self._command = tuple(command) if command is not None else worker_command()
        self._deadline = deadline
        self._clock = clock
        self._lock = threading.Lock()
        self._idle: list[_Process] = []
        self._alive = 0          # idle or in use
        self._retry_at = 0.0     # no new process before this (after a failure)
        self._running = False

    def start(self) -> None:
        """Start the processes (they import the renderer while the daemon starts)."""
        with self._lock:
            self._running = True
        started = 0
        for _ in range(self.count):
            with self._lock:
                self._alive += 1
            process = self._spawn()
            if process is not None:
                self._give_back(process)
                started += 1
        if started:
            self.log.info("rendering in {n} process(es) beside the daemon", n=started)

    def stop(self) -> None:
        """End the idle processes; one in use ends when its thread is done with it."""
        with self._lock:
            self._running, idle, self._idle = False, self._idle, []
        for process in idle:
            self._close(process)

    def render(self, payload: bytes, checked: bool, strict: bool
               ) -> tuple[bytes, tuple[str, ...]] | None:
        """The bytes and warnings, as ``prepare`` makes them, or None: render in this
        thread (no process idle; or it failed, or did not answer within the deadline: it
        is killed, and the thread, with the rest of its time, renders as it would
        without processes). Raises PreparationError for the document's own error."""
        process = self._take()
        if process is None:
            return None
        try:
            status, a, b = process.render(payload, checked, strict, self._deadline)
            if status == OK:
                warnings = tuple(json.loads(b))
            elif status not in (REFUSED, BROKEN):
                raise ProcessFailed(f"unknown status {status}")
        except TooLate:
            return self._lost(process, f"no answer within {self._deadline:g} s")
        except Exception as e:  # ProcessFailed, a result that does not read ...
            return self._lost(process, e)
        except BaseException:
            self._close(process, failed=True)
            raise
        self._give_back(process)
        if status == REFUSED:
            raise PreparationError(a.decode(errors="replace"))
        if status == BROKEN:  # the thread tries too: it fails the same way, or not
            self.log.warn("render process {pid}: internal error, rendering in the printer's "
                          "thread: {traceback}", pid=process.popen.pid,
                          traceback=a.decode(errors="replace"))
            return None
        return a, warnings

    def _take(self) -> _Process | None:
        """An idle process that is ready, or None. A process is started here when one is
        missing (after a failure), and lent out once it has said READY: its start-up
        (importing the renderer) delays no job."""
        with self._lock:
            process = self._idle.pop() if self._idle else None
            spawn = process is None and self._running and self._alive < self.count and \
                self._clock() >= self._retry_at
            if spawn:
                self._alive += 1
        if spawn:
            process = self._spawn()
            if process is not None:
                self._give_back(process)
            return None
        if process is None:
            return None
        try:
            ready = process.check_ready()
        except ProcessFailed as e:
            return self._lost(process, e)
        if not ready:
            self._give_back(process)
            return None
        return process

    def _spawn(self) -> _Process | None:
        """A new process, in the place the caller counted in ``_alive`` (given up if it
        does not start)."""
        try:
            return _Process(self._command)
        except Exception as e:  # OSError: no such program; anything else Popen raises
            self.log.error("cannot start a render process with {executable}: {why}",
                           executable=self._command[0], why=e)
            with self._lock:
                self._alive -= 1
                self._retry_at = self._clock() + RESPAWN_AFTER
            return None

    def _lost(self, process: _Process, why: object) -> None:
        """That process failed: closed, and said; the thread renders this document."""
        self.log.warn("render process {pid} failed ({why}): rendering in the printer's "
                      "thread until another one starts", pid=process.popen.pid, why=why)
        self._close(process, failed=True)

    def _give_back(self, process: _Process) -> None:
        with self._lock:
            if self._running:
                self._idle.append(process)
                return
        self._close(process)

    def _close(self, process: _Process, failed: bool = False) -> None:
        with self._lock:
            self._alive -= 1
            if failed:
                self._retry_at = self._clock() + RESPAWN_AFTER
        process.close()
