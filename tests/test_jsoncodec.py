"""``jsoncodec`` reads and writes what ``json`` does: the same values, the same errors, for
every text (orjson where it agrees, ``json`` for the rest)."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from ticketd import jsoncodec
from ticketd.jobs.model import encode_document
from ticketd.web.frames import BadRequest, decode


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1 is not 1.0), NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def outcome(f: Any, data: Any) -> Any:
    try:
        return ("value", f(data))
    except (ValueError, RecursionError) as e:
        return ("error", type(e), str(e))


def deep(frames: int, frame: bytes) -> tuple[bool, str]:
    """At ``frames`` calls down: whether ``json`` reads ``frame``, and what ``decode``
    makes of it ("accepted" or its refusal; any other exception propagates)."""
    if frames:
        return deep(frames - 1, frame)
    readable = outcome(lambda f: json.loads(f.decode()), frame)[0] == "value"
    try:
        decode(frame)
    except BadRequest as e:
        return readable, str(e)
    return readable, "accepted"


values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.text()
    | st.integers(min_value=-(2**80), max_value=2**80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)

EDGES = [b"-9223372036854775809", b"18446744073709551616", b"123456789012345678901234567890",
         b'{"a":NaN}', b"[Infinity]", b"1e400", b'"\\ud800"', b'"\\udc00x"', b"\xef\xbb\xbf{}",
         b'{"a":"\xff"}', b"[" * 3000 + b"]" * 3000, b'{"a":1,"a":2}', b"[1,]", b"", b" ",
         b'"\xed\xa0\x80"', b"-0", b"1e-400", b'{"k":"v"} x']


class ReadTests(SynchronousTestCase):
    def test_edges_read_as_json_reads_them(self) -> None:
        for data in EDGES:
            want = outcome(json.loads, data)
            got = outcome(jsoncodec.loads, data)
            self.assertEqual(want[0], got[0], data[:40])
            if want[0] == "value":
                self.assertTrue(same(want[1], got[1]), data[:40])
            else:
                self.assertEqual(want[1:], got[1:], data[:40])

    @settings(max_examples=300, deadline=None)
    @given(values)
    def test_any_json_text_reads_the_same(self, value: Any) -> None:
        for data in (json.dumps(value).encode(), json.dumps(value, ensure_ascii=False)
                     .encode("utf-8", "surrogatepass")):
            want, got = outcome(json.loads, data), outcome(jsoncodec.loads, data)
            self.assertEqual(want[0], got[0], data[:80])
            self.assertTrue(same(want[1], got[1]) if want[0] == "value" else want == got)

    def test_a_frame_keeps_its_error_messages(self) -> None:
        for frame, said in ((b'{"a":NaN}', "JSON: malformed message: NaN is not valid JSON"),
                            (b"\xff{}", "JSON: malformed message: 'utf-8' codec can't decode"),
                            (b"[1]", "JSON: a message must be a JSON object"),
                            (b'{"a":"\\ud800"}', "unpaired surrogate escape")):
            with self.assertRaises(BadRequest) as e:
                decode(frame)
            self.assertIn(said, str(e.exception), frame)
        for depth in (600, 960, 1100):  # json's depth, not orjson's 1,024; never INTERNAL
            frame = (b'{"tipo":"ticket","note":"\\ud83d\\ude00","x":' + b"[" * depth
                     + b"]" * depth + b"}")
            for frames in (0, 60):  # as deep in the stack as the reactor's call of it
                readable, got = deep(frames, frame)  # json's limit moves with the stack:
                if not readable or got != "accepted":  # a refusal may come a few levels early
                    self.assertRegex(got, "nested too deeply|recursion", depth)
        self.assertEqual(decode(b'{"id":123456789012345678901234567890}')["id"],
                         123456789012345678901234567890)


class WriteTests(SynchronousTestCase):
    @settings(max_examples=300, deadline=None)
    @given(values)
    def test_written_reads_back_as_json_wrote_it(self, value: Any) -> None:
        old = outcome(lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False)
                      .encode(), value)
        new = outcome(jsoncodec.dumps_compact, value)
        self.assertEqual(old[0], new[0])
        if old[0] == "value":
            self.assertTrue(same(json.loads(old[1]), json.loads(new[1])))
            self.assertTrue(same(jsoncodec.loads(new[1]), json.loads(old[1])))
        else:
            self.assertEqual(old, new)

    def test_what_json_refuses_orjson_does_not_write(self) -> None:
        import datetime
        with self.assertRaises(TypeError):
            jsoncodec.dumps_compact({"at": datetime.date(2020, 1, 1)})

    def test_what_orjson_would_change_is_written_by_json(self) -> None:
        for value, text in ((math.inf, b"Infinity"), ([math.nan], b"[NaN]"), (2**70, b"%d" % 2**70),
                            ({1: "a"}, b'{"1":"a"}'), ({"a": None}, b'{"a":null}')):
            self.assertEqual(jsoncodec.dumps_compact(value), text)
        with self.assertRaises(ValueError):
            encode_document({"text": "\ud800"})  # a lone surrogate: UTF-8 cannot hold it
