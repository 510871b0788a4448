"""Acceptance: the dashboard in a real browser (Debian's headless chromium via Selenium)
against the real daemon with two printers, a virtual one and a network one (the emulator
in this test's reactor). WebDriver calls block, so they run in a thread: the reactor keeps
serving the emulated printer meanwhile.

Missing chromium, chromedriver or selenium is a failure, not a skip: ``scripts/install
--test`` installs them. The screenshot is kept as ``dashboard.png`` in the test's temp dir.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from twisted.internet.defer import ensureDeferred
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from ticketd.emulator import tcp
from tests.daemon import DaemonProcess

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
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
INSTALL_HINT = ("the browser test needs Debian's chromium and chromium-driver and the "
                "selenium package: run scripts/install --test")


def browser_problem() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} is missing"
    return None


def start_browser(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1500,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class DashboardBrowserTests(TestCase):
    timeout = 90

    def setUp(self) -> None:
        from twisted.internet import reactor
        self.reactor = reactor

    def blocking(self, f: Callable[..., Any], *args: Any) -> Any:
        """A WebDriver call, in a thread."""
        return deferToThread(f, *args)

    def wait(self, driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        def waiting() -> Any:
            # Live updates redraw the rows: an element found a moment ago may be gone by
            # the time it is read; that poll counts as "not yet" and the next one looks again.
            try:
                return WebDriverWait(driver, WAIT, poll_frequency=0.1,
                                     ignored_exceptions=(StaleElementReferenceException,)
                                     ).until(condition)
            except TimeoutException:
                raise AssertionError(f"timed out after {WAIT:g} s waiting for {what}") from None
        return self.blocking(waiting)

    def test_dashboard_shows_sends_and_previews(self) -> Any:
        problem = browser_problem()
        if problem:
            self.fail(f"{problem}: {INSTALL_HINT}")
        return ensureDeferred(self.scenario())

    async def scenario(self) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        emulator, port = tcp.listen(self.reactor)
        self.addCleanup(port.stopListening)
        tmp = Path(self.mktemp()).resolve()
        daemon = DaemonProcess(tmp / "daemon")
        self.addCleanup(daemon.stop_async, self.reactor)
        await daemon.start_async(self.reactor,
                                 PRINTERS.replace("$emulator", str(port.getHost().port)))
        profile = tmp / "chromium-profile"
        profile.mkdir(parents=True)
        driver = await self.blocking(start_browser, str(profile))
        self.addCleanup(lambda: self.blocking(driver.quit))
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
