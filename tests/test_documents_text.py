"""Code pages, transliteration warnings and the exact byte acceptance tests."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import render

from .documents_support import doc, text

ANEJO = "Añejo café 1,50 €"
ANEJO_1252 = bytes.fromhex("41 F1 65 6A 6F 20 63 61 66 E9 20 31 2C 35 30 20 80")


class CodePageTests(SynchronousTestCase):
    def test_wpc1252_exact(self) -> None:
        data = render(doc(text(ANEJO), code_table="WPC1252")).data
        self.assertEqual(data, b"\x1b@" + bytes.fromhex("1B 74 10") + ANEJO_1252 + b"\n")

    def test_default_is_wpc1252(self) -> None:
        self.assertTrue(render(doc(text(ANEJO))).data.startswith(b"\x1b@\x1bt\x10" + ANEJO_1252))

    def test_pc858_euro(self) -> None:
        r = render(doc(text(ANEJO), code_table="PC858"))
        self.assertTrue(r.data.startswith(b"\x1b@\x1bt\x13"))
        self.assertTrue(r.data.endswith(b"\xd5\n"))
        self.assertEqual(r.warnings, ())

    def test_tables_numbers(self) -> None:
        for name, n in [("PC437", 0), ("PC850", 2), ("PC852", 18), ("PC858", 19),
                        ("PC866", 17), ("WPC1252", 16)]:
            data = render(doc(text("x"), code_table=name)).data
            self.assertEqual(data[:5], b"\x1b@\x1bt" + bytes((n,)), name)

    def test_pc866_cyrillic(self) -> None:
        self.assertIn(b"\x8f\xe0\xa8", render(doc(text("При"), code_table="PC866")).data)

    def test_reselected_after_raw_reset(self) -> None:
        d = doc(text("a"), {"type": "raw", "data": {"hex": "1B 40"}}, text("é"),
                code_table="PC850")
        data = render(d).data
        self.assertIn(b"\x1b@\x1bt\x02", data[2:])
        self.assertTrue(data.endswith(b"\x82\n"))

    def test_transliteration_warnings_once(self) -> None:
        r = render(doc(text("ő ő “q” – …"), code_table="PC850"))
        self.assertTrue(r.data.endswith(b'o o "q" - ...\n'))
        self.assertIn("text: 'ő' not in PC850, printed as 'o'", r.warnings)
        self.assertEqual(len(r.warnings), 5)

    def test_unknown_char_question_mark(self) -> None:
        r = render(doc(text("漢"), code_table="PC437"))
        self.assertTrue(r.data.endswith(b"?\n"))
        self.assertEqual(r.warnings, ("text: '漢' not in PC437, printed as '?'",))

    def test_euro_in_pc850(self) -> None:
        r = render(doc(text("5 €"), code_table="PC850"))
        self.assertTrue(r.data.endswith(b"5 EUR\n"))
