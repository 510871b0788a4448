"""Printer discovery: status words, scanner parsing, merging with the configured printers,
and the 30 s cache with an injected clock and thread runner."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from ticketd.config import parse
from ticketd.printers import status as st
from ticketd.printers import discovery as disc

CONFIG = parse('[printers.till]\nconnection = "usb"\nvendor_id = "0x04b8"\nproduct_id = 0x0202\n'
               'default = true\n[printers.kitchen]\nconnection = "cups"\nqueue = "TM-T20"\n'
               '[printers.v]\nconnection = "virtual"\n')


STATUS = {"till": st.READY, "kitchen": st.PrinterStatus(online=False, paper_out=True),
          "v": st.UNKNOWN_YET}


def configured() -> list[tuple[Any, st.PrinterStatus]]:
    """The configured printers with their live status, as the print service gives them."""
    return [(p, STATUS[p.name]) for p in CONFIG.printers]


LPSTAT_P = """printer TM-T20 is idle.  enabled since Mon 01 Jan 2024
printer Office_Laser disabled since Tue 02 Jan 2024 -
\treason unknown
printer PDF is idle.  enabled since Mon 01 Jan 2024
printer POS-80 now printing POS-80-12.  enabled since Mon
"""
LPSTAT_V = """device for TM-T20: usb://EPSON/TM-T20?serial=123
device for Office_Laser: ipp://192.168.1.9/ipp/print
device for PDF: cups-pdf:/
device for POS-80: socket://192.168.1.50:9100
"""


class StatusWordTests(SynchronousTestCase):
    def test_mapping(self) -> None:
        cases = [(st.READY, "ready"), (st.UNKNOWN_YET, "unknown"),
                 (st.not_connected("x"), "offline"), (st.no_response(), "offline"),
                 (st.PrinterStatus(online=False), "offline"),
                 (st.PrinterStatus(online=False, paper_out=True), "paused"),
                 (st.PrinterStatus(online=False, cover_open=True), "paused"),
                 (st.PrinterStatus(online=False, error="autocutter"), "error"),
                 (st.PrinterStatus(paper_near_end=True), "ready")]
        for status, word in cases:
            self.assertEqual(disc.state_word(status), word, status)


class ScannerTests(SynchronousTestCase):
    def test_parse_lpstat(self) -> None:
        found = {e["name"]: e for e in disc.parse_lpstat(LPSTAT_P, LPSTAT_V,
                                                         "system default destination: PDF")}
        self.assertEqual({n: (e["status"], e["printer_type"]) for n, e in found.items()},
                         {"TM-T20": ("ready", "thermal"), "Office_Laser": ("paused", "network"),
                          "PDF": ("ready", "virtual"), "POS-80": ("ready", "thermal")})
        self.assertTrue(found["PDF"]["is_default"])
        self.assertTrue(found["PDF"]["is_virtual"])
        self.assertEqual(found["TM-T20"]["port"], "usb://EPSON/TM-T20?serial=123")

    def test_guess_type(self) -> None:
        self.assertEqual(disc.guess_type("Microsoft Print to PDF"), "virtual")
        self.assertEqual(disc.guess_type("EPSON TM-T88V Receipt"), "thermal")
        self.assertEqual(disc.guess_type("HP", "ipp://printer/ipp"), "network")
        self.assertEqual(disc.guess_type("HP LaserJet"), "unknown")

    def test_scanners_never_raise(self) -> None:
        for scan in (disc.scan_usb, disc.scan_lp, disc.scan_serial):
            self.assertIsInstance(scan(), list)
        self.assertEqual(disc.scan_cups(lpstat="/nonexistent/lpstat"), [])
        self.assertEqual(disc.scan_lp(self.mktemp() + "/lp*"), [])

    def test_broken_scanner_does_not_hide_others(self) -> None:
        def broken() -> list[Any]:
            raise RuntimeError("no")

        found = disc.scan_all([broken, lambda: [disc.candidate("x", "p", "d", "thermal",
                                                               ("k",))]])
        self.assertEqual([e["name"] for e in found], ["x"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


def fake_scan() -> list[dict[str, Any]]:
    return [disc.candidate("Epson 04b8:0202", "usb:04b8:0202", "usb", "thermal",
                           ("usb", 0x04B8, 0x0202)),
            disc.candidate("Star 0519:0003", "usb:0519:0003", "usb", "thermal",
                           ("usb", 0x0519, 0x0003))] + disc.parse_lpstat(LPSTAT_P, LPSTAT_V, "")


class MergeAndCacheTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.runs: list[Deferred[Any]] = []

        def run(f: Any, *args: Any) -> Deferred[Any]:
            d: Deferred[Any] = Deferred()
            self.runs.append(d)
            d.addCallback(lambda _: f(*args))
            return d

        self.discovery = disc.Discovery(configured, clock=self.clock, run=run,
                                        scanners=[fake_scan])

    def answer(self, d: Deferred[Any]) -> Any:
        out: list[Any] = []

        def keep(result: Any) -> Any:
            out.append(result)
            return result

        d.addCallback(keep)
        return out[0] if out else None

    def test_merge_marks_configured(self) -> None:
        d = self.discovery()
        self.assertIsNone(self.answer(d))  # the scan runs in the (fake) thread
        self.runs.pop().callback(None)
        listing, summary = self.answer(d)
        names = [(e["name"], e["configured"]) for e in listing]
        self.assertEqual(names[:3], [("till", True), ("kitchen", True), ("v", True)])
        self.assertNotIn(("TM-T20", False), names)  # it is the kitchen printer
        self.assertNotIn(("Epson 04b8:0202", False), names)  # it is the till
        self.assertIn(("Star 0519:0003", False), names)
        till, kitchen, v = listing[:3]
        self.assertEqual((till["status"], till["is_default"], till["detected"]),
                         ("ready", True, True))
        self.assertEqual((kitchen["status"], v["status"], v["printer_type"], v["is_virtual"]),
                         ("paused", "unknown", "thermal", True))
        self.assertEqual(summary, {"status": "ok", "detected_count": len(listing),
                                   "thermal_count": 5, "default_name": "till"})

    def test_cache_30_s_and_one_scan_for_concurrent_callers(self) -> None:
        first, second = self.discovery(), self.discovery()
        self.assertEqual(len(self.runs), 1)
        self.runs.pop().callback(None)
        self.assertIsNotNone(self.answer(first))
        self.assertIsNotNone(self.answer(second))
        self.clock.advance(29)
        self.assertIsNotNone(self.answer(self.discovery()))
        self.assertEqual(self.runs, [])
        self.clock.advance(2)
        d = self.discovery()
        self.assertEqual(len(self.runs), 1)
        self.runs.pop().errback(RuntimeError("thread died"))
        listing, summary = self.answer(d)  # still answers with the configured printers
        self.assertTrue(listing)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_summary_levels(self) -> None:
        self.assertEqual(disc.summarise([], "")["status"], "error")
        virtual = disc.candidate("PDF", "", "cups", "virtual", ("cups", "PDF"))
        self.assertEqual(disc.summarise([virtual], "")["status"], "warning")
