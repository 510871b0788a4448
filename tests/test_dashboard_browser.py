"""Acceptance: the dashboard in a real browser (Debian's headless chromium via Selenium)
against the real daemon with two printers, a virtual one and a network one (the emulator
in this test's reactor); the browser as ``browser_support.py`` runs it (missing, it fails).
The screenshot is kept as ``dashboard.png`` in the test's temp dir.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import ensureDeferred

from tests.browser_support import EMULATED_PRINTER, BrowserCase
from tests.daemon import DaemonProcess

PRINTERS = EMULATED_PRINTER + """aliases = ["58mm PT-210"]

[printers.virt]
connection = "virtual"
"""


class DashboardBrowserTests(BrowserCase):
    def test_dashboard_shows_sends_and_previews(self) -> Any:
        self.need_browser()
        return ensureDeferred(self.scenario())

    async def scenario(self) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        emulator, daemon, driver, tmp = await self.start_all(PRINTERS)
        shot = tmp / "dashboard.png"
        try:
            await self._drive(driver, daemon, emulator, By, Select)
        finally:
            await self.blocking(driver.save_screenshot, str(shot))
            print(f"\ndashboard screenshot: {shot}")

    async def _drive(self, driver: Any, daemon: DaemonProcess, emulator: Any, By: Any,
                     Select: Any) -> None:
        await self.blocking(driver.get, daemon.base_url + "/")
        await self.blocking(driver.execute_script, "window.__sameLoad = 42;")

        def printers(d: Any) -> Any:
            cards = d.find_elements(By.CSS_SELECTOR, "#printers .printer")
            names = sorted(c.get_attribute("data-name") for c in cards)
            statuses = [c.find_element(By.CSS_SELECTOR, ".status").text for c in cards]
            return names == ["receipt", "virt"] and statuses == ["Ready", "Ready"]

        await self.wait(driver, printers, "both printers, Ready")
        conn = await self.blocking(lambda: driver.find_element(By.ID, "conn").text)
        self.assertEqual(conn, "connected")

        def choose() -> None:
            Select(driver.find_element(By.ID, "example-select")).select_by_visible_text(
                "showcase")
        await self.wait(driver, lambda d: len(d.find_elements(
            By.CSS_SELECTOR, "#example-select option")) > 1, "the examples list")
        await self.blocking(choose)
        await self.wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#validation li.ok"),
                        "the showcase document to validate")
        editor = await self.blocking(
            lambda: driver.find_element(By.ID, "editor").get_attribute("value"))
        self.assertIn("58mm PT-210", editor)

        before = len(emulator.received)
        await self.blocking(lambda: driver.find_element(By.ID, "send").click())

        def printed(d: Any) -> Any:
            rows = d.find_elements(By.CSS_SELECTOR,
                                   '#printers .printer[data-name="receipt"] tr.job')
            for row in rows:
                job_id = row.get_attribute("data-id") or ""
                state = row.find_element(By.CSS_SELECTOR, ".state").text
                if job_id.startswith("dash-") and state == "printed":
                    return job_id
            return False

        job_id = await self.wait(driver, printed, "the sent job to show as printed")
        self.assertGreater(len(emulator.received), before)  # it really reached the printer
        # the job's "printed" event and its result are two messages: wait for the second
        await self.wait(driver, lambda d: d.find_element(By.ID, "send-status").text
                        == f"job {job_id}: Printed", "the send status to say Printed")

        def open_preview(d: Any) -> bool:
            d.find_element(By.CSS_SELECTOR, f'tr.job[data-id="{job_id}"] .preview-btn').click()
            return True
        await self.wait(driver, open_preview, "the job's preview button")
        width = await self.wait(driver, lambda d: d.execute_script(
            "const i = document.getElementById('preview-img');"
            "return !i.hidden && i.complete && (i.dataset.source || '').includes('/jobs/')"
            " && i.naturalWidth;"),
            "the job's preview picture to load")
        self.assertEqual(width, 384)  # the showcase is 58 mm paper at 203 dpi
        same = await self.blocking(driver.execute_script, "return window.__sameLoad;")
        self.assertEqual(same, 42, "the page was reloaded")
