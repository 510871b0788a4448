"""The real daemon as a subprocess (``twistd -n ticketd``) for end-to-end tests and benches.

``DaemonProcess(tmpdir)`` picks a free loopback port; ``start(config_text)`` writes the
config (``$port``, ``$state`` and ``$dir`` are substituted; ``[server]`` and ``[state]``
tables are prepended when the text has none), starts the process and waits until
``/health`` answers. Use :meth:`start_async` inside a running reactor (trial tests: an
emulated printer in the test's reactor must keep answering while the daemon starts) and
:meth:`start` from plain scripts. Always :meth:`stop` in cleanup; :meth:`kill9` simulates a
crash. The daemon's output goes to ``<dir>/daemon.log`` (shown when it fails to start).
"""

from __future__ import annotations

import os
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DaemonError(Exception):
    pass


class DaemonProcess:
    def __init__(self, directory: str | Path, port: int | None = None) -> None:
        self.dir = Path(directory).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.state = self.dir / "state"
        self.config_path = self.dir / "ticketd.toml"
        self.log_path = self.dir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def spool(self, printer: str) -> Path:
        """A virtual printer's spool directory (the default one)."""
        return self.state / "spool" / printer

    def write_config(self, config_text: str) -> Path:
        text = string.Template(config_text).safe_substitute(
            port=self.port, state=str(self.state), dir=str(self.dir))
        if "[server]" not in text:
            text = f'[server]\nlisten = "127.0.0.1"\nport = {self.port}\n' + text
        if "[state]" not in text:
            text = f'[state]\ndirectory = "{self.state}"\n' + text
        self.config_path.write_text(text, encoding="utf-8")
        return self.config_path

    def spawn(self, config_text: str | None = None) -> None:
        """Start the process without waiting (see :meth:`start` / :meth:`start_async`)."""
        if config_text is not None:
            self.write_config(config_text)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH",
                                                                                 ""))
        env.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(self.dir))
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n",
                 "--pidfile=", "--logfile=-", "ticketd", "--config", str(self.config_path)],
                cwd=str(self.dir), env=env, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/health", timeout=1) as r:
                return bool(r.status)
        except urllib.error.HTTPError:
            return True  # 503 degraded still means it is up
        except OSError:
            return False

    def _check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise DaemonError(f"ticketd exited with {self.proc.returncode}:\n{self.log_tail()}")

    def start(self, config_text: str | None = None, timeout: float = START_TIMEOUT) -> None:
        """Blocking: for scripts, not for code inside a running reactor."""
        self.spawn(config_text)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if self.healthy():
                return
            time.sleep(0.05)
        self.stop()
        raise DaemonError(f"ticketd not ready after {timeout:g} s:\n{self.log_tail()}")

    def start_async(self, reactor: Any, config_text: str | None = None,
                    timeout: float = START_TIMEOUT) -> Any:
        """A Deferred firing once ``/health`` answers; the reactor keeps running meanwhile
        (the check connects with the reactor, never blocks it)."""
        from twisted.internet import task
        from twisted.internet.defer import ensureDeferred
        from twisted.web.client import Agent, readBody

        self.spawn(config_text)
        agent = Agent(reactor, connectTimeout=1)

        async def wait() -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    response = await agent.request(b"GET", (self.base_url + "/health").encode())
                    await readBody(response)
                    return
                except Exception:
                    await task.deferLater(reactor, 0.05, lambda: None)
            self.stop()
            raise DaemonError(f"ticketd not ready after {timeout:g} s:\n{self.log_tail()}")

        return ensureDeferred(wait())

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop in time. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def stop_async(self, reactor: Any, timeout: float = STOP_TIMEOUT) -> Any:
        """:meth:`stop` without blocking the reactor (an emulated printer in the test's
        reactor may still be talking to the daemon while it drains its queues)."""
        from twisted.internet import task
        from twisted.internet.defer import ensureDeferred

        async def wait() -> int | None:
            if self.proc is None or self.proc.poll() is not None:
                return self.proc.returncode if self.proc else None
            self.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.proc.poll() is None and time.monotonic() < deadline:
                await task.deferLater(reactor, 0.02, lambda: None)
            if self.proc.poll() is None:
                self.proc.kill()
            return self.proc.wait(5)

        return ensureDeferred(wait())

    def kill9(self) -> None:
        """A crash: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def rss_kib(self) -> int:
        """Resident memory (VmRSS) in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise DaemonError("no VmRSS")

    def log(self) -> str:
        """Everything the daemon has logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
