"""The bridge between one printer's topics and the job manager: a Rig (fake printer, Clock,
inline threads) and a fake link that records what would go to the broker."""

from __future__ import annotations

import base64
import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from ticketd.jobs.model import JobKind, JobState
from ticketd.mqtt.bridge import PrinterBridge
from ticketd.printers.status import PrinterStatus
from tests.fakes import Rig, config


class FakeLink:
    def __init__(self) -> None:
        self.published: list[tuple[str, Any, int, bool]] = []
        self.subscribed: list[tuple[str, int]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                keep: bool = True) -> None:
        self.published.append((topic, json.loads(payload), qos, retain))

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self.subscribed.append((topic, qos))


def job(jobid: str, data: bytes = b"hi\n", **extra: Any) -> bytes:
    return json.dumps({"jobid": jobid, "data": base64.b64encode(data).decode(),
                       **extra}).encode()


class ManualRun:
    """A journal thread runner whose calls the test runs one at a time, so that several
    submits share one journal batch."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, tuple[Any, ...], Deferred]] = []

    def __call__(self, f: Any, *args: Any) -> Deferred:
        d: Deferred = Deferred()
        self.calls.append((f, args, d))
        return d

    def run_all(self) -> None:
        while self.calls:
            f, args, d = self.calls.pop(0)
            try:
                result = f(*args)
            except Exception as e:
                d.errback(e)
            else:
                d.callback(result)


BAD_DOC = (b'{"jobid": "bad", "document": {"version": "1.0", "commands": [{"type": "text", '
           b'"data": {"content": {"text": "\\ud800"}}}]}}')


class BridgeTests(TestCase):
    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp()))
        self.rig.start()
        self.m = self.rig.manager
        self.conn = self.rig.connections["p1"]
        # These tests wait through printer faults: the hold opt-in (mqtt_hold = 60).
        self.bridge = PrinterBridge(printer="p1", prefix="shop/p1", service=self.rig.service,
                                    clock=self.rig.clock, max_payload=4096, hold=60)
        self.link = self.bridge.link = FakeLink()
        self.m.subscribe(self.bridge.event)
        self.acks: list[str] = []

    def tearDown(self) -> Deferred:
        return self.rig.stop()

    def send(self, payload: bytes, tag: str = "", expiry: float | None = None) -> None:
        self.bridge.handle(payload, lambda: self.acks.append(tag), expiry)

    def printed(self, jobid: str | None = None) -> list[tuple[str, bool, bool]]:
        return [(m["status"], m["finished"], m["success"]) for t, m, q, r in self.link.published
                if t == "shop/p1/printed" and (jobid is None or m["jobid"] == jobid)]

    def test_prints_and_reports_progress(self) -> None:
        self.send(job("j1", b"\x1b@hello"), "j1")
        self.assertEqual(self.acks, ["j1"])
        self.assertEqual(self.conn.writes, [("j1", b"\x1b@hello")])
        self.assertEqual(self.printed("j1"), [("In progress", False, False),
                                              ("Printed", True, True)])
        self.assertTrue(all(q == 1 and not r for t, m, q, r in self.link.published))

    def test_ack_waits_for_the_journal(self) -> None:
        """PUBACK only once the job is on disk: hold the journal write, no ack yet."""
        held: list[Deferred] = []
        real = self.m.committer.submit

        def slow(op: Any) -> Deferred:
            d: Deferred = Deferred()
            held.append(d)
            d.addCallback(lambda _: real(op))
            return d
        self.m.committer.submit = slow  # type: ignore[method-assign]
        self.send(job("j1"), "j1")
        self.assertEqual(self.acks, [])
        self.m.committer.submit = real  # type: ignore[method-assign]
        held[0].callback(None)
        self.assertEqual(self.acks, ["j1"])

    def test_duplicate_is_not_printed_again(self) -> None:
        self.send(job("j1"))
        self.send(job("j1"))
        self.assertEqual(len(self.conn.writes), 1)
        self.assertEqual(self.printed("j1")[-1], ("Printed", True, True))
        self.assertEqual(len(self.acks), 2)

    def test_duplicate_of_a_waiting_job_reports_progress_then_result(self) -> None:
        self.conn.status = PrinterStatus(online=False, paper_out=True)
        self.rig.queues["p1"].poll()
        self.send(job("j1"))
        self.assertEqual(self.printed("j1"), [("Waiting: Out of paper", False, False)])
        self.send(job("j1"))
        self.assertEqual(self.printed("j1")[-1], ("Waiting: Out of paper", False, False))
        self.conn.status = PrinterStatus()
        self.rig.queues["p1"].poll()
        self.assertEqual(self.printed("j1")[-2:], [("In progress", False, False),
                                                   ("Printed", True, True)])
        self.assertEqual(len(self.conn.writes), 1)

    def test_duplicate_of_another_transports_job(self) -> None:
        self.m.submit(job_id="w1", printer="p1", source="ws", kind=JobKind.RAW,
                      payload=b"ws\n")
        self.assertEqual(self.printed(), [])  # not an MQTT job: nothing on P/printed
        self.send(job("w1"))
        self.assertEqual(self.printed("w1"), [("Printed", True, True)])

    def test_bad_payloads_get_a_finished_reply_and_an_ack(self) -> None:
        self.send(b"not json", "a")
        self.send(json.dumps({"jobid": "b1", "data": "%%%"}).encode(), "b")
        self.send(json.dumps({"data": "aGk="}).encode(), "c")
        self.send(job("big", b"x" * 5000), "d")
        self.assertEqual(self.acks, ["a", "b", "c", "d"])
        out = self.printed()
        self.assertEqual(len(out), 2)  # only b1 and big had a readable jobid
        self.assertTrue(out[0][0].startswith("Error decoding data: e=Error("), out)
        self.assertTrue(out[1][0].startswith("Aborted: JSON: payload of"), out)
        self.assertEqual(self.conn.writes, [])
        self.assertEqual(self.bridge.refused, 4)

    def test_a_lone_surrogate_does_not_poison_the_batch(self) -> None:
        """Refused before the journal: other jobs written in the same batch are kept."""
        run = ManualRun()
        self.m.committer._run = run  # type: ignore[attr-defined]
        self.send(job("good"), "good")
        self.send(BAD_DOC, "bad")
        self.send(job("good2"), "good2")
        run.run_all()
        self.assertEqual(sorted(self.acks), ["bad", "good", "good2"])
        status, finished, success = self.printed("bad")[0]
        self.assertTrue(status.startswith("Aborted: JSON: ") and "unpaired surrogate" in status,
                        status)
        self.assertEqual((finished, success), (True, False))
        journal = self.m.committer.journal
        self.assertIsNotNone(journal.get("good2"))
        self.assertIsNone(journal.get("bad"))
        self.assertEqual([w[0] for w in self.conn.writes], ["good", "good2"])

    def test_invalid_document_is_refused_with_the_reason(self) -> None:
        """Validated before the PUBACK: refused at once, acked, never recorded."""
        self.send(json.dumps({"jobid": "d1", "document": {"bogus": 1}}).encode(), "d1")
        status, finished, success = self.printed("d1")[-1]
        self.assertTrue(status.startswith("Aborted: VALIDATION: "), status)
        self.assertEqual((finished, success), (True, False))
        self.assertEqual(self.acks, ["d1"])
        self.assertIsNone(self.m.committer.journal.get("d1"))

    def test_queue_full_is_refused_and_acked(self) -> None:
        self.conn.status = PrinterStatus(online=False, paper_out=True)
        self.rig.queues["p1"].poll()
        for i in range(6):
            self.send(job(f"j{i}"), f"j{i}")
        self.assertEqual(len(self.acks), 6)
        self.assertEqual(self.printed("j5"), [("Aborted: Queue full, please retry in a few "
                                               "seconds", True, False)])

    def test_cancel(self) -> None:
        self.conn.status = PrinterStatus(online=False, cover_open=True)
        self.rig.queues["p1"].poll()
        self.send(job("j1"))
        self.send(json.dumps({"jobid": "j1", "cancel": True}).encode(), "c")
        self.assertEqual(self.acks[-1], "c")
        self.assertEqual(self.printed("j1")[-1],
                         ("Aborted: CANCELLED: cancelled by request", True, False))

    def test_message_expiry_sets_the_deadline(self) -> None:
        self.conn.status = PrinterStatus(online=False, paper_out=True)
        self.rig.queues["p1"].poll()
        self.send(job("j1"), expiry=3)
        self.send(job("j2", expires=self.rig.clock.seconds() + 100), expiry=1000)
        self.assertEqual(self.m._open["j1"].expires, self.rig.clock.seconds() + 3)
        self.assertEqual(self.m._open["j2"].expires, self.rig.clock.seconds() + 100)
        self.rig.clock.advance(5)
        self.assertEqual(self.printed("j1")[-1][0],
                         "Aborted: EXPIRED: the deadline passed before printing")

    def test_status_published_retained_on_change_and_connect(self) -> None:
        self.rig.queues["p1"].poll()
        self.bridge.connected(self.link)
        self.assertEqual(self.link.subscribed, [("shop/p1/print", 1)])
        self.conn.status = PrinterStatus(online=False, paper_out=True, paper_near_end=True)
        self.rig.queues["p1"].poll()
        self.rig.queues["p1"].poll()  # unchanged: not published again
        status = [(m, r) for t, m, q, r in self.link.published if t == "shop/p1/status"]
        self.assertEqual(status, [({"status": "Ready", "ok": True, "paper_near_end": False},
                                   True),
                                  ({"status": "Out of paper", "ok": False,
                                    "paper_near_end": True}, True)])

    def test_refused_while_stopping_is_not_acked(self) -> None:
        self.m.accepting = False
        self.send(job("j1"), "j1")
        self.assertEqual(self.acks, [])
        self.assertEqual(self.printed(), [])


PRINTERS = ('[printers.p1]\nconnection = "virtual"\nqueue_capacity = 3\n'
            '[printers.p2]\nconnection = "virtual"\nqueue_capacity = 3\n')


class CancelOtherPrinterTests(TestCase):
    """A cancel on printer A's topic acts on printer A's jobs only."""

    def setUp(self) -> None:
        self.rig = Rig(config(self.mktemp(), PRINTERS))
        self.rig.start()
        self.m = self.rig.manager
        self.links = {}
        for name in ("p1", "p2"):
            self.rig.connections[name].status = PrinterStatus(online=False, paper_out=True)
            self.rig.queues[name].poll()
            bridge = PrinterBridge(printer=name, prefix=f"shop/{name}",
                                   service=self.rig.service, clock=self.rig.clock, hold=60)
            self.links[name] = bridge.link = FakeLink()
            self.m.subscribe(bridge.event)
            setattr(self, name, bridge)
        self.acks: list[str] = []

    def tearDown(self) -> Deferred:
        return self.rig.stop()

    def send(self, bridge: PrinterBridge, payload: bytes, tag: str) -> None:
        bridge.handle(payload, lambda: self.acks.append(tag))

    def cancel(self, bridge: PrinterBridge, jobid: str) -> None:
        self.send(bridge, json.dumps({"jobid": jobid, "cancel": True}).encode(), "c-" + jobid)

    def printed(self, name: str, jobid: str) -> list[tuple[str, bool, bool]]:
        return [(m["status"], m["finished"], m["success"])
                for t, m, q, r in self.links[name].published
                if t == f"shop/{name}/printed" and m["jobid"] == jobid]

    def test_an_mqtt_job_of_another_printer(self) -> None:
        self.send(self.p2, job("j2"), "j2")
        self.cancel(self.p1, "j2")
        self.assertEqual(self.acks, ["j2", "c-j2"])
        self.assertEqual(self.printed("p1", "j2"),
                         [("Aborted: job j2 is not a job of this printer", True, False)])
        self.assertFalse(self.m._open["j2"].state.final)  # still waiting on p2
        self.assertEqual(self.printed("p2", "j2"), [("Waiting: Out of paper", False, False)])
        self.cancel(self.p2, "j2")  # on its own printer's topic: cancelled
        self.assertEqual(self.printed("p2", "j2")[-1],
                         ("Aborted: CANCELLED: cancelled by request", True, False))

    def test_a_websocket_job_is_answered_on_the_topic_asked(self) -> None:
        for name in ("p1", "p2"):
            self.m.submit(job_id=f"w{name}", printer=name, source="ws", kind=JobKind.RAW,
                          payload=b"ws\n")
        self.cancel(self.p1, "wp2")
        self.assertFalse(self.m._open["wp2"].state.final)
        self.assertEqual(self.printed("p1", "wp2"),
                         [("Aborted: job wp2 is not a job of this printer", True, False)])
        self.assertEqual(self.printed("p2", "wp2"), [])
        self.cancel(self.p1, "wp1")
        self.assertEqual(self.printed("p1", "wp1"),
                         [("Aborted: CANCELLED: cancelled by request", True, False)])
        self.assertEqual(self.links["p2"].published, [])

    def test_a_job_still_being_recorded(self) -> None:
        """Sent right behind its job: its printer is known once its record is written."""
        run = ManualRun()
        self.m.committer._run = run  # type: ignore[attr-defined]
        self.send(self.p2, job("j2"), "j2")
        self.cancel(self.p1, "j2")
        self.send(self.p1, job("j1"), "j1")
        self.cancel(self.p1, "j1")
        run.run_all()
        self.assertEqual(sorted(self.acks), ["c-j1", "c-j2", "j1", "j2"])
        self.assertFalse(self.m._open["j2"].state.final)
        self.assertEqual(self.printed("p1", "j2"),
                         [("Aborted: job j2 is not a job of this printer", True, False)])
        self.assertEqual(self.m._recent["j1"].state, JobState.CANCELLED)

    def test_unknown_job(self) -> None:
        self.cancel(self.p1, "nope")
        self.assertEqual(self.acks, ["c-nope"])
        self.assertEqual(self.links["p1"].published, [])
