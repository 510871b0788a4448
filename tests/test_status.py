"""The sans-IO status parser (ticketd/printers/status.py)."""

from __future__ import annotations

from twisted.trial import unittest

from ticketd.printers import status


class StatusParserTests(unittest.TestCase):
    def test_pattern(self) -> None:
        self.assertTrue(all(status.is_status_byte(b) for b in (0x12, 0x1A, 0x7E, 0x52)))
        self.assertFalse(any(status.is_status_byte(b) for b in (0x00, 0x10, 0xFF, 0x13)))
        self.assertRaises(ValueError, status.StatusParser().reply, 1, 0x00)
        self.assertRaises(ValueError, status.StatusParser().reply, 5, 0x12)

    def test_texts(self) -> None:
        cases = [({1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}, "Ready", True),
                 ({1: 0x1A}, "Offline", False),
                 ({1: 0x1A, 2: 0x16}, "Cover is open", False),
                 ({1: 0x12, 2: 0x12, 3: 0x12, 4: 0x72}, "Out of paper", False),
                 ({1: 0x1A, 2: 0x1A}, "Paper is being fed by the paper feed button", False),
                 ({1: 0x1A, 2: 0x52, 3: 0x1A}, "Error light is on", False),
                 ({}, "No response from printer", False)]
        for replies, text, ok in cases:
            s = status.parse(replies)
            self.assertEqual((s.text, s.ok), (text, ok), replies)

    def test_failure_statuses(self) -> None:
        self.assertEqual(status.not_connected("x").text, "Printer not connected")
        self.assertEqual(status.no_response().text, "No response from printer")
        self.assertEqual(status.not_connected("a"), status.not_connected("b"))  # detail not compared
        self.assertEqual(status.parse({4: 0x1E}).as_dict(),
                         {"status": "Ready", "ok": True, "paper_near_end": True})
