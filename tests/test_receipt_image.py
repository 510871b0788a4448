"""The receipt preview: ESC/POS bytes -> Receipt, PNG and text (ticketd.receipt_image)."""
from __future__ import annotations

import io
import json
import re
import time

from PIL import Image
from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import text_lines, render
from tests.documents_support import examples
from ticketd.receipt_image import (Barcode, Marker, QRCode, Raster, TextLine, interpret,
                                   render_image, render_png, render_text)

try:
    import zxingcpp
except ImportError:  # pragma: no cover - the decoder is a test dependency
    zxingcpp = None

SPANISH = "Añejo café 1,50 €"
_IMAGE = re.compile(r"\[image (\d+)x(\d+)\]")
_ANY_IMAGE = "[image *]"


def png_image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def decode(image: Image.Image) -> list[tuple[str, str]]:
    """(format, text) of every symbol zxing-cpp finds in ``image``."""
    found = zxingcpp.read_barcodes(image.convert("L"))
    return [(r.format.name, r.text) for r in found]


def normalise(lines: list[str], *, ours: bool, has_qr: bool) -> list[str]:
    """One vocabulary for the documents' text preview and ours.

    Both show text lines identically. Differences that are fair: images are
    placed on the full paper width (so only their height is compared); QR
    codes of printers without native QR are images for the interpreter (a
    wildcard image); drawer pulses and beeps are not on paper for the
    documents' preview; both cuts read "--- cut ---".
    """
    out = []
    for line in lines:
        if ours and (line.startswith("[drawer pulse pin ") or line.startswith("[beep ")):
            continue
        if line in ("--- cut ---", "--- partial cut ---"):
            out.append("--- cut ---")
            continue
        m = _IMAGE.fullmatch(line)
        if m:
            out.append(f"[image height {m.group(2)}]")
            continue
        if not ours and not has_qr and line.startswith("[QR: "):
            out.append(_ANY_IMAGE)
            continue
        out.append(line.rstrip())
    return out


def same_lines(test: SynchronousTestCase, expected: list[str], actual: list[str],
               name: str) -> None:
    """Equal line by line; a wildcard image matches any image of ours."""
    merged = [a if (e == _ANY_IMAGE and a.startswith("[image height ")) else e
              for e, a in zip(expected, actual)]
    merged += expected[len(actual):]
    test.assertEqual(actual, merged, name)


class ExamplesTests(SynchronousTestCase):
    """Every real example: width, text, QR codes and barcodes read back."""

    def setUp(self) -> None:
        self.docs = examples()
        self.rendered = {name: render(doc) for name, doc in self.docs.items()}

    def test_png_as_wide_as_the_paper(self) -> None:
        widths = set()
        for name, r in self.rendered.items():
            png = render_png(r.data, dots=r.profile.dots)
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n", name)
            img = png_image(png)
            self.assertEqual(img.size[0], r.profile.dots, name)
            self.assertGreater(img.size[1], 200, name)
            widths.add(r.profile.dots)
        self.assertEqual(widths, {384, 576})

    def test_text_matches_documents_preview(self) -> None:
        for name, doc in self.docs.items():
            r = self.rendered[name]
            has_qr = r.profile.has_qr
            ours = render_text(r.data, dots=r.profile.dots)
            expected = normalise(text_lines(doc), ours=False, has_qr=has_qr)
            actual = normalise(ours, ours=True, has_qr=has_qr)
            same_lines(self, expected, actual, name)
            # and the text lines alone are exactly equal, in order
            text = [x for x in ours if not x.startswith("[") and not x.startswith("---")]
            want = [x for x in text_lines(doc)
                    if not x.startswith("[") and not x.startswith("---")]
            self.assertEqual(text, want, name)
            for line in text:
                self.assertLessEqual(len(line), r.profile.chars_b, (name, line))

    def test_pulse_and_beep_are_visible(self) -> None:
        r = self.rendered["showcase.json"]
        receipt = interpret(r.data, dots=r.profile.dots)
        kinds = [b.kind for b in receipt.blocks if isinstance(b, Marker)]
        self.assertEqual(kinds, ["drawer", "beep"])
        self.assertIn("[drawer pulse pin 0, 50 ms on, 100 ms off]", receipt.text_lines())
        self.assertEqual([c.partial for c in receipt.of_kind("cut")], [True])

    def test_qr_codes_decode(self) -> None:
        if zxingcpp is None:
            self.fail("zxing-cpp (a test dependency) is not installed: scripts/install --test")
        checked = 0
        for name, doc in self.docs.items():
            r = self.rendered[name]
            wanted = [c["data"]["data"] for c in doc["commands"] if c["type"] == "qr"]
            if not wanted:
                continue
            receipt = interpret(r.data, dots=r.profile.dots)
            if r.profile.has_qr:
                self.assertEqual([q.data.decode() for q in receipt.of_kind("qr")], wanted,
                                 name)
            found = decode(render_image(receipt))
            qr = [text for fmt, text in found if fmt == "QRCode"]
            self.assertEqual(qr, wanted, name)
            checked += 1
        self.assertGreaterEqual(checked, 4)

    def test_barcodes_decode(self) -> None:
        if zxingcpp is None:
            self.fail("zxing-cpp (a test dependency) is not installed: scripts/install --test")
        checked = 0
        for name, doc in self.docs.items():
            r = self.rendered[name]
            wanted = [c["data"]["data"] for c in doc["commands"] if c["type"] == "barcode"]
            if not wanted:
                continue
            found = decode(png_image(render_png(r.data, dots=r.profile.dots)))
            self.assertEqual([t for fmt, t in found if fmt == "Code128"], wanted, name)
            checked += 1
        self.assertGreaterEqual(checked, 2)

    def test_images_keep_their_height(self) -> None:
        for name, doc in self.docs.items():
            r = self.rendered[name]
            receipt = interpret(r.data, dots=r.profile.dots)
            heights = [int(m.group(2)) for m in map(_IMAGE.fullmatch, text_lines(doc)) if m]
            rasters = receipt.of_kind("image")
            self.assertEqual([x.height for x in rasters][:len(heights)], heights, name)
            for x in rasters:
                self.assertEqual(x.image.size, (x.width, x.height))
                self.assertLessEqual(x.x + x.width, r.profile.dots)

    def test_fast_enough(self) -> None:
        biggest = max(self.docs, key=lambda n: len(json.dumps(self.docs[n])))
        r = self.rendered[biggest]
        render_png(r.data, dots=r.profile.dots)          # warm the glyph cache
        start = time.perf_counter()
        render_png(r.data, dots=r.profile.dots)
        render_text(r.data, dots=r.profile.dots)
        self.assertLess(time.perf_counter() - start, 0.5, biggest)

    def test_300_dpi_keeps_characters_per_line(self) -> None:
        doc = json.loads(json.dumps(self.docs["table_showcase.json"]))
        doc["profile"]["dpi"] = 300
        r = render(doc)
        receipt = interpret(r.data, dots=r.profile.dots, dpi=300)
        self.assertEqual(receipt.chars_per_line, r.profile.chars_a)
        text = [x for x in receipt.text_lines() if not x.startswith("---")]
        want = [x for x in text_lines(doc) if not x.startswith("---")]
        self.assertEqual(text, want)
        self.assertEqual(png_image(render_png(receipt)).size[0], r.profile.dots)


class CodePageTests(SynchronousTestCase):
    def test_wpc1252_and_pc858(self) -> None:
        for n, codec in ((16, "cp1252"), (19, "cp858")):
            data = b"\x1b@\x1bt" + bytes((n,)) + SPANISH.encode(codec) + b"\n"
            self.assertEqual(render_text(data), [SPANISH], codec)

    def test_documents_in_both_tables(self) -> None:
        for table in ("WPC1252", "PC858"):
            doc = {"version": "1.0", "profile": {"code_table": table},
                   "commands": [{"type": "text", "data": {"content": {"text": SPANISH}}}]}
            r = render(doc)
            self.assertEqual(r.warnings, (), table)
            self.assertEqual(render_text(r.data, dots=r.profile.dots), [SPANISH], table)

    def test_other_tables(self) -> None:
        for n, codec, text in ((0, "cp437", "Añejo 1,50"), (2, "cp850", "Añejo café"),
                               (17, "cp866", "Привет"), (18, "cp852", "Łódź żółć")):
            data = b"\x1bt" + bytes((n,)) + text.encode(codec) + b"\n"
            self.assertEqual(render_text(data), [text], codec)

    def test_reset_goes_back_to_pc437(self) -> None:
        data = b"\x1bt\x10\x80\n\x1b@\x80\n"
        self.assertEqual(render_text(data), ["€", "Ç"])

    def test_default_table_parameter(self) -> None:
        data = "café €".encode("cp1252") + b"\n"
        self.assertEqual(render_text(data, code_table="WPC1252"), ["café €"])
        self.assertEqual(render_text(data, code_table="cp1252"), ["café €"])
        self.assertEqual(render_text(b"\x82\n"), ["é"])                 # PC437 by default
        receipt = interpret(b"x\n", code_table="nonsense")
        self.assertEqual(receipt.text_lines(), ["x"])
        self.assertTrue(receipt.warnings)

    def test_unknown_table_warns(self) -> None:
        receipt = interpret(b"\x1bt\x63abc\n")
        self.assertEqual(receipt.text_lines(), ["abc"])
        self.assertEqual(len(receipt.warnings), 1)


class TextLayoutTests(SynchronousTestCase):
    def test_alignment_and_sizes(self) -> None:
        data = (b"\x1ba\x01Hi\n\x1ba\x02Hi\n\x1ba\x00\x1d!\x11AB\n\x1d!\x00"
                b"\x1bE\x01\x1b-\x01\x1dB\x01bold\n")
        self.assertEqual(render_text(data, dots=576), [" " * 23 + "Hi", " " * 46 + "Hi",
                                                       "A B", "bold"])
        receipt = interpret(data)
        line = receipt.blocks[2]
        self.assertIsInstance(line, TextLine)
        self.assertEqual([g.x for g in line.items], [0, 24])
        self.assertEqual(line.height, 48)
        style = receipt.blocks[3].items[0].style
        self.assertEqual((style.bold, style.underline, style.inverse), (True, 1, True))

    def test_characters_per_line(self) -> None:
        for dots, font, chars in ((576, b"\x00", 48), (576, b"\x01", 64),
                                  (384, b"\x00", 32), (384, b"\x01", 42)):
            data = b"\x1bM" + font + b"x" * (chars + 1) + b"\n"
            self.assertEqual(render_text(data, dots=dots), ["x" * chars, "x"], (dots, font))

    def test_print_mode_byte(self) -> None:
        receipt = interpret(b"\x1b!\xb9A\n")
        st = receipt.blocks[0].items[0].style
        self.assertEqual((st.font, st.bold, st.width, st.height, st.underline),
                         ("B", True, 2, 2, 1))

    def test_feeds_and_spacing(self) -> None:
        receipt = interpret(b"a\n\x1bd\x03\x1b3\x50b\n\x1b2c\n\x1bJ\x64")
        self.assertEqual(receipt.text_lines(), ["a", "", "", "", "b", "c", "", "", ""])
        self.assertEqual([b.height for b in receipt.blocks], [30, 90, 80, 30, 100])

    def test_tabs_and_positions(self) -> None:
        self.assertEqual(render_text(b"a\tb\n"), ["a       b"])
        self.assertEqual(render_text(b"\x1bD\x04\x00a\tb\n"), ["a   b"])
        self.assertEqual(render_text(b"\x1b$\x3c\x00x\n"), ["     x"])

    def test_text_without_line_feed_is_shown(self) -> None:
        self.assertEqual(render_text(b"tail"), ["tail"])

    def test_glyphs_drawn_in_their_cells(self) -> None:
        img = render_image(b"\x1ba\x01" + b"M" * 10 + b"\n", dots=576)
        self.assertEqual(img.size, (576, 30))
        box = Image.eval(img.convert("L"), lambda v: 255 - v).getbbox()
        self.assertIsNotNone(box)
        self.assertGreaterEqual(box[0], 228)
        self.assertLessEqual(box[2], 348)


class BlocksTests(SynchronousTestCase):
    def test_raster_pixels(self) -> None:
        # 16 x 2: first row all black, second row left half black
        data = b"\x1dv0\x00\x02\x00\x02\x00\xff\xff\xff\x00"
        receipt = interpret(data, dots=384)
        (raster,) = receipt.blocks
        self.assertIsInstance(raster, Raster)
        self.assertEqual((raster.width, raster.height, raster.x), (16, 2, 0))
        img = render_image(receipt)
        self.assertEqual([img.getpixel((x, 0)) for x in (0, 15, 16)], [0, 0, 255])
        self.assertEqual([img.getpixel((x, 1)) for x in (0, 7, 8)], [0, 0, 255])
        double = interpret(b"\x1ba\x01\x1dv0\x03\x01\x00\x01\x00\xff", dots=384).blocks[0]
        self.assertEqual((double.width, double.height, double.x), (16, 2, 184))

    def test_python_escpos_images(self) -> None:
        from escpos.printer import Dummy

        src = Image.new("1", (64, 48), 1)
        src.paste(0, (8, 8, 56, 40))
        for impl in ("bitImageRaster", "graphics", "bitImageColumn"):
            p = Dummy()
            p.image(src, impl=impl)
            img = render_image(p.output, dots=384).convert("L")
            box = Image.eval(img, lambda v: 255 - v).getbbox()
            self.assertIsNotNone(box, impl)
            self.assertEqual((box[2] - box[0], box[3] - box[1]), (48, 32), impl)

    def test_native_qr(self) -> None:
        from escpos.printer import Dummy

        p = Dummy()
        p.text("above\n")
        p.qr("https://example.com/ñ?x=1", native=True, size=5)
        p.text("below\n")
        receipt = interpret(p.output, dots=384)
        (qr,) = receipt.of_kind("qr")
        self.assertIsInstance(qr, QRCode)
        self.assertEqual((qr.module, qr.correction), (5, "L"))
        self.assertEqual(qr.image.size[0] % 5, 0)
        self.assertEqual(receipt.text_lines(),
                         ["above", "[QR: https://example.com/ñ?x=1]", "below"])
        if zxingcpp is not None:
            self.assertEqual(decode(render_image(receipt)),
                             [("QRCode", "https://example.com/ñ?x=1")])

    def test_qr_correction_and_empty(self) -> None:
        store = b"\x1d(k\x06\x001P0abc"
        data = b"\x1d(k\x03\x001E3\x1d(k\x03\x001C\x08" + store + b"\x1d(k\x03\x001Q0"
        (qr,) = interpret(data).of_kind("qr")
        self.assertEqual((qr.correction, qr.module, qr.data), ("H", 8, b"abc"))
        self.assertEqual(interpret(b"\x1d(k\x03\x001Q0").blocks, [])

    def test_barcodes_drawn_and_decoded(self) -> None:
        cases = [(73, b"{B20250109", "20250109", "Code128"),
                 (67, b"590123412345", "5901234123457", "EAN13"),
                 (68, b"9638507", "96385074", "EAN8"),
                 (69, b"ABC-123", "ABC-123", "Code39"),
                 (70, b"12345678", "12345678", "ITF"),
                 (71, b"A40156B", "A40156B", "Codabar"),
                 (65, b"03600029145", "036000291452", None)]
        for m, payload, text, fmt in cases:
            data = (b"\x1ba\x01\x1dh\x50\x1dw\x02\x1dH\x02" + b"\x1dk" + bytes((m, len(payload)))
                    + payload + b"\n")
            receipt = interpret(data, dots=576)
            (bc,) = receipt.of_kind("barcode")
            self.assertIsInstance(bc, Barcode)
            self.assertEqual(bc.problem, "", m)
            self.assertEqual(bc.height, 80 + 26, m)
            self.assertEqual(bc.x, (576 - len(bc.modules) * 2) // 2, m)
            if zxingcpp is not None and fmt is not None:
                self.assertIn((fmt, text), decode(render_image(receipt)), m)
        # function A (NUL terminated) and HRI above and below
        receipt = interpret(b"\x1dH\x03\x1dk\x04CODE39\x00")
        (bc,) = receipt.of_kind("barcode")
        self.assertEqual((bc.symbology, bc.hri, bc.hri_position), ("code39", "*CODE39*", 3))
        self.assertEqual(receipt.text_lines(), ["[BARCODE code39: *CODE39*]"])

    def test_bad_or_too_wide_barcodes_are_markers(self) -> None:
        (bc,) = interpret(b"\x1dkC\x03abc").of_kind("barcode")
        self.assertNotEqual(bc.problem, "")
        (wide,) = interpret(b"\x1dw\x06\x1dkI\x20{B" + b"x" * 30, dots=384).of_kind("barcode")
        self.assertIn("wider than the paper", wide.problem)
        render_png(b"\x1dw\x06\x1dkI\x20{B" + b"x" * 30, dots=384)

    def test_cuts(self) -> None:
        receipt = interpret(b"a\x1dV\x00b\x1dV\x42\x10\x1bi\x1bm")
        self.assertEqual([b.kind for b in receipt.blocks],
                         ["line", "cut", "line", "feed", "cut", "cut", "cut"])
        self.assertEqual([c.partial for c in receipt.of_kind("cut")],
                         [False, True, False, True])
        self.assertEqual(receipt.of_kind("feed")[0].height, 0x10)
        self.assertEqual(receipt.text_lines(), ["a", "--- cut ---", "b", "--- partial cut ---",
                                                "--- cut ---", "--- partial cut ---"])

    def test_pulses_beeps_and_status(self) -> None:
        receipt = interpret(b"\x10\x04\x01\x1bp\x01\x19\x32\x10\x14\x01\x00\x05\x1bB\x02\x03")
        self.assertEqual(receipt.text_lines(), [
            "[drawer pulse pin 1, 50 ms on, 100 ms off]", "[drawer pulse pin 0, 500 ms]",
            "[beep x2, 150 ms]"])
        self.assertEqual([b.label for b in receipt.blocks],
                         ["[drawer pulse pin 1]", "[drawer pulse pin 0]", "[beep x2]"])

    def test_ignored_commands(self) -> None:
        data = (b"\x1bc3\x00\x1bc4\x00\x1br\x00\x1b \x00\x1bU\x00\x1d\x62\x01\x1da\x00"
                b"\x1dL\x00\x00\x1dW\x40\x02\x1d(E\x03\x00\x01\x02\x03\x1bS\x1dP\x00\x00ok\n")
        self.assertEqual(render_text(data), ["ok"])

    def test_margin_and_area(self) -> None:
        receipt = interpret(b"\x1dL\x30\x00\x1dW\x60\x00" + b"y" * 9 + b"\n")
        lines = receipt.of_kind("line")
        self.assertEqual([len(l.items) for l in lines], [8, 1])
        self.assertEqual(lines[0].items[0].x, 48)
        self.assertEqual(receipt.text_lines(), ["    yyyyyyyy", "    y"])
