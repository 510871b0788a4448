"""Rendered bytes pinned: speed work on the renderer must not change one byte.

The digests were taken before the renderer was made faster; the reference Atkinson
below is the original pure-Python loop, kept to check the vectorized one against.
"""
from __future__ import annotations

import hashlib
import importlib.util
import random

from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import ImageCache, check, render, render_checked
from ticketd.documents.images import atkinson

from .documents_support import ROOT, examples, logo_png


def _typical_receipt(*args: str) -> dict:
    """The benchmarks' typical receipt (bench/receipts.py), so that the bench measures
    exactly what is pinned here."""
    spec = importlib.util.spec_from_file_location("receipts", ROOT / "bench" / "receipts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.typical_receipt(*args)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


TYPICAL = "0f90cca35c9d310636db3efb73716f6bf30380c51bf59d45ece3985b11630f80"
TYPICAL_LOGO = "74f76b146bf0967bdbc76cc7c93f1150256fe9621273265e5df8cdd86292a5d9"
EXAMPLES = {
    "con_impuestos_err.json": "4ffa5dee297e1162",
    "showcase.json": "f7c8f4d50d4a9301",
    "sin_impuestos_cambioqr_err.json": "fc3f12929a9d1611",
    "sin_impuestos_err.json": "8f0901861a8a7cdf",
    "table_showcase.json": "02cf3a9f3e31c216",
    "ticket_service_test.json": "3714130e78fe4f6e",
}


def reference_atkinson(data: bytes, w: int, h: int, level: int, shortcut: bool = True) -> bytes:
    """The original loop, as it was: 0/255 per pixel (6 neighbours, 1/8 each, truncated);
    a flat 0/255 row without incoming error is copied as it is (``shortcut``), which is
    what the loop makes of it too, except at level 0."""
    out = bytearray(w * h)
    e0 = [0] * (w + 3)
    e1 = [0] * (w + 3)
    e2 = [0] * (w + 3)
    zero_row = [0] * (w + 3)
    for y in range(h):
        base = y * w
        row = data[base:base + w]
        if shortcut and not row.translate(None, b"\x00\xff") and e0 == zero_row:
            out[base:base + w] = row
        else:
            for x in range(w):
                v = row[x] + e0[x + 1]
                if v < level:
                    err = v
                else:
                    err = v - 255
                    out[base + x] = 255
                if err > 7:
                    q = err >> 3
                elif err < -7:
                    q = -((-err) >> 3)
                else:
                    continue
                e0[x + 2] += q
                e0[x + 3] += q
                e1[x] += q
                e1[x + 1] += q
                e1[x + 2] += q
                e2[x + 1] += q
        e0, e1, e2 = e1, e2, e0
        e2[:] = zero_row
    return bytes(out)


class PinnedTests(SynchronousTestCase):
    def test_typical_receipt(self) -> None:
        r = render(_typical_receipt())
        self.assertEqual((_sha(r.data), r.warnings), (TYPICAL, ()))
        checked = check(_typical_receipt())
        self.assertEqual(_sha(render_checked(checked).data), TYPICAL)

    def test_typical_receipt_with_logo(self) -> None:
        cache = ImageCache()
        for _ in range(2):                      # cold, then from the cache
            r = render(_typical_receipt(logo_png()), image_cache=cache)
            self.assertEqual((_sha(r.data), r.warnings), (TYPICAL_LOGO, ()))
        self.assertEqual((cache.hits, cache.misses), (1, 1))

    def test_examples(self) -> None:
        got = {name: _sha(render(d).data)[:16] for name, d in examples().items()}
        self.assertEqual(got, EXAMPLES)


class AtkinsonTests(SynchronousTestCase):
    def images(self):
        rnd = random.Random(7)
        for w, h in [(1, 1), (1, 9), (2, 5), (3, 3), (17, 11), (64, 20), (200, 7),
                     (5, 257), (3, 600)]:                     # several bands of rows
            yield w, h, bytes(rnd.randrange(256) for _ in range(w * h))                # noise
            yield w, h, bytes((x * 7 + y * 13) % 256 for y in range(h) for x in range(w))
            yield w, h, bytes(rnd.choice((0, 255, 255, 90, 254, 1)) for _ in range(w * h))
            yield w, h, bytes([0, 255][rnd.random() < 0.6] for _ in range(w * h))      # flat
            yield w, h, self.striped(rnd, w, h)

    @staticmethod
    def striped(rnd: random.Random, w: int, h: int) -> bytes:
        """A logo's rows: runs of black-and-white rows between runs with gray in them,
        some shorter than the rows an error reaches, some longer than a band."""
        rows = []
        while len(rows) < h:
            gray = rnd.random() < 0.4
            for _ in range(rnd.choice((1, 2, 3, 9, 30, 300))):
                rows.append(bytes(rnd.choice((0, 255, 128, 7, 250) if gray else (0, 255))
                                  for _ in range(w)))
        return b"".join(rows[:h])

    def test_same_as_the_reference_loop(self) -> None:
        from PIL import Image

        for w, h, data in self.images():
            gray = Image.frombytes("L", (w, h), data)
            for level in (1, 2, 64, 127, 128, 200, 254, 255):
                want = Image.frombytes("L", (w, h), reference_atkinson(data, w, h, level))
                got = atkinson(gray, level)
                self.assertEqual(got.mode, "1")
                self.assertEqual(got.tobytes(), want.convert("1").tobytes(), (w, h, level))

    def test_level_0_dithers_flat_rows_too(self) -> None:
        """The one change: the loop's shortcut copied a flat row no error reached, at level
        0 too, where dithering makes its black pixels white (0 is not below 0)."""
        from PIL import Image

        for w, h, data in self.images():
            plain = reference_atkinson(data, w, h, 0, shortcut=False)
            want = Image.frombytes("L", (w, h), plain).convert("1").tobytes()
            self.assertEqual(atkinson(Image.frombytes("L", (w, h), data), 0).tobytes(), want)
        black = Image.new("L", (8, 2), 0)
        self.assertEqual(reference_atkinson(black.tobytes(), 8, 2, 0), bytes(16))
        self.assertEqual(atkinson(black, 0).getpixel((0, 0)), 255)        # 0 >= 0: white

    def test_levels_outside_0_255(self) -> None:
        from PIL import Image

        for level in (-1, 256):
            self.assertRaises(ValueError, atkinson, Image.new("L", (2, 2), 9), level)

    def test_photo(self) -> None:
        """Every pixel gray: the worst case of the loop, an ordinary one here."""
        from PIL import Image

        rnd = random.Random(3)
        w, h = 96, 40
        data = bytes(rnd.randrange(256) for _ in range(w * h))
        want = Image.frombytes("L", (w, h), reference_atkinson(data, w, h, 128)).convert("1")
        self.assertEqual(atkinson(Image.frombytes("L", (w, h), data)).tobytes(), want.tobytes())
