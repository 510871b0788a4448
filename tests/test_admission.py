"""Documents are read and validated once, before they are acknowledged (jobs/admission.py):
on the reactor for a receipt, in a thread for a long document."""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred, succeed
from twisted.trial.unittest import SynchronousTestCase

from ticketd.jobs.admission import ON_REACTOR, Admitted, InvalidDocument, admit
from ticketd.stages import Stages


def doc(n: int, text: Any = "line") -> dict[str, Any]:
    return {"version": "1.0", "profile": {"model": "m"},
            "commands": [{"type": "text", "data": {"content": {"text": text}}}] * n}


class AdmissionTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.threaded: list[str] = []
        self.stages = Stages()

    def run_in_thread(self, f: Callable[..., Any], *args: Any) -> Deferred:
        self.threaded.append(f.__name__)
        return succeed(f(*args))

    def admit(self, document: Any, strict: bool = False) -> Deferred[Admitted]:
        return admit(document, strict=strict, stages=self.stages, run=self.run_in_thread)

    def test_a_receipt_is_validated_on_the_reactor(self) -> None:
        admitted = self.successResultOf(self.admit(doc(ON_REACTOR)))
        self.assertEqual(self.threaded, [])
        self.assertEqual(len(admitted.document["commands"]), ON_REACTOR)
        self.assertEqual(self.stages.totals()["validate"].calls, 1)

    def test_a_long_document_is_validated_in_a_thread(self) -> None:
        self.successResultOf(self.admit(doc(ON_REACTOR + 1)))
        self.assertEqual(self.threaded, ["_admit"])

    def test_intake_reads_the_dialect_and_keeps_its_warnings(self) -> None:
        old = doc(1)
        old["commands"][0]["data"]["content"] = "plain"  # an old page's plain string
        admitted = self.successResultOf(self.admit(old))
        self.assertEqual(admitted.document["commands"][0]["data"]["content"],
                         {"text": "plain"})
        self.assertEqual(admitted.warnings, ("commands[0].data.content: a plain string, "
                                             "read as content.text",))
        failure = self.failureResultOf(self.admit(old, strict=True), InvalidDocument)
        self.assertTrue(str(failure.value).startswith("VALIDATION: commands[0].data.content"))

    def test_errors_name_the_field_and_the_value(self) -> None:
        bad = doc(1)
        bad["commands"][0]["data"]["content"]["content_style"] = {"size": "9x1"}
        failure = self.failureResultOf(self.admit(bad), InvalidDocument)
        self.assertIn("commands[0].data.content.content_style.size: '9x1'", str(failure.value))
        self.assertIsNone(failure.value.audit)  # not an audit event: a client's mistake

    def test_not_a_document_at_all(self) -> None:
        self.failureResultOf(self.admit(["not", "a", "document"]), InvalidDocument)
