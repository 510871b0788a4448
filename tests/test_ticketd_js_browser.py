"""Acceptance: ticketd.js, the browser client library, in a real headless chromium against
the real daemon and a network printer (the emulator, in this test's reactor).

The page is the daemon's own ``/health`` (same origin as ``/ws``); the library is
``import()``-ed from ``/ticketd.js``, so the path a POS page takes (the module's own URL
names the daemon) is the one tested. Promises and progress are recorded in ``window`` and
read back by polling. The browser as ``browser_support.py`` runs it (missing, it fails).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.static import Data

from tests.browser_support import EMULATED_PRINTER, BrowserCase
from tests.daemon import DaemonProcess

ROOT = Path(__file__).resolve().parents[1]
WAIT = 25.0
#: In the page: every tracked promise's outcome and every job's progress, by name.
HARNESS = """
window.out = {}; window.progress = {}; window.printerStates = []; window.conns = [];
// every frame the library sends; a frame holding window.drop is swallowed once (lost)
window.sent = []; window.drop = null;
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (window.drop && data.includes(window.drop)) { window.drop = null; return; }
  window.sent.push(JSON.parse(data));
  return send.call(this, data);
};
window.track = (name, promise, progress) => {
  window.out[name] = null;
  promise.then((v) => { window.out[name] = {ok: true, value: v}; },
               (e) => { window.out[name] = {ok: false, category: e.category,
                                            message: e.message, state: e.state}; });
};
window.progressOf = (name) => (p) => (window.progress[name] ||= []).push(p);
window.doc = (text) => ({profile: {paper_width: 58}, commands: [
  {type: 'text', data: {content: {text}}}]});
"""
BOOT = """
const [options, done] = arguments;
import('/ticketd.js').then((m) => m.TicketD.connect(undefined, options)).then((td) => {
  window.td = td;  // listeners before any message: the subscribe snapshot comes later
  td.on('printer', (p) => window.printerStates.push(p));
  td.on('connection', (c) => window.conns.push(c.connected));
  done('connected');
}, (e) => done('failed: ' + e.message));
"""


def readme_page() -> str:
    """The HTML block of the README's section "A POS page in 20 lines"."""
    text = (ROOT / "README.rst").read_text(encoding="utf-8")
    block = text.split("A POS page in 20 lines", 1)[1].split(".. code-block:: html", 1)[1]
    lines = block.split("</script>", 1)[0].strip("\n").splitlines()
    return "\n".join(line[4:] for line in lines) + "\n</script>\n"


class TicketdJsBrowserTests(BrowserCase):
    timeout = 120

    def until(self, expression: str, what: str, timeout: float = WAIT) -> Any:
        """Poll a JavaScript expression until it is truthy; its value."""
        return self.wait(self.driver, lambda d: d.execute_script("return " + expression),
                         what, timeout, self.page_state)

    def page_state(self) -> str:
        try:
            return ": " + json.dumps(self.driver.execute_script(
                "return {out: window.out, progress: window.progress, conns: window.conns}"))
        except Exception as e:  # the report of a failure must not hide it
            return f" (page state unreadable: {e})"

    def js(self, script: str, *args: Any) -> Any:
        return self.blocking(self.driver.execute_script, script, *args)

    async def start(self, options: dict[str, Any]) -> tuple[Any, DaemonProcess]:
        """The daemon, the browser on its /health page, the library connected."""
        emulator, daemon = await self.start_daemon()
        await self.blocking(self.driver.get, daemon.base_url + "/health")
        await self.js(HARNESS)
        if options.pop("admin", False):
            options["adminToken"] = (daemon.state / "admin-token").read_text().strip()
        booted = await self.blocking(self.driver.execute_async_script, BOOT, options)
        self.assertEqual(booted, "connected")
        return emulator, daemon

    async def start_daemon(self) -> tuple[Any, DaemonProcess]:
        emulator, daemon, self.driver, _ = await self.start_all(EMULATED_PRINTER)
        return emulator, daemon

    def test_library_is_served_to_any_origin(self) -> Any:
        async def go() -> None:
            daemon = DaemonProcess(Path(self.mktemp()).resolve())
            self.addCleanup(daemon.stop_async, self.reactor)
            await daemon.start_async(self.reactor, '[printers.v]\nconnection = "virtual"\n')

            def get() -> Any:
                with urllib.request.urlopen(daemon.base_url + "/ticketd.js", timeout=10) as r:
                    return r.headers, r.read()
            headers, body = await self.blocking(get)
            self.assertEqual(headers["Content-Type"], "text/javascript; charset=utf-8")
            self.assertEqual(headers["Access-Control-Allow-Origin"], "*")
            self.assertIn(b"export class TicketD", body)
        return ensureDeferred(go())

    def test_readme_pos_page(self) -> Any:
        """The README's page as it is, on another origin (a loopback port of this test):
        the module is imported across origins (CORS) and prints."""
        return ensureDeferred(self.readme_scenario())

    async def readme_scenario(self) -> None:
        from selenium.webdriver.common.by import By

        emulator, daemon = await self.start_daemon()
        page = readme_page().replace("127.0.0.1:8766", f"127.0.0.1:{daemon.port}")
        root = Resource()
        root.putChild(b"", Data(page.encode("utf-8"), "text/html; charset=utf-8"))
        web = self.reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(web.stopListening)
        await self.blocking(self.driver.get, f"http://127.0.0.1:{web.getHost().port}/")
        await self.until("document.getElementById('printer').textContent === 'receipt: Ready'",
                         "the page to show the printer")
        await self.blocking(lambda: self.driver.find_element(By.ID, "pay").click())
        text = await self.until("document.getElementById('status').textContent.startsWith("
                                "'Printed') && document.getElementById('status').textContent",
                                "the page to say Printed")
        self.assertRegex(text, r"^Printed \(job td-[0-9a-f]{24}\)$")
        self.assertIn("Café 1,50 €".encode("cp1252"), emulator.received)

    def test_print_progress_hold_failure_cancel(self) -> Any:
        return ensureDeferred(self.print_scenario())

    async def print_scenario(self) -> None:
        emulator, _ = await self.start({"admin": True, "minDelay": 200, "maxDelay": 1000})
        # printed: the result, and progress queued then printing (the live feed's events)
        await self.js("track('a1', td.print(doc('<A1>'), {onProgress: progressOf('a1')}))")
        a1 = await self.until("out.a1", "the first print")
        self.assertTrue(a1["ok"], a1)
        self.assertEqual(a1["value"]["state"], "printed")
        self.assertEqual(a1["value"]["printer"], "receipt")
        states = await self.js("return progress.a1.map((p) => p.state)")
        self.assertEqual(states[0], "queued")
        self.assertIn("printing", states)
        self.assertIn(b"<A1>", emulator.received)
        # the same id again is not printed again, and still resolves with the result
        again = await self.js("track('a1b', td.print(doc('<A1>'), {id: out.a1.value.id}))"
                              "; return out.a1.value.id")
        self.assertTrue(again.startswith("td-"))
        self.assertTrue((await self.until("out.a1b", "the repeated id"))["ok"])
        self.assertEqual(emulator.received.count(b"<A1>"), 1)
        # a failing document rejects with its category
        await self.js("track('bad', td.print({commands: [{type: 'text', data: {content: "
                      "{text: 'x', content_style: {size: '9x1'}}}}]}))")
        bad = await self.until("out.bad", "the failing document")
        self.assertFalse(bad["ok"])
        self.assertEqual(bad["category"], "VALIDATION")
        self.assertTrue(bad["message"].startswith("VALIDATION: "), bad)
        # raw bytes
        await self.js("track('raw', td.printRaw(new TextEncoder().encode('<RAW1>\\n'), "
                      "{printer: 'receipt'}))")
        self.assertTrue((await self.until("out.raw", "the raw job"))["ok"])
        self.assertIn(b"<RAW1>", emulator.received)
        # status, printers, job
        await self.js("track('info', Promise.all([td.status(), td.printers(), "
                      "td.job(out.a1.value.id), td.job('no-such-job')]))")
        info = (await self.until("out.info", "status, printers and job"))["value"]
        self.assertEqual(info[0]["capacity"], 100)
        self.assertEqual([p["name"] for p in info[1] if p.get("configured")], ["receipt"])
        self.assertEqual(info[2]["state"], "printed")
        self.assertIsNone(info[3])
        # paper out: the live status says so, a job is held, another one is cancelled
        emulator.set_fault("paper_out")
        await self.until("printerStates.some((p) => p.status === 'Out of paper' && !p.ok)",
                         "the printer to read Out of paper")
        await self.js("track('h1', td.print(doc('<H1>'), {onProgress: progressOf('h1')}));"
                      "track('c1', td.print(doc('<C1>'), {id: 'cancel-me', "
                      "onProgress: progressOf('c1')}))")
        held = await self.until("(progress.h1 || []).find((p) => p.state === 'held')",
                                "the job to be held")
        self.assertIn("Waiting: Out of paper", held["message"])
        await self.until("(progress.c1 || []).length", "the second job's ack")
        await self.js("track('cancel', td.cancel('cancel-me'))")
        cancel = await self.until("out.cancel", "the cancel")
        self.assertEqual(cancel["value"]["state"], "cancelled", cancel)
        c1 = await self.until("out.c1", "the cancelled job's promise")
        self.assertEqual((c1["ok"], c1["category"], c1["state"]), (False, "CANCELLED", "cancelled"))
        emulator.set_fault("ready")
        h1 = await self.until("out.h1", "the held job to print")
        self.assertTrue(h1["ok"], h1)
        states = await self.js("return progress.h1.map((p) => p.state)")
        self.assertIn("printing", states[states.index("held"):])
        self.assertEqual(emulator.received.count(b"<H1>"), 1)
        self.assertNotIn(b"<C1>", emulator.received)

    def test_daemon_restart_with_ten_pending_jobs(self) -> Any:
        return ensureDeferred(self.restart_scenario())

    async def restart_scenario(self) -> None:
        # no admin token: printer status by polling `status`, job news by job_status
        emulator, daemon = await self.start({"minDelay": 200, "maxDelay": 1000,
                                             "pollInterval": 300, "statusInterval": 300})
        emulator.set_fault("paper_out")
        await self.until("printerStates.some((p) => p.status === 'Out of paper')",
                         "the polled status to read Out of paper")
        names = [f"r{i:02d}" for i in range(13)]
        # r00's frame is lost on the way: never acked, so sent again after the reconnect
        await self.js("drop = '<r00>'; track('r00', td.print(doc('<r00>'), {id: 'r00'}))")
        for name in names[1:11]:
            await self.js(f"track('{name}', td.print(doc('<{name}>'), "
                          f"{{id: '{name}', onProgress: progressOf('{name}')}}))")
        await self.until(" && ".join(f"(progress.{n} || []).some((p) => p.state === 'held')"
                                     for n in names[1:11]), "ten held jobs")
        await daemon.stop_async(self.reactor)
        await self.until("conns.includes(false)", "the client to see the daemon gone")
        for name in names[11:]:  # never sent until the daemon is back
            await self.js(f"track('{name}', td.print(doc('<{name}>'), {{id: '{name}'}}))")
        await daemon.start_async(self.reactor)  # the same state directory and port
        await self.until("conns[conns.length - 1] === true", "the client to reconnect")
        emulator.set_fault("ready")
        outcomes = await self.until(
            f"{json.dumps(names)}.every((n) => out[n]) && {json.dumps(names)}.map((n) => out[n])",
            "all thirteen jobs to print", timeout=40)
        self.assertEqual([o["ok"] for o in outcomes], [True] * 13, outcomes)
        for name in names:
            self.assertEqual(emulator.received.count(f"<{name}>".encode()), 1, name)
        sent = await self.js("return sent.filter((m) => m.id && m.id.startsWith('r'))"
                             ".map((m) => [m.tipo, m.id])")
        tickets = [i for tipo, i in sent if tipo == "ticket"]
        asked = {i for tipo, i in sent if tipo == "job_status"}
        # each ticket frame once (r00's lost one is not in `sent`: its one is the resend);
        # every job pending at the reconnect was asked about first
        self.assertEqual(sorted(tickets), names)
        self.assertLessEqual(set(names[:11]), asked)
        self.assertLess(sent.index(["job_status", "r00"]), sent.index(["ticket", "r00"]))
