"""The receipt picture never fails: unknown or truncated commands become markers, and any
bytes at all give a receipt (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from twisted.trial.unittest import SynchronousTestCase

from ticketd.receipt_image import (MAX_HEIGHT, Receipt, interpret, render_image, render_png,
                                   render_text, to_png)
from tests.test_receipt_image import png_image



class MarkerTests(SynchronousTestCase):
    def test_unknown_command_marked_after_its_line(self) -> None:
        receipt = interpret(b"Hello\x1b~World\n")
        self.assertEqual(receipt.text_lines(), ["HelloWorld", "[unknown ESC ~]"])
        marker = receipt.blocks[1]
        self.assertEqual((marker.kind, marker.label), ("unknown", "[? 1B 7E]"))
        img = render_image(receipt)
        self.assertEqual(img.size[1], receipt.height)
        self.assertLess(img.crop((0, 30, 576, img.size[1])).convert("L").getextrema()[0], 128)

    def test_unknown_controls_and_prefixes(self) -> None:
        lines = render_text(b"\x07\x1d\xfe\x1c\x01\x10\x99x\n")
        self.assertEqual(lines, ["[unknown control 07]", "[unknown GS FE]", "[unknown FS 01]",
                                 "[unknown DLE 99]", "x"])

    def test_truncated_commands(self) -> None:
        for data, name in ((b"\x1dv0\x00\x10\x00\x10\x00abc", "[truncated GS v 0]"),
                           (b"\x1b", "[truncated ESC]"), (b"ab\x1b!", "[truncated ESC !]"),
                           (b"\x1dk\x04ABC", "[truncated GS k 04]"),
                           (b"\x1d(k\x10\x001P0", "[truncated GS ( k]")):
            lines = render_text(data)
            self.assertEqual(lines[-1], name, data)
            render_png(data)

    def test_height_is_capped(self) -> None:
        receipt = interpret(b"\x1bd\xff" * 200)
        self.assertTrue(receipt.truncated)
        self.assertLessEqual(receipt.height, MAX_HEIGHT + 100)
        self.assertEqual(receipt.blocks[-1].kind, "limit")
        img = render_image(receipt)
        self.assertLessEqual(img.size[1], MAX_HEIGHT + 100)
        huge = b"\x1dv0\x00\x48\x00\xff\xff" + b"\x00" * (0x48 * 0xFFFF)
        receipt = interpret(huge, max_height=2000)
        self.assertLessEqual(render_image(receipt).size[1], 2100)
        flat = interpret(b"\x1b3\x00" + b"\n" * 100000)        # zero-height lines
        self.assertTrue(flat.truncated)
        self.assertLessEqual(len(flat.blocks), 20001)
        self.assertEqual(flat.blocks[-1].kind, "limit")

    def test_accepts_buffers_and_empty_input(self) -> None:
        self.assertEqual(render_text(bytearray(b"a\n")), ["a"])
        self.assertEqual(render_text(memoryview(b"a\n")), ["a"])
        self.assertEqual(render_text(b""), [])
        img = png_image(render_png(b""))
        self.assertEqual(img.size, (576, 1))
        self.assertIsInstance(interpret(b""), Receipt)
        self.assertEqual(png_image(to_png(Image.new("1", (8, 8)))).size, (8, 8))


_PREFIXES = [b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\n", b"\x1dv0", b"\x1d(k", b"\x1d(L",
             b"\x1dk", b"\x1b*", b"\x1bD", b"\x1b&", b"\x1dV", b"\x1c" + b"q", b"\x1d8L",
             b"\x1d!", b"\x1bt", b"\x1b$", b"\x1b\\", b"\x1dL", b"\x1dW", b"\x10\x14"]
_chunks = st.one_of(st.binary(max_size=40), st.sampled_from(_PREFIXES),
                    st.tuples(st.sampled_from(_PREFIXES), st.binary(max_size=12)).map(
                        lambda t: t[0] + t[1]))
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


class PropertyTests(SynchronousTestCase):
    def check(self, data: bytes, dots: int) -> None:
        receipt = interpret(data, dots=dots)
        lines = render_text(receipt)
        self.assertTrue(all(isinstance(x, str) for x in lines))
        img = png_image(render_png(receipt))
        self.assertEqual(img.size[0], dots)
        self.assertLessEqual(img.size[1], MAX_HEIGHT + 100)

    @SETTINGS
    @given(st.binary(max_size=3000), st.sampled_from([384, 576]))
    def test_random_bytes_never_raise(self, data: bytes, dots: int) -> None:
        self.check(data, dots)

    @SETTINGS
    @given(st.lists(_chunks, max_size=30).map(b"".join), st.sampled_from([384, 576, 432]))
    def test_command_soup_never_raises(self, data: bytes, dots: int) -> None:
        self.check(data, dots)
