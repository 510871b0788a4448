"""Headless chromium for the browser tests (Debian's chromium and chromedriver, Selenium).

Missing chromium, chromedriver or selenium is a failure, not a skip: ``scripts/install
--test`` installs them. WebDriver calls block, so :class:`BrowserCase` runs them in a
thread: the reactor keeps serving the emulated printer meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from ticketd.emulator import tcp
from tests.daemon import DaemonProcess

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 20.0
#: The default printer: the emulator ($emulator: its port), its status read often.
EMULATED_PRINTER = """
[printers.receipt]
connection = "network"
host = "127.0.0.1"
port = $emulator
default = true
status_interval = 0.3
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


class BrowserCase(TestCase):
    """The reactor, and WebDriver calls in a thread."""

    timeout = 90

    def setUp(self) -> None:
        from twisted.internet import reactor
        self.reactor = reactor

    def need_browser(self) -> None:
        problem = browser_problem()
        if problem:
            self.fail(f"{problem}: {INSTALL_HINT}")

    async def start_all(self, printers: str) -> tuple[Any, DaemonProcess, Any, Path]:
        """An emulated network printer, the daemon with ``printers`` (``$emulator`` is the
        emulator's port) and a browser; all stopped at cleanup. Also the test's temp dir."""
        self.need_browser()
        emulator, port = tcp.listen(self.reactor)
        self.addCleanup(port.stopListening)
        tmp = Path(self.mktemp()).resolve()
        daemon = DaemonProcess(tmp / "daemon")
        self.addCleanup(daemon.stop_async, self.reactor)
        await daemon.start_async(self.reactor,
                                 printers.replace("$emulator", str(port.getHost().port)))
        profile = tmp / "chromium-profile"
        profile.mkdir(parents=True)
        driver = await self.blocking(start_browser, str(profile))
        self.addCleanup(lambda: self.blocking(driver.quit))
        return emulator, daemon, driver, tmp

    def blocking(self, f: Callable[..., Any], *args: Any) -> Any:
        """A WebDriver call, in a thread."""
        return deferToThread(f, *args)

    def wait(self, driver: Any, condition: Callable[[Any], Any], what: str,
             timeout: float = WAIT, detail: Callable[[], str] = lambda: "") -> Any:
        """Poll ``condition(driver)`` until it is truthy; its value. ``detail()`` is added
        to the failure."""
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        def waiting() -> Any:
            # Live updates redraw the rows: an element found a moment ago may be gone by
            # the time it is read; that poll counts as "not yet" and the next one looks again.
            try:
                return WebDriverWait(driver, timeout, poll_frequency=0.1,
                                     ignored_exceptions=(StaleElementReferenceException,)
                                     ).until(condition)
            except TimeoutException:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}"
                                     f"{detail()}") from None
        return self.blocking(waiting)
