"""``ticketd-print`` (ticketd.cli) as a subprocess against the real daemon."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from twisted.internet.utils import getProcessOutputAndValue

from tests.daemon import ROOT, free_port
from tests.ws_support import DaemonTestCase, doc

PRINTERS = """
[printers.virt]
connection = "virtual"
default = true
aliases = ["58mm PT-210"]
"""


class CliTests(DaemonTestCase):
    printers = PRINTERS
    connect_client = False

    async def cli(self, *args: str) -> tuple[int, str, str]:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        out, err, code = await self.within(getProcessOutputAndValue(
            sys.executable, ["-m", "ticketd.cli", *args], env=env, path=str(ROOT),
            reactor=self.reactor), 30)
        return code, out.decode(), err.decode()

    def write(self, name: str, content: bytes | dict) -> str:
        path = Path(self.daemon.dir) / name
        path.write_bytes(json.dumps(content).encode() if isinstance(content, dict) else content)
        return str(path)

    async def test_print_document_twice_with_the_same_id(self) -> None:
        url = ("--url", self.daemon.ws_url)
        path = self.write("doc.json", doc("from the command line"))
        code, out, err = await self.cli(*url, "--id", "cli-1", path)
        self.assertEqual((code, out.strip()), (0, "Printed"), err)
        self.assertIn("job cli-1 queued on virt", err)
        code, out, err = await self.cli(*url, "--id", "cli-1", path)
        self.assertEqual((code, out.strip()), (0, "Printed"), err)
        self.assertIn("duplicate (already printed)", err)
        self.assertEqual([p.name for p in self.daemon.spool("virt").glob("*.bin")],
                         ["cli-1.bin"])

    async def test_failures_and_raw(self) -> None:
        url = ("--url", self.daemon.ws_url)
        bad = doc("x")
        bad["commands"][0]["data"]["content"]["content_style"] = {"size": "9x1"}
        code, out, err = await self.cli(*url, self.write("bad.json", bad))
        self.assertEqual(code, 1)
        self.assertIn("VALIDATION: commands[0]", err)
        code, out, err = await self.cli(*url, "--raw", "--id", "raw-1",
                                        self.write("r.bin", b"\x1b@raw\n"))
        self.assertEqual(code, 0, err)
        self.assertEqual((self.daemon.spool("virt") / "raw-1.bin").read_bytes(), b"\x1b@raw\n")
        code, out, err = await self.cli(*url, "--raw", "--printer", "nope",
                                        self.write("r2.bin", b"x"))
        self.assertEqual(code, 1)
        self.assertIn("PRINTER: unknown printer 'nope'", err)

    async def test_status_printers_and_usage(self) -> None:
        url = ("--url", self.daemon.ws_url)
        self.assertEqual(await self.cli(*url, "--status"), (0, "Queue: 0/100\n", ""))
        code, out, err = await self.cli(*url, "--printers")
        self.assertEqual(code, 0, err)
        self.assertIn("* virt\tready\tvirtual\tconfigured", out)
        self.assertIn("summary:", out)
        self.assertEqual((await self.cli(*url))[0], 2)
        self.assertEqual((await self.cli(*url, "/nonexistent.json"))[0], 2)
        code, out, err = await self.cli("--url", f"ws://127.0.0.1:{free_port()}/ws", "--status")
        self.assertEqual(code, 2)
        self.assertIn("cannot connect", err)
