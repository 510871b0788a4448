"""``scripts/install --system`` into a staging root: the files it writes, a venv with a
working ticketd, a second run that keeps an edited config, ``--uninstall``, and the unit
checked by ``systemd-analyze verify``.

The venv takes its dependencies from the venv running the tests (``--deps-from``), so the
install is offline and takes seconds; ticketd itself is built from this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

CHECKOUT = Path(__file__).resolve().parent.parent
UNIT = "etc/systemd/system/ticketd.service"
CONFIG = "etc/ticketd/ticketd.toml"
RULE = "etc/udev/rules.d/60-ticketd-printers.rules"
SYSUSERS = "usr/lib/sysusers.d/ticketd.conf"
WANTS = "etc/systemd/system/multi-user.target.wants/ticketd.service"


def clean_env(home: Path) -> dict[str, str]:
    """No PYTHONPATH: the installed venv must find ticketd in itself, not in the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(home)
    return env


class SystemInstallTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.assertNotEqual(sys.prefix, sys.base_prefix, "the tests must run in a venv")
        self.root = Path(self.mktemp()).resolve()
        self.root.mkdir(parents=True)
        self.env = clean_env(self.root.parent)

    def install(self, *args: str) -> str:
        done = subprocess.run(
            ["sh", str(CHECKOUT / "scripts/install"), "--system", *args, "--root",
             str(self.root), "--deps-from", sys.prefix],
            capture_output=True, text=True, env=self.env, timeout=300)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done.stdout

    def uninstall(self) -> str:
        done = subprocess.run(
            ["sh", str(CHECKOUT / "scripts/install"), "--uninstall", "--root", str(self.root)],
            capture_output=True, text=True, env=self.env, timeout=120)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done.stdout

    def venv_run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(self.root / "opt/ticketd/bin/python"), *args],
                              capture_output=True, text=True, env=self.env,
                              cwd=str(self.root.parent), timeout=120)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done

    def test_files(self) -> None:
        out = self.install()
        self.assertIn("not creating the user ticketd (groups lp, dialout)", out)
        self.assertIn("not started", out)

        unit = (self.root / UNIT).read_text()
        for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=30",
                     "StateDirectory=ticketd", "LogsDirectory=ticketd", "User=ticketd",
                     "SupplementaryGroups=lp dialout", "WorkingDirectory=/var/lib/ticketd",
                     "ExecStart=/opt/ticketd/bin/python -m ticketd -n --pidfile= "
                     "--logfile=- ticketd --config /etc/ticketd/ticketd.toml"):
            self.assertIn(line, unit.splitlines())
        self.assertEqual(os.readlink(self.root / WANTS), "/" + UNIT)

        config = tomllib.loads((self.root / CONFIG).read_text())
        self.assertEqual(config["state"]["directory"], "/var/lib/ticketd")
        self.assertEqual((self.root / CONFIG).stat().st_mode & 0o777, 0o640)

        rule = (self.root / RULE).read_text()
        self.assertIn('ENV{ID_USB_INTERFACES}=="*:07????:*", GROUP="lp", MODE="0660"', rule)
        self.assertIn('ATTR{idVendor}=="04b8", GROUP="lp", MODE="0660"', rule)
        self.assertNotIn("uaccess", rule)
        self.assertEqual(
            [line for line in (self.root / SYSUSERS).read_text().splitlines()
             if line and not line.startswith("#")],
            ['u ticketd - "ticketd print daemon" /var/lib/ticketd /usr/sbin/nologin',
             "m ticketd lp", "m ticketd dialout"])

    def test_venv_has_a_working_ticketd(self) -> None:
        self.install()
        venv = self.root / "opt/ticketd"
        where = self.venv_run("-c", "import ticketd; print(ticketd.__file__)").stdout.strip()
        self.assertTrue(Path(where).is_relative_to(venv), where)
        # The unit's command: twistd with the plugin, from the venv's own interpreter.
        self.assertIn("--config", self.venv_run("-m", "ticketd", "ticketd", "--help").stdout)
        # The installed config, read by the installed ticketd: the state is in /var/lib.
        state = self.venv_run("-c", "import sys; from ticketd.config import load; "
                              "print(load(sys.argv[1]).state.directory)",
                              str(self.root / CONFIG)).stdout.strip()
        self.assertEqual(state, "/var/lib/ticketd")
        png = self.root.parent / "showcase.png"
        self.venv_run(str(venv / "bin/ticketd-print"), "--preview", str(png),
                      str(CHECKOUT / "ticketd/web/static/examples/showcase.json"))
        self.assertEqual(png.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")

    def test_second_run_keeps_an_edited_config(self) -> None:
        self.install()
        path = self.root / CONFIG
        edited = path.read_text().replace("port = 8766", "port = 8999") + "# mine\n"
        path.write_text(edited)
        out = self.install()
        self.assertIn(f"kept {path}", out)
        self.assertEqual(path.read_text(), edited)
        self.assertTrue((self.root / UNIT).exists())

    def test_uninstall_keeps_state_and_config(self) -> None:
        self.install()
        state = self.root / "var/lib/ticketd"
        state.mkdir(parents=True)
        (state / "journal.sqlite3").write_bytes(b"jobs")
        out = self.uninstall()
        self.assertIn("kept", out)
        for gone in ("opt/ticketd", UNIT, RULE, SYSUSERS):
            self.assertFalse((self.root / gone).exists(), gone)
        self.assertFalse((self.root / WANTS).is_symlink())
        self.assertTrue((self.root / CONFIG).is_file())
        self.assertEqual((state / "journal.sqlite3").read_bytes(), b"jobs")

    def test_unit_passes_systemd_analyze_verify(self) -> None:
        """verify needs ExecStart's program to exist. ``--root=ROOT`` does not serve: the
        venv's python is a link to the system's interpreter, outside ROOT, and ROOT has
        none of the system's units (sysinit.target). So a copy of the unit with the venv's
        path under ROOT is verified against the system's units."""
        self.install()
        analyze = shutil.which("systemd-analyze")
        self.assertIsNotNone(analyze, "systemd-analyze is missing (Debian: apt install systemd)")
        assert analyze is not None
        copy = self.root.parent / "verify" / "ticketd.service"
        copy.parent.mkdir()
        copy.write_text((self.root / UNIT).read_text().replace(
            "/opt/ticketd/", f"{self.root}/opt/ticketd/"))
        done = subprocess.run([analyze, "verify", "--man=no", str(copy)],
                              capture_output=True, text=True, timeout=120)
        said = [line for line in (done.stdout + done.stderr).splitlines()
                if "ticketd" in line]
        self.assertEqual((done.returncode, said), (0, []), done.stdout + done.stderr)

    def test_a_bad_unit_fails_verify(self) -> None:
        """The check above can fail: a missing program is an error."""
        analyze = shutil.which("systemd-analyze")
        self.assertIsNotNone(analyze)
        assert analyze is not None
        copy = self.root / "ticketd.service"
        copy.write_text((CHECKOUT / "etc/ticketd.service").read_text().replace(
            "/opt/ticketd/", f"{self.root}/missing/"))
        done = subprocess.run([analyze, "verify", "--man=no", str(copy)],
                              capture_output=True, text=True, timeout=120)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(f"{self.root}/missing/bin/python", done.stdout + done.stderr)
