"""Images: limits, scaling, dithering, alignment and the cache."""
from __future__ import annotations

import base64
import io
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import DocumentError, ImageCache, text_lines, render, validate
from ticketd.documents.images import atkinson

from .documents_support import doc, logo_png, png


def img(code: str, **data) -> dict:
    return {"type": "image", "data": {"code": code, **data}}


class ImageTests(SynchronousTestCase):
    def test_import_is_cheap(self) -> None:
        code = ("import sys, ticketd, ticketd.documents; "
                "print('escpos' in sys.modules, 'PIL' in sys.modules)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=str(Path(__file__).resolve().parent.parent))
        self.assertEqual(out.stdout.strip(), "False False")

    def test_scaled_and_capped(self) -> None:
        self.assertEqual(text_lines(doc(img(png(100, 50), pixel_width=200))), ["[image 200x100]"])
        r = render(doc(img(png(1000, 10)), paper_width=58))
        self.assertIn(b"\x1dv0\x000\x00\x04\x00", r.data)          # 48 bytes = 384 dots, 4 rows
        self.assertEqual(text_lines(doc(img(png(1000, 10)), paper_width=58)), ["[image 384x4]"])
        r = render(doc(img(png(100, 50), pixel_width=900)))
        self.assertTrue(any("pixel_width" in w for w in r.warnings))

    def test_black_image_alignment(self) -> None:
        for align, first, last in [("left", 0xFF, 0), ("right", 0, 0xFF), ("center", 0, 0)]:
            data = render(doc(img(png(8, 1, 0), align=align, dithering="threshold"))).data
            raster = data[data.index(b"\x1dv0") + 8:][:72]
            self.assertEqual((raster[0], raster[-1]), (first, last), align)
            self.assertEqual(sum(bin(b).count("1") for b in raster), 8)

    def test_threshold_and_atkinson(self) -> None:
        from PIL import Image
        gray = Image.new("L", (64, 64), 128)
        dots = sum(1 for p in atkinson(gray).getdata() if p == 0)
        self.assertTrue(1500 < dots < 2600, dots)                     # about half black
        self.assertEqual(validate(doc(img(png(10, 10, 128), threshold=100, dithering="threshold",
                                          scaling="nns"))), [])

    def test_bomb_and_garbage(self) -> None:
        from PIL import Image
        buf = io.BytesIO()
        Image.new("1", (5000, 5000), 1).save(buf, "PNG")
        bomb = base64.b64encode(buf.getvalue()).decode()
        # refused images are left out with a warning, the rest prints
        warnings = render(doc({"type": "feed", "data": {"lines": 1}}, img(bomb))).warnings
        self.assertTrue(warnings[0].startswith("commands[1].data.code: 5000x5000"), warnings)
        errs = validate(doc(img(bomb)), strict=True)
        self.assertTrue(errs[0].startswith("VALIDATION: commands[0].data.code: 5000x5000"), errs)
        exc = self.assertRaises(DocumentError, render, doc(img("AAAA")))
        self.assertEqual(exc.category, "VALIDATION")

    def test_alpha_on_white(self) -> None:
        data = render(doc(img(png(8, 1, (0, 0, 0, 0), "RGBA"), align="left"))).data
        raster = data[data.index(b"\x1dv0") + 8:][:72]
        self.assertEqual(sum(raster), 0)

    def test_cache(self) -> None:
        cache = ImageCache(max_bytes=10 * 1024 * 1024)
        d = doc(img(logo_png(), pixel_width=576))
        first = render(d, image_cache=cache).data
        self.assertEqual((cache.hits, cache.misses, len(cache)), (0, 1, 1))
        self.assertEqual(render(d, image_cache=cache).data, first)
        self.assertEqual(cache.hits, 1)
        small = ImageCache(max_bytes=20000)
        render(d, image_cache=small)
        render(doc(img(png(8, 8))), image_cache=small)
        self.assertLessEqual(small.size_bytes, 20000)
