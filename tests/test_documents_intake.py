"""Intake rules one by one: what is read with a warning, what still fails, and with which
category (Ticket Daemon's for the same defect)."""
from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import check, render, text_lines, validate
from ticketd.documents.intake import fold, paper_for_dots

from .documents_support import doc, png, text


def warnings_of(d: Any) -> list[str]:
    checked = check(d)
    assert not checked.errors, checked.errors
    return list(checked.warnings)


class WarnedTests(SynchronousTestCase):
    def test_unknown_keys_anywhere(self) -> None:
        d = doc(text("a", content_style={"bold": True, "colour": "red"}, extra=1))
        d["profile"]["vendor"] = "x"
        d["commands"][0]["order"] = 2
        d["printer"] = "p1"
        self.assertEqual(warnings_of(d), [
            "profile.vendor: unknown key, ignored",
            "commands[0].data.content.content_style.colour: unknown key, ignored",
            "commands[0].data.extra: unknown key, ignored",
            "commands[0].order: unknown key, ignored",
            "printer: unknown key, ignored"])
        self.assertEqual(text_lines(d), ["a"])

    def test_enums_in_any_case_and_spelling(self) -> None:
        for given, canon in [("UPC-A", "upca"), ("EAN13", "ean13"), ("Code128", "code128"),
                             ("code_39", "code39"), ("JAN13", "ean13")]:
            self.assertEqual(fold(given), fold(canon))
        d = doc({"type": "barcode", "data": {"symbology": "UPC-A", "data": "03600029145",
                                             "hri_position": "BELOW", "align": "Center"}},
                {"type": "qr", "data": {"data": "x", "correction": "h"}},
                {"type": "cut", "data": {"mode": "Partial"}},
                text("b", content_style={"font": "b", "underline": "1PT", "size": "2X1"}))
        self.assertEqual(render(d).data, render(doc(
            {"type": "barcode", "data": {"symbology": "upca", "data": "03600029145",
                                         "hri_position": "below", "align": "center"}},
            {"type": "qr", "data": {"data": "x", "correction": "H"}},
            {"type": "cut", "data": {"mode": "partial"}},
            text("b", content_style={"font": "B", "underline": "1pt", "size": "2x1"}))).data)
        self.assertIn("commands[0].data.symbology: 'UPC-A' read as 'upca'", warnings_of(d))
        self.assertIn("commands[3].data.content.content_style.size: '2X1' read as '2x1'",
                      warnings_of(d))

    def test_command_type_in_any_case(self) -> None:
        d = doc({"type": "TEXT", "data": {"content": {"text": "a"}}})
        self.assertEqual(warnings_of(d), ["commands[0].type: 'TEXT' read as 'text'"])

    def test_plain_string_text_with_style_and_newline(self) -> None:
        d = doc({"type": "text", "data": {"content": "HOLA", "newline": False,
                                          "style": {"align": "center", "bold": True,
                                                    "colour": "red"}}}, text("!"))
        self.assertEqual(text_lines(d), text_lines(doc(
            text("HOLA", align="center", content_style={"bold": True}, new_line=False),
            text("!"))))
        self.assertEqual(warnings_of(d), [
            "commands[0].data.newline: read as new_line",
            "commands[0].data.content: a plain string, read as content.text",
            "commands[0].data.style: read as content.content_style",
            "commands[0].data.style.colour: unknown key, ignored"])

    def test_new_line_inside_content_and_label_string(self) -> None:
        d = doc({"type": "text", "data": {"label": "Folio",
                                          "content": {"text": "1", "new_line": False}}},
                text("x"))
        self.assertEqual(text_lines(d), ["Folio: 1x"])
        self.assertEqual(warnings_of(d), [
            "commands[0].data.content.new_line: read as new_line",
            "commands[0].data.label: a plain string, read as label.text"])

    def test_table_header_columns_and_paper_width(self) -> None:
        cols = [{"header": "A", "width": 4}, {"header": "B", "width": 4}]
        d = doc({"type": "table", "data": {"definition": {"columns": cols, "paper_width": 32},
                                           "rows": [["1", 2]]}})
        v1 = doc({"type": "table", "data": {"definition": {"columns": [
            {"name": "A", "width": 4}, {"name": "B", "width": 4}]}, "rows": [["1", "2"]]}})
        self.assertEqual(render(d).data, render(v1).data)
        self.assertEqual(warnings_of(d), [
            "commands[0].data.definition.columns[0].header: read as name",
            "commands[0].data.definition.columns[1].header: read as name",
            "commands[0].data.rows[0]: numbers read as text",
            "commands[0].data.definition.paper_width: ignored, the line width comes from "
            "the profile"])

    def test_table_columns_without_definition_or_names(self) -> None:
        d = doc({"type": "table", "data": {"columns": [{"width": 4}, {"width": 4}],
                                           "rows": [["a", "b", ""], []]}})
        self.assertEqual(text_lines(d), [" " * 20 + "a    b", ""])  # centred, as v1
        self.assertIn("commands[0].data.show_headers: no column has a name: read as false",
                      warnings_of(d))
        self.assertIn("commands[0].data.rows[0]: 1 empty cells past the last column, ignored",
                      warnings_of(d))

    def test_image_width(self) -> None:
        d = doc({"type": "image", "data": {"code": png(100, 10), "width": 50,
                                           "format": "gif"}})
        self.assertEqual(text_lines(d), ["[image 50x5]"])
        self.assertEqual(warnings_of(d), [
            "commands[0].data.width: read as pixel_width",
            "commands[0].data.format: 'gif' ignored, the format is read from the data"])

    def test_profile_in_dots_and_supports_qr(self) -> None:
        self.assertEqual([paper_for_dots(n, 203) for n in (384, 512, 576, 640, 200)],
                         [58, 72, 80, 80, None])
        self.assertEqual(paper_for_dots(864, 300), 80)
        for profile, mm in [({"width": 384}, 58), ({"paper_width": 576}, 80),
                            ({"width": 80}, 80), ({"paper_width": 864, "dpi": 300}, 80)]:
            d = {"profile": dict(profile, supports_qr=True),
                 "commands": [{"type": "qr", "data": {"data": "x"}}]}
            rendered = render(d)
            self.assertEqual(rendered.profile.paper_width_mm, mm, profile)
            self.assertTrue(rendered.profile.has_qr)
            self.assertIn("profile.supports_qr: read as has_qr", rendered.warnings)
        self.assertIn("profile.paper_width: 576 dots read as 80 mm",
                      warnings_of({"profile": {"paper_width": 576},
                                   "commands": [text("a")]}))

    def test_unknown_command_skipped_and_paths_kept(self) -> None:
        d = doc(text("a"), {"type": "logo", "data": {}}, text("b"),
                text("c", content_style={"size": "9x1"}))
        self.assertEqual(validate(d), ["VALIDATION: commands[3].data.content.content_style."
                                       "size: '9x1' is not WxH with 1-8"])
        d["commands"].pop()
        self.assertEqual(text_lines(d), ["a", "b"])

    def test_cosmetic_elements_left_out(self) -> None:
        d = doc(text("a"), {"type": "image", "data": {"code": "CODIGO_EN_BASE64"}},
                {"type": "image", "data": {"code": ""}},
                {"type": "qr", "data": {"data": "x", "logo": "aGVsbG8="}})
        self.assertEqual(text_lines(d), ["a", "[QR: x]"])
        warnings = warnings_of(d)
        self.assertEqual(len(warnings), 3)
        self.assertTrue(warnings[0].startswith("commands[1].data.code: invalid base64"))
        self.assertEqual(warnings[1], "commands[2].data.code: no image data; the image is "
                                      "left out")
        self.assertTrue(warnings[2].startswith("commands[3].data.logo: not a PNG"))
        self.assertTrue(warnings[2].endswith("the QR code is printed without it"))

    def test_v1_documents_get_no_warning(self) -> None:
        self.assertEqual(warnings_of(doc(text("a"), {"type": "cut"})), [])


class FailedTests(SynchronousTestCase):
    def test_bad_barcode_data_still_fails(self) -> None:
        errs = validate(doc({"type": "barcode", "data": {"symbology": "EAN-13",
                                                         "data": "4006381333932"}}))
        self.assertEqual(errs, ["BARCODE: commands[0].data.data: wrong check digit in "
                                "'4006381333932'"])

    def test_ambiguous_table_row_still_fails(self) -> None:
        cols = [{"header": "A", "width": 4}, {"header": "B", "width": 4}]
        d = doc({"type": "table", "data": {"definition": {"columns": cols},
                                           "rows": [["only one"], ["1", "2", "3"]]}})
        self.assertEqual(validate(d), [
            "VALIDATION: commands[0].data.rows[0]: 1 cells, table has 2 columns",
            "VALIDATION: commands[0].data.rows[1]: 3 cells, table has 2 columns"])

    def test_nothing_printable_fails(self) -> None:
        d = doc({"type": "logo", "data": {}}, {"type": "image", "data": {"code": "x"}})
        self.assertEqual(validate(d), ["VALIDATION: commands: nothing left to print: every "
                                       "command was left out"])
        self.assertEqual(validate({"commands": []}),
                         ["VALIDATION: commands: [] should be non-empty"])

    def test_unknown_values_still_fail(self) -> None:
        errs = validate(doc({"type": "cut", "data": {"mode": "half"}},
                            text("a", content_style={"size": "9x1"})))
        self.assertEqual([e.split(":")[0] for e in errs], ["VALIDATION", "VALIDATION"])


class CategoryTests(SynchronousTestCase):
    """The category Ticket Daemon reports for the same defect."""

    def first(self, command: dict) -> str:
        return validate(doc(command))[0]

    def test_categories(self) -> None:
        table = [
            ({"type": "qr", "data": {"data": ""}}, "QR: commands[0].data.data"),
            ({"type": "qr", "data": {}}, "QR: commands[0].data"),
            ({"type": "qr", "data": {"data": "x" * 8000}}, "QR: commands[0].data.data"),
            ({"type": "qr", "data": {"data": "x", "correction": "Z"}},
             "QR: commands[0].data.correction"),
            ({"type": "barcode", "data": {"data": "1"}}, "BARCODE: commands[0].data"),
            ({"type": "barcode", "data": {"symbology": "", "data": "1"}},
             "BARCODE: commands[0].data.symbology"),
            ({"type": "barcode", "data": {"symbology": "pdf417", "data": "1"}},
             "BARCODE: commands[0].data.symbology"),
            ({"type": "barcode", "data": {"symbology": "ean13"}}, "BARCODE: commands[0].data"),
            ({"type": "barcode", "data": {"symbology": "ean13", "data": ""}},
             "BARCODE: commands[0].data.data"),
            ({"type": "raw", "data": {"hex": ""}}, "RAW: commands[0].data.hex"),
            ({"type": "raw", "data": {}}, "RAW: commands[0].data"),
            ({"type": "table", "data": {"definition": {"columns": [{"name": "a",
                                                                     "width": 60}]},
                                        "rows": [], "options": {"auto_reduce": False}}},
             "TABLE: commands[0].data.definition.columns"),
            ({"type": "feed", "data": {"lines": 0}}, "VALIDATION: commands[0].data.lines"),
        ]
        for command, start in table:
            self.assertTrue(self.first(command).startswith(start), (command, start))
        self.assertTrue(validate("{")[0].startswith("JSON: document"))
        self.assertTrue(validate({"profile": {"dpi": 100}, "commands": [text("a")]})[0]
                        .startswith("VALIDATION: profile.dpi"))


class StrictTests(SynchronousTestCase):
    def test_every_warning_is_an_error(self) -> None:
        d = doc({"type": "text", "data": {"content": "a"}}, {"type": "logo"})
        self.assertEqual(validate(d), [])
        self.assertEqual(validate(d, strict=True), [
            "VALIDATION: commands[0].data.content: a plain string, read as content.text",
            "VALIDATION: commands[1].type: unknown command type 'logo', skipped"])
        exc = self.assertRaises(Exception, render, d, strict=True)
        self.assertEqual(exc.category, "VALIDATION")
        self.assertEqual(validate(doc(text("a")), strict=True), [])
