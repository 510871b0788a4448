"""Start-up under real faults, with the real ``twistd``: a second daemon on the same state
directory, a port in use, an unwritable state directory, a journal that is not the one
the state directory recorded; and a daemonized start (no ``-n``) with a pidfile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from twisted.internet import reactor, task
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ticketd.client import connect
from tests.daemon import ROOT, DaemonProcess, free_port

VIRTUAL = '[printers.v]\nconnection = "virtual"\n'


def twistd(config: Path, *args: str, cwd: Path, timeout: float = 30.0
           ) -> subprocess.CompletedProcess[str]:
    """``twistd ARGS ticketd --config CONFIG``, waited for; stdout and stderr apart."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(cwd))
    return subprocess.run(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", *args,
         "ticketd", "--config", str(config)],
        cwd=str(cwd), env=env, capture_output=True, text=True, timeout=timeout)


class RefusedStartTests(SynchronousTestCase):
    """Each refusal: exit 1, one line on stderr naming the setting, no traceback."""

    def setUp(self) -> None:
        self.daemon = DaemonProcess(self.mktemp())
        self.addCleanup(self.daemon.stop)

    def refused(self, config: Path | None = None) -> str:
        done = twistd(config or self.daemon.config_path, "-n", "--pidfile=", "--logfile=-",
                      cwd=self.daemon.dir)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertNotIn("Traceback", done.stdout + done.stderr)
        self.assertNotIn("Usage:", done.stdout + done.stderr)
        lines = done.stderr.splitlines()
        self.assertEqual(len(lines), 1, done.stderr)
        return lines[0]

    def test_second_daemon_on_one_state_directory(self) -> None:
        self.daemon.start(VIRTUAL)
        other = self.daemon.dir / "other.toml"
        other.write_text(self.daemon.config_path.read_text().replace(
            f"port = {self.daemon.port}", f"port = {free_port()}"))
        line = self.refused(other)
        self.assertEqual(line, f"state.directory {self.daemon.state}: in use by another "
                               f"ticketd, PID {self.daemon.pid}")
        self.assertTrue(self.daemon.healthy())  # the first one is untouched

    def test_port_in_use(self) -> None:
        self.daemon.start(VIRTUAL)
        other = self.daemon.dir / "other.toml"
        other.write_text(self.daemon.config_path.read_text().replace(
            str(self.daemon.state), str(self.daemon.dir / "state2")))
        line = self.refused(other)
        self.assertTrue(line.startswith(f"server.port: cannot listen on 127.0.0.1:"
                                        f"{self.daemon.port}: "), line)

    def test_unwritable_state_directory(self) -> None:
        blocker = self.daemon.dir / "a-file"
        blocker.write_text("not a directory")
        self.daemon.write_config(f'[state]\ndirectory = "{blocker}/state"\n' + VIRTUAL)
        line = self.refused()
        self.assertTrue(line.startswith(f"state.directory {blocker}/state: cannot write "
                                        "there: "), line)

    def test_journal_removed_after_a_first_start(self) -> None:
        self.daemon.start(VIRTUAL)
        self.daemon.stop()
        journal = self.daemon.state / "journal.sqlite3"
        for name in ("journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm"):
            (self.daemon.state / name).unlink(missing_ok=True)
        line = self.refused()
        self.assertTrue(line.startswith(f"{journal}: the journal is missing but "), line)
        self.assertIn("remove", line)

    def test_garbage_journal(self) -> None:
        self.daemon.start(VIRTUAL)
        self.daemon.stop()
        journal = self.daemon.state / "journal.sqlite3"
        journal.write_bytes(b"this is not a database at all" * 100)
        line = self.refused()
        self.assertTrue(line.startswith(f"{journal}: the journal is corrupt or unreadable"),
                        line)

    def test_fresh_start_on_purpose(self) -> None:
        """The documented way: remove journal.id with the journal files."""
        self.daemon.start(VIRTUAL)
        self.daemon.stop()
        for name in ("journal.id", "journal.sqlite3", "journal.sqlite3-wal",
                     "journal.sqlite3-shm"):
            (self.daemon.state / name).unlink(missing_ok=True)
        self.daemon.start(VIRTUAL)
        self.assertTrue((self.daemon.state / "journal.id").exists())


class DaemonizedTests(TestCase):
    """``twistd`` without ``-n``: the lock and journal are opened in the daemon child."""

    timeout = 60

    async def test_daemonized_start_prints_and_stops_by_pidfile(self) -> None:
        daemon = DaemonProcess(self.mktemp())
        daemon.write_config(VIRTUAL)
        pidfile = daemon.dir / "ticketd.pid"
        logfile = daemon.dir / "ticketd.log"
        done = twistd(daemon.config_path, f"--pidfile={pidfile}", f"--logfile={logfile}",
                      cwd=daemon.dir)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        pid = int(pidfile.read_text().strip())
        self.addCleanup(_kill, pid)
        self.assertEqual((daemon.state / "ticketd.lock").read_text().strip(), str(pid))
        for _ in range(200):
            if daemon.healthy():
                break
            await task.deferLater(reactor, 0.05, lambda: None)
        client = await connect(reactor, daemon.ws_url)
        try:
            ack = await client.raw(b"\x1b@daemonized\n", "v", "d-1")
            self.assertEqual(ack["tipo"], "ack")
            result = await client.result("d-1")
            self.assertEqual(result["status"], "success")
        finally:
            await client.close()
        self.assertEqual((daemon.spool("v") / "d-1.bin").read_bytes(), b"\x1b@daemonized\n")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            await task.deferLater(reactor, 0.05, lambda: None)
        self.assertFalse(_alive(pid))
        self.assertFalse(pidfile.exists())
        self.assertNotIn("Traceback", logfile.read_text())

    def test_daemonized_refusal(self) -> None:
        """A refused daemonized start exits 1; the reason is in the log and in what
        twistd's waiting parent prints."""
        daemon = DaemonProcess(self.mktemp())
        blocker = daemon.dir / "a-file"
        blocker.write_text("x")
        daemon.write_config(f'[state]\ndirectory = "{blocker}/s"\n' + VIRTUAL)
        pidfile = daemon.dir / "ticketd.pid"
        logfile = daemon.dir / "ticketd.log"
        done = twistd(daemon.config_path, f"--pidfile={pidfile}", f"--logfile={logfile}",
                      cwd=daemon.dir)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertIn("state.directory", done.stderr)
        log = logfile.read_text()
        self.assertIn(f"state.directory {blocker}/s: cannot write there", log)
        self.assertNotIn("Traceback", log)
        self.assertFalse(pidfile.exists())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")


def _kill(pid: int) -> None:
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
