"""Acceptance: the dashboard in a real browser (Debian's headless chromium via Selenium)
against the real daemon with two printers, a virtual one and a network one (the emulator
in this test's reactor). WebDriver calls block, so they run in a thread: the reactor keeps
serving the emulated printer meanwhile.

Every action of the page is used: send, preview, reprint, cancel, test page, pause and
resume, clear the queue (its confirm() accepted), search, paging. The layout is checked at
1366x768 and at a phone's 390x844 by the elements' rectangles (layout_problems), and a
screenshot at each size is kept in the test's temp dir (``dashboard-1366x768.png``,
``dashboard-390x844.png``; their paths are printed).

Missing chromium, chromedriver or selenium is a failure, not a skip: ``scripts/install
--test`` installs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.internet.defer import ensureDeferred

from ticketd.client import connect
from tests.browser_support import BrowserCase

WAIT = 20.0
PRINTERS = """
[printers.receipt]
connection = "network"
host = "127.0.0.1"
port = $emulator
default = true
aliases = ["58mm PT-210"]
status_interval = 0.3

[printers.virt]
connection = "virtual"
"""

SIZES = ((1366, 768, False), (390, 844, True))  # width, height, a phone

#: What a person would see as broken, from the elements' rectangles: a page wider than
#: the viewport, two visible controls (or two panels) overlapping, a button outside the
#: page's scroll area or covered where a finger or pointer would press it (the element at
#: its centre, once scrolled into view, must be the button).
LAYOUT_PROBLEMS = """
const doc = document.documentElement, vw = doc.clientWidth, problems = [];
if (doc.scrollWidth > vw + 1) problems.push(`the page is ${doc.scrollWidth} px wide in a ${vw} px viewport`);
const shown = (e) => { const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
const box = (e) => { const r = e.getBoundingClientRect();
  return { l: r.left + scrollX, t: r.top + scrollY, r: r.right + scrollX, b: r.bottom + scrollY }; };
const name = (e) => { const row = e.closest('[data-id]'), card = e.closest('[data-name]');
  return (e.id ? '#' + e.id : e.tagName.toLowerCase() + '.' + e.className) +
    (row ? ' of job ' + row.dataset.id : '') + (card ? ' of printer ' + card.dataset.name : ''); };
function overlaps(list, what) {
  const boxes = list.map(box);
  for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) {
    if (list[i].contains(list[j]) || list[j].contains(list[i])) continue;
    const a = boxes[i], b = boxes[j];
    if (Math.min(a.r, b.r) - Math.max(a.l, b.l) > 0.5 && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 0.5)
      problems.push(`${what} overlap: ${name(list[i])} and ${name(list[j])}`);
  }
}
const controls = [...document.querySelectorAll('button, input, select, textarea, a[href]')].filter(shown);
overlaps(controls, 'controls');
overlaps([...document.querySelectorAll('header, main > section, .printer')].filter(shown), 'panels');
const buttons = controls.filter((e) => e.tagName === 'BUTTON');
for (const b of buttons) {
  const r = box(b);
  if (r.l < -0.5 || r.r > vw + 0.5 || r.t < -0.5 || r.b > doc.scrollHeight + 0.5)
    problems.push(`${name(b)} is outside the page (${Math.round(r.l)}..${Math.round(r.r)} of ${vw} px)`);
  b.scrollIntoView({ block: 'center', inline: 'center' });
  const v = b.getBoundingClientRect();
  const hit = document.elementFromPoint(v.left + v.width / 2, v.top + v.height / 2);
  if (!(hit === b || b.contains(hit))) problems.push(`${name(b)} is covered by ${hit ? name(hit) : 'nothing'}`);
}
scrollTo(0, 0);
return { problems, buttons: buttons.length, width: vw, height: doc.clientHeight };
"""


class DashboardBrowserTests(BrowserCase):
    timeout = 120

    def test_dashboard_every_action_at_both_sizes(self) -> Any:
        self.need_browser()
        return ensureDeferred(self.scenario())

    async def scenario(self) -> None:
        from selenium.webdriver.common.by import By

        emulator, daemon, driver, tmp = await self.start_all(PRINTERS)
        self.client = await connect(self.reactor, daemon.ws_url)
        self.addCleanup(self.client.close)
        self.driver, self.By, self.emulator, self.daemon = driver, By, emulator, daemon
        await self.size(*SIZES[0])
        try:
            await self._drive()
            for width, height, phone in SIZES:
                await self.size(width, height, phone)
                await self.check_layout(tmp / f"dashboard-{width}x{height}.png")
            await self._phone_actions()
            await self._the_check_sees_a_covered_button()
        except BaseException:
            shot = tmp / "dashboard-failure.png"
            await self.blocking(driver.save_screenshot, str(shot))
            print(f"\ndashboard screenshot at the failure: {shot}")
            raise

    async def size(self, width: int, height: int, phone: bool = False) -> None:
        """The viewport exactly (not the window, whose chrome varies)."""
        await self.blocking(self.driver.execute_cdp_cmd, "Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1,
                             "mobile": phone})

    async def check_layout(self, shot: Path) -> None:
        found = await self.blocking(self.driver.execute_script, LAYOUT_PROBLEMS)
        await self.blocking(self.driver.save_screenshot, str(shot))
        print(f"\ndashboard screenshot: {shot}")
        size = f"{found['width']}x{found['height']}"
        self.assertEqual(found["problems"], [], size)
        self.assertGreater(found["buttons"], 25, size)  # a page of jobs and their buttons

    async def _the_check_sees_a_covered_button(self) -> None:
        """The layout check itself: a panel planted over the page is found."""
        await self.blocking(self.driver.execute_script, """
            const b = document.createElement('div');
            b.id = 'planted';
            b.style.cssText = 'position:fixed;inset:0;z-index:9;background:rgba(0,0,0,.1)';
            document.body.append(b);""")
        found = await self.blocking(self.driver.execute_script, LAYOUT_PROBLEMS)
        self.assertIn("#send is covered by #planted", found["problems"])
        await self.blocking(self.driver.execute_script,
                            "document.getElementById('planted').remove();")

    # --- helpers ---------------------------------------------------------------------------

    def css(self, selector: str) -> Any:
        return self.driver.find_elements(self.By.CSS_SELECTOR, selector)

    async def click(self, selector: str, what: str) -> None:
        """Click the element once it is there (rows are redrawn by live updates)."""
        def clicked(d: Any) -> bool:
            found = self.css(selector)
            if not found:
                return False
            found[0].click()
            return True
        await self.wait(self.driver, clicked, what)

    async def row_state(self, job_id: str, state: str, detail: str | None = None) -> None:
        def shows(d: Any) -> bool:
            rows = self.css(f'tr.job[data-id="{job_id}"]')
            return bool(rows) and rows[0].get_attribute("data-state") == state and (
                detail is None or detail in rows[0].find_element(
                    self.By.CSS_SELECTOR, ".details").text)
        await self.wait(self.driver, shows, f"job {job_id} to show {state} {detail or ''}")

    async def text_of(self, selector: str, expected: str, what: str) -> None:
        await self.wait(self.driver, lambda d: any(
            expected in e.text for e in self.css(selector)), what)

    async def raw(self, job_id: str, printer: str = "receipt") -> None:
        ack = await self.client.raw(f"job {job_id}\n".encode(), printer, job_id)
        self.assertEqual(ack["tipo"], "ack", ack)

    # --- the scenario ----------------------------------------------------------------------

    async def _drive(self) -> None:
        driver, emulator = self.driver, self.emulator
        await self.blocking(driver.get, self.daemon.base_url + "/")
        await self.blocking(driver.execute_script, "window.__sameLoad = 42;")

        def printers(d: Any) -> Any:
            cards = self.css("#printers .printer")
            names = sorted(c.get_attribute("data-name") for c in cards)
            statuses = [c.find_element(self.By.CSS_SELECTOR, ".status").text for c in cards]
            return names == ["receipt", "virt"] and statuses == ["Ready", "Ready"]

        await self.wait(driver, printers, "both printers, Ready")
        conn = await self.blocking(lambda: driver.find_element(self.By.ID, "conn").text)
        self.assertEqual(conn, "connected")
        job_id = await self._send_and_preview()

        # reprint: the same bytes again, as job~reprint-1
        before = len(emulator.received)
        await self.click(f'tr.job[data-id="{job_id}"] .reprint-btn', "the reprint button")
        await self.row_state(f"{job_id}~reprint-1", "printed", f"reprint of {job_id}")
        self.assertGreater(len(emulator.received), before)

        # the test page, on the virtual printer
        await self.click('.printer[data-name="virt"] .test-page-btn', "the test page button")
        page = await self.wait(driver, lambda d: next(
            (r.get_attribute("data-id") for r in self.css('tr.job[data-printer="virt"]')
             if r.get_attribute("data-state") == "printed"), None), "the test page, printed")
        self.assertTrue(page.startswith("dash-test-"), page)
        self.assertIn(b"Test page", (self.daemon.spool("virt") / f"{page}.bin").read_bytes())

        # pause: a job stays queued with the operator's reason; resume prints it
        await self.click('.printer[data-name="receipt"] .pause-btn', "the pause button")
        await self.wait(driver, lambda d: self.css(
            '.printer[data-name="receipt"][data-paused="true"]'), "receipt to show paused")
        await self.raw("paused-1")
        await self.row_state("paused-1", "queued", "Waiting: Paused by the operator")
        await self.text_of('.printer[data-name="receipt"] .pause-btn', "Resume", "Resume")
        await self.click('.printer[data-name="receipt"] .pause-btn', "the resume button")
        await self.row_state("paused-1", "printed")

        # a held job shows its reason; cancel it; clear the queue (confirm() accepted)
        emulator.set_fault("paper_out")
        await self.text_of('.printer[data-name="receipt"] .status', "Out of paper",
                           "receipt to show Out of paper")
        await self.raw("held-1")
        await self.row_state("held-1", "held", "Waiting: Out of paper")
        await self.click('tr.job[data-id="held-1"] .cancel-btn', "the cancel button")
        await self.row_state("held-1", "cancelled", "CANCELLED: cancelled by request")
        await self.raw("clear-1")
        await self.raw("clear-2")
        await self.row_state("clear-2", "held")
        await self.click('.printer[data-name="receipt"] .clear-btn', "the clear button")
        await self.blocking(self._accept_confirm)
        await self.row_state("clear-1", "cancelled")
        await self.row_state("clear-2", "cancelled")
        await self.text_of("#op-status", "Cancelled 2 queued jobs on receipt", "the count")
        emulator.set_fault("ready")

        await self._pages_and_search()
        same = await self.blocking(driver.execute_script, "return window.__sameLoad;")
        self.assertEqual(same, 42, "the page was reloaded")

    def _accept_confirm(self) -> None:
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        alert = WebDriverWait(self.driver, WAIT).until(expected_conditions.alert_is_present())
        self.assertIn("Cancel every queued job on receipt?", alert.text)
        alert.accept()

    async def _send_and_preview(self) -> str:
        from selenium.webdriver.support.ui import Select
        driver, By = self.driver, self.By

        def choose() -> None:
            Select(driver.find_element(By.ID, "example-select")).select_by_visible_text(
                "showcase")
        await self.wait(driver, lambda d: len(self.css("#example-select option")) > 1,
                        "the examples list")
        await self.blocking(choose)
        await self.wait(driver, lambda d: self.css("#validation li.ok"),
                        "the showcase document to validate")
        editor = await self.blocking(
            lambda: driver.find_element(By.ID, "editor").get_attribute("value"))
        self.assertIn("58mm PT-210", editor)
        before = len(self.emulator.received)
        await self.blocking(lambda: driver.find_element(By.ID, "send").click())

        def printed(d: Any) -> Any:
            for row in self.css('tr.job[data-printer="receipt"]'):
                job_id = row.get_attribute("data-id") or ""
                if job_id.startswith("dash-") and row.get_attribute("data-state") == "printed":
                    return job_id
            return False

        job_id = await self.wait(driver, printed, "the sent job to show as printed")
        self.assertGreater(len(self.emulator.received), before)  # it reached the printer
        # the job's "printed" event and its result are two messages: wait for the second
        await self.wait(driver, lambda d: driver.find_element(By.ID, "send-status").text
                        == f"job {job_id}: Printed", "the send status to say Printed")
        await self.click(f'tr.job[data-id="{job_id}"] .preview-btn', "the preview button")
        width = await self.wait(driver, lambda d: d.execute_script(
            "const i = document.getElementById('preview-img');"
            "return !i.hidden && i.complete && (i.dataset.source || '').includes('/jobs/')"
            " && i.naturalWidth;"),
            "the job's preview picture to load")
        self.assertEqual(width, 384)  # the showcase is 58 mm paper at 203 dpi
        return str(job_id)

    async def _pages_and_search(self) -> None:
        driver = self.driver
        for i in range(30):
            await self.raw(f"page-{i:02d}", "virt")
        await self.row_state("page-29", "printed")
        total = 37  # showcase, its reprint, test page, paused, held, 2 cleared, 30 more
        pages = f"page 1 of {-(-total // 25)}"
        await self.text_of("#page-info", pages, pages)
        self.assertEqual(len(self.css("tr.job")), 25)
        await self.click("#next-page", "the next page button")
        await self.text_of("#page-info", "page 2 of 2", "page 2")
        await self.wait(driver, lambda d: len(self.css("tr.job")) == total - 25,
                        "the second page's jobs")
        await self.click("#prev-page", "the previous page button")
        await self.text_of("#page-info", "page 1 of 2", "page 1 again")

        search = await self.blocking(lambda: driver.find_element(self.By.ID, "job-search"))
        await self.blocking(search.send_keys, "page-07")
        await self.wait(driver, lambda d: [r.get_attribute("data-id") for r in
                                           self.css("tr.job")] == ["page-07"], "one match")
        await self.click("#search-btn", "the find button")
        await self.text_of("#search-status", "job page-07 on virt: printed (Printed)",
                           "the daemon's answer")
        await self.blocking(search.clear)
        await self.blocking(search.send_keys, "no-such-job")
        await self.click("#search-btn", "the find button")
        await self.text_of("#search-status", "Unknown job id: no-such-job", "not found")
        await self.blocking(search.clear)
        await self.blocking(driver.execute_script,  # clear() sends no input event
                            "document.getElementById('job-search')"
                            ".dispatchEvent(new Event('input'));")
        await self.wait(driver, lambda d: len(self.css("tr.job")) == 25, "the list again")

    async def _phone_actions(self) -> None:
        """On the phone the printer's buttons work too: pause and resume virt."""
        await self.click('.printer[data-name="virt"] .pause-btn', "virt's pause button")
        await self.wait(self.driver, lambda d: self.css(
            '.printer[data-name="virt"][data-paused="true"]'), "virt paused")
        await self.click('.printer[data-name="virt"] .pause-btn', "virt's resume button")
        await self.wait(self.driver, lambda d: self.css(
            '.printer[data-name="virt"][data-paused="false"]'), "virt resumed")
