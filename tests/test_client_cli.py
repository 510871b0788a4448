"""``ticketd-print`` (ticketd.cli) as a subprocess against the real daemon: every exit
status and every message it promises."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.utils import getProcessOutputAndValue

from tests.daemon import ROOT, free_port
from tests.ws_support import DaemonTestCase, doc


class CliTests(DaemonTestCase):
    """The daemon of tests/ws_support.py: ``receipt`` at the network emulator (default),
    ``virt`` virtual."""

    def run_cli(self, *args: str, **env: str) -> Deferred[Any]:
        environ = {k: v for k, v in os.environ.items()
                   if k not in ("TICKETD_URL", "TICKETD_ADMIN_TOKEN")}
        environ.update(PYTHONPATH=str(ROOT), **env)
        return getProcessOutputAndValue(sys.executable, ["-m", "ticketd.cli", *args],
                                        env=environ, path=str(ROOT), reactor=self.reactor)

    async def cli(self, *args: str, **env: str) -> tuple[int, str, str]:
        out, err, code = await self.within(self.run_cli(*args, **env), 40)
        self.assertNotIn("Traceback", err.decode())
        return code, out.decode(), err.decode()

    def url(self) -> tuple[str, str]:
        return ("--url", self.daemon.ws_url)

    def write(self, name: str, content: bytes | dict) -> str:
        path = Path(self.daemon.dir) / name
        path.write_bytes(json.dumps(content).encode() if isinstance(content, dict) else content)
        return str(path)

    def spooled(self) -> list[str]:
        return sorted(p.name for p in self.daemon.spool("virt").glob("*.bin"))

    async def test_printed_twice_with_the_same_id_and_ticketd_url(self) -> None:
        path = self.write("doc.json", doc("from the command line", model="virtual"))
        env = {"TICKETD_URL": f"127.0.0.1:{self.daemon.port}"}  # host:port means /ws
        code, out, err = await self.cli("--id", "cli-1", path, **env)
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"^printed in \d+\.\d s\n$")
        self.assertIn("job cli-1 queued on virt", err)
        code, out, err = await self.cli("--url", f"http://127.0.0.1:{self.daemon.port}",
                                        "--id", "cli-1", path)
        self.assertEqual(code, 0, err)
        self.assertIn("job cli-1 duplicate (already printed) on virt", err)
        self.assertEqual(self.spooled(), ["cli-1.bin"])

    async def test_unknown_printer_is_refused_for_a_document_too(self) -> None:
        path = self.write("doc.json", doc("nowhere"))
        for raw in ((), ("--raw",)):
            code, out, err = await self.cli(*self.url(), *raw, "--printer", "nope", path)
            self.assertEqual(code, 1)
            self.assertIn("refused: PRINTER: unknown printer 'nope'; configured printers: "
                          "receipt, virt", err)
        self.assertEqual(self.emulator.received, b"")
        code, out, err = await self.cli(*self.url(), "--printer", "VIRTUAL", "--id", "v1", path)
        self.assertEqual(code, 0, err)  # an alias, in any case
        self.assertEqual(self.spooled(), ["v1.bin"])

    async def test_held_with_paper_out_then_printed(self) -> None:
        self.emulator.set_fault("paper_out")
        running = self.run_cli(*self.url(), "--id", "held-1", "--timeout", "40",
                               self.write("doc.json", doc("waits for paper")))
        await self.until(lambda: self.daemon_says("held-1", "held"))
        self.emulator.set_fault("ready")
        out, err, code = await self.within(running, 40)
        self.assertEqual(code, 0, err)
        self.assertIn("held: Out of paper — waiting", err.decode())
        self.assertIn("resumed: the printer is ready", err.decode())
        self.assertIn(b"printed in", out)
        self.assertNotIn("\r", err.decode())  # no spinner when stderr is not a terminal

    async def daemon_says(self, job_id: str, state: str) -> bool:
        reply = await self.within(self.client.job_status(job_id))
        return bool(reply.get("state") == state)

    async def test_no_result_in_time_then_job_and_cancel(self) -> None:
        self.emulator.set_fault("paper_out")
        code, out, err = await self.cli(*self.url(), "--id", "late-1", "--timeout", "2",
                                        self.write("doc.json", doc("never")))
        self.assertEqual(code, 3, err)
        self.assertIn("no result within 2 s: check later with --job late-1", err)
        code, out, err = await self.cli(*self.url(), "--job", "late-1")
        self.assertEqual(code, 3, err)
        self.assertRegex(out, r"^job late-1: (queued|held) on receipt")
        code, out, err = await self.cli(*self.url(), "--cancel", "late-1")
        self.assertEqual((code, err.strip()), (1, "refused: Invalid or missing admin token"))
        token = (self.daemon.state / "admin-token").read_text().strip()
        code, out, err = await self.cli(*self.url(), "--cancel", "late-1",
                                        TICKETD_ADMIN_TOKEN="wrong")
        self.assertEqual(code, 1, err)
        code, out, err = await self.cli(*self.url(), "--state-dir", str(self.daemon.state),
                                        "--cancel", "late-1")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "job late-1 cancelled: CANCELLED: cancelled by request\n")
        code, out, err = await self.cli(*self.url(), "--job", "late-1", "--admin-token", token)
        self.assertEqual((code, out), (1, "job late-1: cancelled on receipt: "
                                          "CANCELLED: cancelled by request\n"))
        code, out, err = await self.cli(*self.url(), "--job", "nobody")
        self.assertEqual((code, err), (1, "refused: Unknown job id: nobody\n"))

    async def test_reprint_through_the_daemon(self) -> None:
        path = self.write("doc.json", doc("once more", model="virt"))
        self.assertEqual((await self.cli(*self.url(), "--id", "r1", path))[0], 0)
        state = ("--state-dir", str(self.daemon.state))
        code, out, err = await self.cli(*self.url(), "--reprint", "r1")
        self.assertEqual((code, err.strip()), (1, "refused: Invalid or missing admin token"))
        code, out, err = await self.cli(*self.url(), *state, "--reprint", "r1")
        self.assertEqual(code, 0, err)
        self.assertIn("job r1~reprint-1 queued on virt", err)
        self.assertIn("printed in", out)
        token = (self.daemon.state / "admin-token").read_text().strip()
        code, out, err = await self.cli(*self.url(), "--reprint", "r1", "--id", "again",
                                        TICKETD_ADMIN_TOKEN=token)
        self.assertEqual(code, 0, err)
        # the spool quotes the id into a file name
        self.assertEqual(self.spooled(), ["again.bin", "r1%7Ereprint-1.bin", "r1.bin"])
        code, out, err = await self.cli(*self.url(), "--job", "again")
        self.assertEqual((code, out), (0, "job again: printed on virt (reprint of r1): "
                                          "Printed\n"))
        code, out, err = await self.cli(*self.url(), *state, "--reprint", "ghost")
        self.assertEqual((code, err.strip()), (1, "refused: JOB: unknown job 'ghost'"))

    async def test_failures_and_raw(self) -> None:
        bad = doc("x", model="virt")
        bad["commands"][0]["data"]["content"]["content_style"] = {"size": "9x1"}
        code, out, err = await self.cli(*self.url(), self.write("bad.json", bad))
        self.assertEqual(code, 1)
        self.assertIn("refused: VALIDATION: commands[0]", err)  # validated before the ack
        code, out, err = await self.cli(*self.url(), "--raw", "--printer", "virt", "--id",
                                        "raw-1", self.write("r.bin", b"\x1b@raw\n"))
        self.assertEqual(code, 0, err)
        self.assertEqual((self.daemon.spool("virt") / "raw-1.bin").read_bytes(), b"\x1b@raw\n")

    async def test_status_and_printers(self) -> None:
        code, out, err = await self.cli(*self.url(), "--status")
        self.assertEqual((code, out, err), (0, "Queue: 0/105\n", ""))
        code, out, err = await self.cli(*self.url(), "--printers")
        self.assertEqual(code, 0, err)
        self.assertIn("  virt\tready\tvirtual\tconfigured", out)
        self.assertIn("summary:", out)

    async def test_user_errors_never_a_traceback(self) -> None:
        url = self.url()
        code, out, err = await self.cli(*url, self.write("esc.bin", b"\x1b@\x1dV\x00"))
        self.assertEqual(code, 1)
        self.assertIn("esc.bin: this looks like binary ESC/POS data: use --raw", err)
        code, out, err = await self.cli(*url, self.write("broken.json",
                                                         b'{"commands": [\n  {"type": }]}'))
        self.assertEqual(code, 1)
        self.assertIn("broken.json: invalid JSON: Expecting value at line 2 column 12", err)
        code, out, err = await self.cli(*url, self.write("list.json", b"[1]"))
        self.assertIn("the document must be a JSON object", err)
        code, out, err = await self.cli(*url, "/nonexistent.json")
        self.assertEqual(code, 1)
        self.assertIn("/nonexistent.json: No such file or directory", err)
        code, out, err = await self.cli(*url, "--state-dir", "/nonexistent", "--cancel", "x")
        self.assertEqual(code, 1)
        self.assertIn("cannot read the admin token", err)
        self.assertEqual((await self.cli(*url))[0], 2)  # no FILE: a usage error

    async def test_cannot_reach_the_daemon(self) -> None:
        path = self.write("doc.json", doc("x"))
        closed = str(free_port())
        for url in (f"ws://127.0.0.1:{closed}/ws", f"http://127.0.0.1:{closed}",
                    f"127.0.0.1:{closed}"):
            code, out, err = await self.cli("--url", url, path)
            self.assertEqual(code, 2, url)
            self.assertIn(f"cannot connect to ws://127.0.0.1:{closed}/ws: connection refused",
                          err)
        code, out, err = await self.cli("--status", TICKETD_URL=f"127.0.0.1:{closed}")
        self.assertEqual(code, 2)
        code, out, err = await self.cli("--url", "ftp://127.0.0.1/", "--status")
        self.assertEqual(code, 2)
        self.assertIn("the scheme must be ws, wss, http or https", err)
        code, out, err = await self.cli("--help")
        self.assertEqual(code, 0)
        for line in ("0  printed", "1  refused or failed", "2  cannot reach the daemon",
                     "3  no result in time", "TICKETD_URL", "TICKETD_ADMIN_TOKEN"):
            self.assertIn(line, out)
