"""Property tests: valid documents render; random JSON never escapes uncategorized."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import DocumentError, text_lines, render, validate
from ticketd.documents.errors import CATEGORIES
from ticketd.documents.schema import fast_check
from ticketd.documents.schema import validator

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
align = st.sampled_from(["left", "center", "right"])
txt = st.text(max_size=60)
style = st.fixed_dictionaries({}, optional={
    "bold": st.booleans(), "size": st.sampled_from(["1x1", "2x2", "1x2", "8x8", "3x1"]),
    "underline": st.sampled_from(["0pt", "1pt", "2pt"]), "inverse": st.booleans(),
    "font": st.sampled_from(["A", "B"])})
text_cmd = st.fixed_dictionaries({"content": st.fixed_dictionaries(
    {"text": txt}, optional={"align": align, "content_style": style})},
    optional={"new_line": st.booleans(), "label": st.fixed_dictionaries({}, optional={
        "text": txt, "separator": st.text(max_size=3), "label_style": style, "align": align})})


@st.composite
def table_cmd(draw):
    n = draw(st.integers(1, 5))
    cols = [{"name": draw(st.text(max_size=8)), "width": draw(st.integers(1, 12)),
             "align": draw(align)} for _ in range(n)]
    rows = draw(st.lists(st.lists(st.text(max_size=20), min_size=n, max_size=n), max_size=4))
    return {"definition": {"columns": cols}, "rows": rows,
            "show_headers": draw(st.booleans()),
            "options": {"column_spacing": draw(st.integers(0, 2)), "word_wrap": draw(st.booleans())}}


command = st.one_of(
    st.builds(lambda d: {"type": "text", "data": d}, text_cmd),
    st.builds(lambda d: {"type": "table", "data": d}, table_cmd()),
    st.builds(lambda c, n: {"type": "separator", "data": {"char": c, "length": n}},
              st.text(min_size=1, max_size=3), st.integers(1, 255)),
    st.builds(lambda n: {"type": "feed", "data": {"lines": n}}, st.integers(1, 255)),
    st.builds(lambda m, f: {"type": "cut", "data": {"mode": m, "feed": f}},
              st.sampled_from(["full", "partial"]), st.integers(0, 255)),
    st.builds(lambda d, c, w, a, q: {"type": "qr", "data": {"data": d, "correction": c,
                                                           "pixel_width": w, "align": a}},
              st.text(min_size=1, max_size=80), st.sampled_from("LMQH"), st.integers(1, 900), align,
              st.booleans()),
    st.builds(lambda d, h, p: {"type": "barcode", "data": {"symbology": "code128", "data": d,
                                                          "height": h, "hri_position": p}},
              st.text(st.characters(max_codepoint=126, min_codepoint=32), min_size=1, max_size=30),
              st.integers(1, 255), st.sampled_from(["none", "above", "below", "both"])),
    st.builds(lambda p, a, b: {"type": "pulse", "data": {"pin": p, "on_time": a, "off_time": b}},
              st.sampled_from([0, 1]), st.integers(1, 510), st.integers(1, 510)),
    st.builds(lambda t, l: {"type": "beep", "data": {"times": t, "lapse": l}},
              st.integers(1, 9), st.integers(1, 9)),
    st.builds(lambda b: {"type": "raw", "data": {"hex": b.hex()}}, st.binary(min_size=1, max_size=20)),
)
profile = st.fixed_dictionaries({}, optional={
    "paper_width": st.sampled_from([58, 72, 80, 100, 112, 120]),
    "dpi": st.sampled_from([203, 300, 600]), "has_qr": st.booleans(),
    "code_table": st.sampled_from(["PC437", "PC850", "PC852", "PC858", "PC866", "WPC1252"])})
documents = st.fixed_dictionaries({"commands": st.lists(command, min_size=1, max_size=8),
                                   "profile": profile})
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "data", "commands", "content", "text", "lines", "profile",
                         "hex", "x", "rows", "definition", "columns"]), inner, max_size=4),
    max_leaves=20)


class PropertyTests(SynchronousTestCase):
    @SETTINGS
    @given(documents)
    def test_accepted_documents_render(self, doc) -> None:
        try:
            r = render(doc)
        except DocumentError as exc:       # semantic refusals are categorized
            self.assertIn(exc.category, ("TABLE", "BARCODE", "QR"), exc.errors)
            return
        self.assertTrue(r.data.startswith(b"\x1b@\x1bt"))
        text_lines(doc)

    @SETTINGS
    @given(st.fixed_dictionaries({"commands": st.lists(json_values, max_size=4)}) | json_values)
    def test_random_json_is_categorized(self, doc) -> None:
        try:
            render(doc)
        except DocumentError as exc:
            for e in exc.errors:
                self.assertIn(e.split(":")[0], CATEGORIES)

    @SETTINGS
    @given(documents | json_values)
    def test_fast_checker_agrees_with_jsonschema(self, doc) -> None:
        self.assertEqual(fast_check()(doc), validator().is_valid(doc))
        validate(doc)
