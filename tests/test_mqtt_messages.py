"""The P/print parser and the payloads ticketd publishes (sans-IO)."""

from __future__ import annotations

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from ticketd.jobs.model import Job, JobKind, JobState
from ticketd.mqtt import messages
from ticketd.mqtt.backoff import Backoff
from ticketd.mqtt.messages import BadRequest, CancelRequest, PrintRequest, parse


def j(obj: object) -> bytes:
    return json.dumps(obj).encode()


class ParseTests(TestCase):
    def test_raw_job(self) -> None:
        r = parse(j({"jobid": "a1", "data": base64.b64encode(b"\x1b@hi").decode()}))
        self.assertEqual(r, PrintRequest("a1", data=b"\x1b@hi"))

    def test_document_and_expires(self) -> None:
        r = parse(j({"jobid": "a1", "document": {"version": "1.0"}, "expires": 1700000000}))
        self.assertEqual(r, PrintRequest("a1", document={"version": "1.0"},
                                         expires=1700000000.0))

    def test_cancel(self) -> None:
        self.assertEqual(parse(j({"jobid": "a1", "cancel": True})), CancelRequest("a1"))

    def test_not_json(self) -> None:
        r = parse(b"\xff{nope")
        assert isinstance(r, BadRequest)
        self.assertIsNone(r.jobid)
        self.assertTrue(r.reason.startswith("JSON: not valid JSON"), r.reason)

    def test_not_an_object(self) -> None:
        r = parse(b"[1, 2]")
        self.assertEqual(r, BadRequest(None, "JSON: expected an object, got an array"))

    def test_missing_and_bad_jobid(self) -> None:
        self.assertEqual(parse(j({"data": "aGk="})),
                         BadRequest(None, "JSON: field 'jobid' is required"))
        r = parse(j({"jobid": True, "data": "aGk="}))
        assert isinstance(r, BadRequest)
        self.assertIn("must be a non-empty string, got a boolean", r.reason)
        self.assertIsInstance(parse(j({"jobid": "x" * 201, "data": "aGk="})), BadRequest)

    def test_bad_base64(self) -> None:
        r = parse(j({"jobid": "a1", "data": "not base64!"}))
        assert isinstance(r, BadRequest)
        self.assertEqual(r.jobid, "a1")
        self.assertTrue(r.reason.startswith("RAW: invalid base64"), r.reason)

    def test_wrong_types(self) -> None:
        for obj, start in [({"jobid": "a", "data": 5}, "RAW: field 'data' must be"),
                           ({"jobid": "a", "document": "x"}, "JSON: field 'document' must"),
                           ({"jobid": "a", "data": "aGk=", "expires": "soon"},
                            "JSON: field 'expires'"),
                           ({"jobid": "a", "cancel": "yes"}, "JSON: field 'cancel'"),
                           ({"jobid": "a"}, "JSON: field 'data'"),
                           ({"jobid": "a", "data": "aGk=", "document": {}}, "JSON: give")]:
            r = parse(j(obj))
            assert isinstance(r, BadRequest), obj
            self.assertEqual(r.jobid, "a")
            self.assertTrue(r.reason.startswith(start), (obj, r.reason))

    def test_oversize_reads_jobid_cheaply(self) -> None:
        big = j({"jobid": "big1", "data": "A" * 5000})
        r = parse(big, max_payload=1024)
        assert isinstance(r, BadRequest)
        self.assertEqual(r.jobid, "big1")
        self.assertIn("exceeds the limit of 1024 bytes", r.reason)
        self.assertEqual(parse(b"x" * 2000, max_payload=1024).jobid, None)  # type: ignore

    def test_lone_surrogates_are_refused(self) -> None:
        """They would fail only when the journal writes the job, taking the other jobs of
        its batch along: refused here, like the WebSocket API does."""
        doc = (b'{"jobid": "bad", "document": {"version": "1.0", "commands": [{"type": '
               b'"text", "data": {"content": {"text": "%s"}}}]}}')
        for payload in (doc % b"\\ud800",                      # an escape
                        doc % b"x\\uDFFFy",
                        doc % b"\xed\xa0\x80",                   # UTF-8 bytes of U+D800
                        '{"jobid": "bad", "data": "aGk=", "x": "\ud800"}'.encode(
                            "utf-16-le", "surrogatepass")):  # json.loads takes UTF-16 too
            r = parse(payload)
            assert isinstance(r, BadRequest), payload
            self.assertEqual(r.jobid, "bad")
            self.assertTrue(r.reason.startswith("JSON: ") and "unpaired surrogate" in r.reason,
                            r.reason)
        r = parse(b'{"jobid": "a\\ud800", "cancel": true}')
        assert isinstance(r, BadRequest)
        self.assertIsNone(r.jobid)  # not echoed
        self.assertIn("unpaired surrogates", r.reason)
        ok = parse(doc % b"\\ud83d\\ude00 \\u00e9")  # a pair is fine
        self.assertEqual(ok.document["commands"][0]["data"]["content"]["text"],  # type: ignore
                         "\U0001F600 \u00e9")

    def test_jobid_must_be_printable(self) -> None:
        for jobid in ("a\nb", "\x00", "   ", "tab\there", "\u202e"):
            r = parse(j({"jobid": jobid, "data": "aGk="}))
            assert isinstance(r, BadRequest), jobid
            self.assertIsNone(r.jobid)
            self.assertTrue(r.reason.startswith("JSON: field 'jobid' must be printable"),
                            r.reason)
        self.assertEqual(parse(j({"jobid": "x" * 200, "data": "aGk="})).jobid,  # type: ignore
                         "x" * 200)
        self.assertEqual(parse(j({"jobid": "Añejo #7", "data": "aGk="})),
                         PrintRequest("Añejo #7", data=b"hi"))
        big = b'{"jobid": "a\x01b", "data": "' + b"A" * 5000 + b'"}'
        self.assertIsNone(parse(big, max_payload=1024).jobid)  # type: ignore

    def test_nan_and_infinity_are_refused(self) -> None:
        r = parse(b'{"jobid": "a", "data": "aGk=", "expires": NaN}')
        assert isinstance(r, BadRequest)
        self.assertIn("NaN is not valid JSON", r.reason)
        self.assertIsInstance(parse(b'{"jobid": "a", "document": {"n": -Infinity}}'),
                              BadRequest)

    @settings(max_examples=300, deadline=None)
    @given(st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010) |
                   st.sampled_from("a\\u\"d8DF0"), max_size=12))
    def test_what_is_accepted_can_be_stored(self, text: str) -> None:
        payload = ('{"jobid": "j", "document": {"t": "%s"}}' % text).encode(
            "utf-8", "surrogatepass")
        r = parse(payload)
        if not isinstance(r, BadRequest):
            json.dumps(r.document, ensure_ascii=False).encode("utf-8")  # never raises

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
    def test_never_raises(self, payload: bytes) -> None:
        self.assertIsInstance(parse(payload), (PrintRequest, CancelRequest, BadRequest))

    @settings(max_examples=200, deadline=None)
    @given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(
                            st.sampled_from(["jobid", "data", "document", "cancel",
                                             "expires"]), c, max_size=5), max_leaves=10))
    def test_never_raises_on_any_json(self, obj: object) -> None:
        self.assertIsInstance(parse(j(obj)), (PrintRequest, CancelRequest, BadRequest))


class PayloadTests(TestCase):
    def job(self, state: JobState, reason: str | None = None) -> Job:
        return Job(id="a1", printer="p", source="mqtt", kind=JobKind.RAW, payload=b"",
                   created=0, state=state, reason=reason)

    def test_printed_texts(self) -> None:
        def d(b: bytes | None) -> object:
            return json.loads(b) if b else None
        self.assertEqual(d(messages.for_job(self.job(JobState.PRINTING))),
                         {"jobid": "a1", "status": "In progress", "finished": False,
                          "success": False})
        self.assertEqual(d(messages.for_job(self.job(JobState.HELD), "Waiting: Out of paper")),
                         {"jobid": "a1", "status": "Waiting: Out of paper", "finished": False,
                          "success": False})
        self.assertEqual(d(messages.for_job(self.job(JobState.PRINTED))),
                         {"jobid": "a1", "status": "Printed", "finished": True,
                          "success": True})
        self.assertEqual(d(messages.for_job(self.job(JobState.FAILED, "PRINTER: gone"))),
                         {"jobid": "a1", "status": "Aborted: PRINTER: gone", "finished": True,
                          "success": False})
        self.assertIsNone(messages.for_job(self.job(JobState.QUEUED)))

    def test_status(self) -> None:
        self.assertEqual(json.loads(messages.status({"paper_near_end": True, "ok": True,
                                                     "status": "Ready"})),
                         {"status": "Ready", "ok": True, "paper_near_end": True})
        self.assertEqual(json.loads(messages.offline()), {"status": "Offline", "ok": False})


class BackoffTests(TestCase):
    def test_grows_with_jitter_and_caps(self) -> None:
        b = Backoff(initial=1, maximum=8, random=lambda: 1.0)
        self.assertEqual([b.next() for _ in range(6)], [1, 2, 4, 8, 8, 8])
        b.reset()
        b.random = lambda: 0.0
        self.assertEqual(b.next(), 0.5)
