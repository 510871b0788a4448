"""The real daemon as a subprocess (``twistd -n ticketd``), for tests that must kill it.

Same shape as the planned ``tests/daemon.py`` DaemonProcess: start(config_text) waits for
/health; stop() is SIGTERM and wait; kill9() is SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class DaemonProcess:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.state = self.directory / "state"
        self.log_path = self.directory / "daemon.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, config_text: str, port: int, timeout: float = 20.0) -> "DaemonProcess":
        """``config_text`` must use ``port`` for ``[server] port``."""
        self.port = port
        cfg = self.directory / "ticketd.toml"
        cfg.write_text(config_text)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n",
             "--pidfile=", "--logfile=-", "ticketd", "--config", str(cfg)],
            cwd=self.directory, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited with {self.process.returncode}:\n"
                                     f"{self.log()}")
            try:
                urllib.request.urlopen(self.base_url + "/health", timeout=1).read()
                return self
            except urllib.error.HTTPError:
                return self  # 503 degraded: up all the same
            except OSError:
                time.sleep(0.1)
        self.kill9()
        raise AssertionError(f"daemon did not answer /health in {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        p, self.process = self.process, None
        if p is None or p.poll() is not None:
            return p.returncode if p else None
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            raise AssertionError(f"daemon did not stop on SIGTERM:\n{self.log()}")

    def kill9(self) -> None:
        p, self.process = self.process, None
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
