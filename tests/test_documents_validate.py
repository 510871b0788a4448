"""Validation: schema dispatch, semantic checks, categories and paths."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import DocumentError, render, validate

from .documents_support import doc, text


class ValidateTests(SynchronousTestCase):
    def test_unknown_type(self) -> None:
        # skipped with a warning (as Ticket Daemon does), an error only in strict mode
        self.assertEqual(validate(doc(text("a"), {"type": "foo", "data": {}})), [])
        self.assertEqual(validate(doc(text("a"), {"type": "foo", "data": {}}), strict=True),
                         ["VALIDATION: commands[1].type: unknown command type 'foo', skipped"])

    def test_size(self) -> None:
        d = doc(text("a"), text("b"), text("c"), text("x", content_style={"size": "9x1"}))
        self.assertEqual(validate(d), ["VALIDATION: commands[3].data.content.content_style.size:"
                                       " '9x1' is not WxH with 1-8"])

    def test_table_row_length(self) -> None:
        cols = [{"name": n, "width": 5} for n in "abcd"]
        table = {"type": "table", "data": {"definition": {"columns": cols},
                                           "rows": [["1"] * 4, ["1"] * 4, ["1"] * 3]}}
        d = doc(text("a"), text("a"), text("a"), text("a"), table)
        self.assertEqual(validate(d), ["VALIDATION: commands[4].data.rows[2]: 3 cells, table has 4 columns"])

    def test_table_too_wide(self) -> None:
        cols = [{"name": "a", "width": 30}, {"name": "b", "width": 30}]
        t = {"type": "table", "data": {"definition": {"columns": cols}, "rows": [],
                                       "options": {"auto_reduce": False}}}
        self.assertTrue(validate(doc(t))[0].startswith("TABLE: commands[0].data.definition.columns"))
        cols = [{"name": "a", "width": 3}] * 12
        t = {"type": "table", "data": {"definition": {"columns": cols}, "rows": []}}
        self.assertTrue(validate(doc(t, paper_width=58))[0].startswith("TABLE:"))

    def test_barcode(self) -> None:
        bad = [("ean13", "4006381333932"), ("ean13", "12ab"), ("upca", "1"), ("itf", "123"),
               ("code39", "abc"), ("codabar", "123"), ("code128", "ñ")]
        for sym, data in bad:
            errs = validate(doc({"type": "barcode", "data": {"symbology": sym, "data": data}}))
            self.assertTrue(errs and errs[0].startswith("BARCODE: commands[0].data.data"), (sym, errs))
        for sym, data in [("ean13", "4006381333931"), ("ean8", "96385074"), ("upca", "03600029145"),
                          ("itf", "1234"), ("code39", "ABC-1"), ("codabar", "A123B"), ("code128", "x")]:
            self.assertEqual(validate(doc({"type": "barcode", "data": {"symbology": sym, "data": data}})), [])

    def test_qr_capacity(self) -> None:
        for corr, cap in [("L", 2953), ("M", 2331), ("Q", 1663), ("H", 1273)]:
            ok = doc({"type": "qr", "data": {"data": "a" * cap, "correction": corr}})
            self.assertEqual(validate(ok), [])
            bad = doc({"type": "qr", "data": {"data": "a" * (cap + 1), "correction": corr}})
            self.assertTrue(validate(bad)[0].startswith("QR: commands[0].data.data"))
        self.assertEqual(validate(doc({"type": "qr", "data": {"data": "1" * 7089, "correction": "L"}})), [])

    def test_image_errors(self) -> None:
        # an image that does not decode is left out with a warning; alone, nothing is left
        for code in ("aGVsbG8=", "!!!"):
            self.assertEqual(validate(doc(text("a"), {"type": "image", "data": {"code": code}})),
                             [])
            errs = validate(doc({"type": "image", "data": {"code": code}}))
            self.assertEqual(errs, ["VALIDATION: commands: nothing left to print: every "
                                    "command was left out"])
            errs = validate(doc(text("a"), {"type": "image", "data": {"code": code}}),
                            strict=True)
            self.assertTrue(errs[0].startswith("VALIDATION: commands[1].data.code"), errs)

    def test_raw(self) -> None:
        self.assertTrue(validate(doc({"type": "raw", "data": {"hex": "zz"}}))[0].startswith("RAW:"))
        for hexs in ["1B 40", "1b 70 00 19 32", "10 14 01 00 01"]:
            errs = validate(doc({"type": "raw", "data": {"hex": hexs, "safe_mode": True}}))
            self.assertTrue(errs[0].startswith("RAW: commands[0].data.hex: blocked"), hexs)
        self.assertEqual(validate(doc({"type": "raw", "data": {"hex": "G0BA", "format": "base64"}})), [])

    def test_structure(self) -> None:
        self.assertEqual(validate({}), ["VALIDATION: document: 'commands' is a required property"])
        self.assertEqual(validate({"commands": []}), ["VALIDATION: commands: [] should be non-empty"])
        self.assertTrue(validate("{")[0].startswith("JSON:"))
        errs = validate(doc({"type": "text", "data": {"content": {"text": 1}}}))
        self.assertEqual(errs, ["VALIDATION: commands[0].data.content.text: 1 is not of type 'string'"])
        errs = validate(doc({"type": "feed", "data": {"lines": 0}}, code_table="KLINGON"))
        self.assertEqual([e.split(":")[0] for e in errs], ["VALIDATION", "VALIDATION"])

    def test_dispatch_not_oneof(self) -> None:
        # a cut body is checked as a cut, not as any matching body
        errs = validate(doc({"type": "cut", "data": {"mode": "half"}}))
        self.assertEqual(len(errs), 1)
        self.assertTrue(errs[0].startswith("VALIDATION: commands[0].data.mode"))

    def test_error_cap_and_render_raises(self) -> None:
        d = doc(*[{"type": "feed", "data": {"lines": 0}}] * 80)
        self.assertEqual(len(validate(d)), 50)
        exc = self.assertRaises(DocumentError, render, d)
        self.assertEqual(exc.category, "VALIDATION")
        self.assertEqual(str(exc), "; ".join(exc.errors))
