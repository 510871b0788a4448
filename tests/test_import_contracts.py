"""The layering of docs/architecture.rst, as import-linter contracts (``.importlinter``): the
suite fails when an import breaks a direction, and a planted violation shows that it would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import TestCase

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ``ticketd`` package found in ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([str(LINT), "--no-cache", str(root / ".importlinter")], cwd=root,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


class ContractTests(TestCase):
    def test_the_tree_keeps_every_contract(self) -> None:
        self.assertTrue(LINT.exists(), f"{LINT} is missing: run scripts/install --test")
        done = lint(ROOT)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("0 broken", done.stdout)

    def test_a_planted_violation_fails(self) -> None:
        """A transport that reaches around the print service into the job manager."""
        copy = Path(self.mktemp()).resolve()
        copy.mkdir()
        shutil.copytree(ROOT / "ticketd", copy / "ticketd",
                        ignore=shutil.ignore_patterns("__pycache__", "static"))
        shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
        health = copy / "ticketd" / "web" / "health.py"
        health.write_text(health.read_text() + "\nfrom ticketd.jobs.manager import JobManager\n")
        done = lint(copy)
        self.assertNotEqual(done.returncode, 0, done.stdout)
        self.assertIn("The transports reach the job core only through the print service BROKEN",
                      " ".join(done.stdout.split()))
        self.assertIn("ticketd.web.health -> ticketd.jobs.manager", done.stdout)
