"""The blocking client for scripts (ticketd.sync_client, re-exported by ticketd.client)
against the real daemon, its URLs, and the CLI's progress lines."""

from __future__ import annotations

import io
from typing import Any, Callable

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase

from ticketd.cli_progress import ProgressLines
from ticketd.client_url import BadURL, default_url, websocket_url
from ticketd.sync_client import Progress
from tests.daemon import free_port
from tests.ws_support import DaemonTestCase, doc


class SyncClientTests(DaemonTestCase):
    connect_client = False

    def blocking(self, f: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Off the reactor's thread: the emulated printer answers meanwhile."""
        return self.within(deferToThread(f, *args, **kw), 30)

    async def test_three_lines_print_and_the_result(self) -> None:
        from ticketd.client import PrintError, job_status, print_document, print_raw
        url = self.daemon.ws_url
        result = await self.blocking(print_document, doc("script"), url=url, id="s1")
        self.assertEqual((result.id, result.state, result.message, result.warnings),
                         ("s1", "printed", "Printed", ()))
        raw = await self.blocking(print_raw, b"\x1b@r\n", printer="virt", url=url)
        self.assertEqual(raw.state, "printed")
        job = await self.blocking(job_status, "s1", url=url)
        self.assertEqual((job.state, job.printer, job.result), ("printed", "receipt", "success"))
        self.assertIsNone(await self.blocking(job_status, "nobody", url=url))
        with self.assertRaises(AttributeError):
            result.state = "failed"  # type: ignore[misc]  (frozen)
        bad = doc("x")
        bad["commands"][0]["data"]["content"]["content_style"] = {"size": "9x1"}
        error = await self.assertFailure(self.blocking(print_document, bad, url=url),
                                         PrintError)
        self.assertEqual((error.category, error.state), ("VALIDATION", None))  # refused
        self.assertIn("VALIDATION: commands[0]", error.message)
        error = await self.assertFailure(
            self.blocking(print_document, doc("x"), printer="nope", url=url), PrintError)
        self.assertEqual(error.category, "PRINTER")
        self.assertEqual(error.message, "PRINTER: unknown printer 'nope'; configured "
                                        "printers: receipt, virt")

    async def test_progress_and_no_result(self) -> None:
        from ticketd.sync_client import NoResult, print_document
        self.emulator.set_fault("paper_out")
        seen: list[Progress] = []
        error = await self.assertFailure(self.blocking(
            print_document, doc("held"), url=self.daemon.ws_url, timeout=3,
            on_progress=seen.append), NoResult)
        self.assertEqual(error.category, "TIMEOUT")
        self.assertIn(Progress(error.id, "held", "Out of paper"),
                      [Progress(p.id, p.state, p.message) for p in seen])
        self.emulator.set_fault("ready")

    async def test_cannot_connect(self) -> None:
        from ticketd.sync_client import CannotConnect, job_status
        error = await self.assertFailure(
            self.blocking(job_status, "x", url=f"127.0.0.1:{free_port()}"), CannotConnect)
        self.assertEqual(error.category, "CONNECTION")
        self.assertIn("connection refused", error.message)


class UrlTests(SynchronousTestCase):
    def test_forms_people_type(self) -> None:
        for text, url in [("http://h:1", "ws://h:1/ws"), ("ws://h:1", "ws://h:1/ws"),
                          ("h:1", "ws://h:1/ws"), ("https://h:1/", "wss://h:1/ws"),
                          ("wss://h:1/other", "wss://h:1/other"), ("h", "ws://h:8766/ws"),
                          ("ws://h:1/ws?token=t", "ws://h:1/ws?token=t")]:
            self.assertEqual(websocket_url(text), url, text)
        for text in ("ftp://h", "http://:5", "h:port"):
            self.assertRaises(BadURL, websocket_url, text)

    def test_ticketd_url(self) -> None:
        self.assertEqual(default_url({"TICKETD_URL": "h:2"}), "h:2")
        self.assertEqual(default_url({}), "ws://127.0.0.1:8766/ws")


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class ProgressLinesTests(SynchronousTestCase):
    def steps(self, tty: bool) -> str:
        err = FakeTerminal(tty)
        lines = ProgressLines(err, clock=lambda: 0.0)
        lines.acked({"id": "j", "status": "queued", "printer": "p", "position": 1,
                     "current": 1, "capacity": 5})
        lines.tick()
        lines.step(Progress("j", "held", "Out of paper"))
        lines.tick()
        lines.step(Progress("j", "queued"))
        lines.step(Progress("j", "printing"))
        lines.done()
        return err.getvalue()

    def test_a_line_per_step_without_a_terminal(self) -> None:
        self.assertEqual(self.steps(False).splitlines(), [
            "job j queued on p at position 1, queue 1/5", "held: Out of paper — waiting",
            "resumed: the printer is ready", "printing"])

    def test_a_spinner_on_a_terminal(self) -> None:
        text = self.steps(True)
        self.assertIn("\r/ queued 0 s\r\x1b[K", text)
        self.assertIn("\r- held 0 s\r\x1b[K", text)
        self.assertEqual([line.split("\x1b[K")[-1] for line in text.split("\n")][1:],
                         ["held: Out of paper — waiting", "resumed: the printer is ready",
                          "printing", ""])
