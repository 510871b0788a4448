"""Per-command rendering: every field and its default, plus the text preview."""
from __future__ import annotations

import threading

from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import DocumentError, text_lines, profile_for, render

from .documents_support import doc, text

INIT = b"\x1b@\x1bt\x10"


def body(*commands: dict, **profile) -> bytes:
    data = render(doc(*commands, **profile)).data
    assert data.startswith(INIT) or profile.get("code_table")
    return data[len(INIT):]


class ProfileTests(SynchronousTestCase):
    def test_geometry(self) -> None:
        for width, dots, a, b in [(58, 384, 32, 42), (80, 576, 48, 64), (72, 512, 42, 56)]:
            p = profile_for({"paper_width": width})
            self.assertEqual((p.dots, p.chars_a, p.chars_b), (dots, a, b))
        p = profile_for({"paper_width": 80, "dpi": 300})
        self.assertEqual((p.dots, p.chars_a), (864, 48))
        p = profile_for(None)
        self.assertEqual((p.paper_width_mm, p.dpi, p.code_table, p.has_qr), (80, 203, "WPC1252", False))
        self.assertRaises(DocumentError, profile_for, {"paper_width": 90})


class TextTests(SynchronousTestCase):
    def test_defaults(self) -> None:
        self.assertEqual(body(text("hi")), b"hi\n")

    def test_styles(self) -> None:
        out = body(text("x", content_style={"bold": True, "size": "2x3", "underline": "2pt",
                                            "inverse": True, "font": "B"}, align="right"))
        for seq in [b"\x1ba\x02", b"\x1bE\x01", b"\x1b-\x02", b"\x1bM\x01", b"\x1d!\x12", b"\x1dB\x01"]:
            self.assertIn(seq, out)

    def test_label_and_new_line(self) -> None:
        self.assertEqual(text_lines(doc({"type": "text", "data": {
            "label": {"text": "Total"}, "content": {"text": "5"}}})), ["Total: 5"])
        d = doc(text("a", new_line=False), text("b"))
        self.assertEqual(text_lines(d), ["ab"])
        d = doc({"type": "text", "data": {"label": {"text": "L", "separator": " = ",
                                                    "label_style": {"bold": True}},
                                          "content": {"text": "v"}}})
        self.assertEqual(body(*d["commands"]), b"\x1bE\x01L = \x1bE\x00v\n")

    def test_wrap_and_double_width(self) -> None:
        lines = text_lines(doc(text("word " * 20, content_style={"size": "2x1"}), paper_width=58))
        self.assertTrue(all(len(line) <= 32 for line in lines))
        self.assertEqual(lines[0], "w o r d   w o r d   w o r d")
        self.assertEqual(text_lines(doc(text("ab", align="center"), paper_width=58)),
                         ["               ab"])


class CommandTests(SynchronousTestCase):
    def test_separator(self) -> None:
        self.assertEqual(text_lines(doc({"type": "separator", "data": {}}, paper_width=58)), ["-" * 32])
        self.assertEqual(text_lines(doc({"type": "separator", "data": {"char": "=-", "length": 5}})),
                         ["=-=-="])

    def test_feed(self) -> None:
        self.assertEqual(body({"type": "feed", "data": {"lines": 3}}), b"\x1bd\x03")

    def test_cut(self) -> None:
        self.assertEqual(body({"type": "cut", "data": {}}), b"\x1bd\x02\x1dV\x00")
        self.assertEqual(body({"type": "cut", "data": {"mode": "partial", "feed": 0}}), b"\x1dV\x01")
        self.assertEqual(text_lines(doc({"type": "cut", "data": {"feed": 1}})), ["", "--- cut ---"])

    def test_pulse_beep(self) -> None:
        self.assertEqual(body({"type": "pulse", "data": {}}), b"\x1bp\x00\x19\x32")
        self.assertEqual(body({"type": "pulse", "data": {"pin": 1, "on_time": 100, "off_time": 510}}),
                         b"\x1bp\x01\x32\xff")
        self.assertEqual(body({"type": "beep", "data": {"times": 3, "lapse": 2}}), b"\x1bB\x03\x02")
        self.assertEqual(body({"type": "beep"}), b"\x1bB\x01\x01")

    def test_raw(self) -> None:
        self.assertEqual(body({"type": "raw", "data": {"hex": "0A 0b"}}), b"\n\x0b")
        self.assertEqual(body({"type": "raw", "data": {"hex": "G0A=", "format": "base64"}}), b"\x1b@\x1bt\x10")
        exc = self.assertRaises(DocumentError, render,
                                doc({"type": "raw", "data": {"hex": "1b70003232", "safe_mode": True}}))
        self.assertEqual(exc.category, "RAW")

    def test_barcode(self) -> None:
        out = body({"type": "barcode", "data": {"symbology": "ean13", "data": "4006381333931"}})
        self.assertEqual(out, b"\x1ba\x01\x1dh@\x1dw\x03\x1df\x00\x1dH\x02\x1dk\x024006381333931\x00")
        out = body({"type": "barcode", "data": {"symbology": "code128", "data": "AB", "width": 2,
                                                "height": 80, "hri_position": "none",
                                                "hri_font": "B", "align": "left"}})
        self.assertEqual(out, b"\x1dhP\x1dw\x02\x1df\x01\x1dH\x00\x1dkI\x04{BAB")
        self.assertEqual(text_lines(doc({"type": "barcode", "data": {
            "symbology": "ean13", "data": "4006381333931"}})), ["[BARCODE ean13: 4006381333931]"])

    def test_qr_native_and_image(self) -> None:
        q = {"type": "qr", "data": {"data": "hello", "human_text": "scan"}}
        out = body(q, has_qr=True)
        self.assertIn(b"\x1d(k\x03\x001E1", out)          # correction M default
        self.assertIn(b"\x1d(k\x08\x001P0hello", out)
        self.assertTrue(out.startswith(b"\x1ba\x01"))     # align center default
        out = body(q)
        self.assertNotIn(b"\x1d(k", out)
        self.assertIn(b"\x1dv0", out)
        self.assertEqual(text_lines(doc(q)), ["[QR: hello]", "                      scan"])

    def test_table(self) -> None:
        t = {"type": "table", "data": {"definition": {"columns": [
            {"name": "A", "width": 4, "align": "left"}, {"name": "B", "width": 5, "align": "right"}]},
            "rows": [["x", "1"]], "options": {"align": "left"}}}
        self.assertEqual(text_lines(doc(t)), ["A        B", "x        1"])
        t["data"]["show_headers"] = False
        self.assertEqual(text_lines(doc(t)), ["x        1"])
        t["data"]["options"]["column_spacing"] = 3
        self.assertEqual(text_lines(doc(t)), ["x          1"])

    def test_table_auto_reduce(self) -> None:
        t = {"type": "table", "data": {"definition": {"columns": [
            {"name": "A", "width": 30, "align": "left"}, {"name": "B", "width": 10, "align": "left"}]},
            "rows": [["a" * 30, "b"]], "options": {"word_wrap": False, "align": "left"}}}
        lines = text_lines(doc(t, paper_width=58))
        self.assertEqual(lines[1], "a" * 21 + " b")

    def test_threads(self) -> None:
        d = doc(text("Añejo"), {"type": "qr", "data": {"data": "x"}})
        expected = render(d).data
        results = []
        threads = [threading.Thread(target=lambda: results.append(render(d).data)) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(results, [expected] * 8)
