"""Import hygiene and twistd's view of the plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("twisted.internet.reactor", "escpos", "PIL", "autobahn", "paho", "serial", "usb",
         "jsonschema", "sqlite3")


def loaded_after(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json\n"
         f"print(json.dumps([m for m in sys.modules if m.split('.')[0] in "
         f"{[h.split('.')[0] for h in HEAVY]!r} or m in {list(HEAVY)!r}]))"],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0, out.stderr
    return [m for m in json.loads(out.stdout.splitlines()[-1])
            if m in HEAVY or m.split(".")[0] in ("escpos", "PIL", "autobahn", "paho", "usb",
                                                 "serial", "jsonschema")]


class ImportTests(SynchronousTestCase):
    def test_import_ticketd_is_light(self) -> None:
        self.assertEqual(loaded_after("import ticketd"), [])

    def test_plugin_imports_nothing_heavy(self) -> None:
        self.assertEqual(loaded_after("import twisted.plugins.ticketd_plugin"), [])

    def test_documents_and_config_are_light(self) -> None:
        self.assertEqual(loaded_after("import ticketd.documents, ticketd.config"), [])


class PluginTests(SynchronousTestCase):
    def test_twistd_finds_the_plugin(self) -> None:
        from twisted.application.service import IServiceMaker
        from twisted.plugin import getPlugins
        names = [p.tapname for p in getPlugins(IServiceMaker)]
        self.assertIn("ticketd", names)

    def test_twistd_help_lists_the_option(self) -> None:
        out = subprocess.run(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
             "ticketd", "--help"], capture_output=True, text=True, cwd=ROOT,
            env={"PYTHONPATH": str(ROOT)}, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("--config", out.stdout)
