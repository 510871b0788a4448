"""The dashboard's WebSocket extensions, sans-IO (``ticketd.web.live`` through the Session):
``subscribe`` (snapshot, then job and printer events) and ``validate``."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred

from ticketd.web import live
from tests.test_ws_messages import DOC, PAPER_OUT, Base, Client

BAD = {"version": "1.0", "profile": {"model": "p1"},
       "commands": [{"type": "text", "data": {"content": {"text": "x",
                                                          "content_style": {"size": "9x1"}}}}]}


def events(client: Client, kind: str | None = None) -> list[dict[str, Any]]:
    return [m for m in client.out if m["tipo"] == "info" and m["status"] == "event"
            and kind in (None, m["event"])]


class SubscribeTests(Base):
    def test_snapshot_lists_printers_and_recent_jobs(self) -> None:
        self.c(self.raw("old-1"))
        self.c(self.raw("old-2", printer="p2"))
        watcher = Client(self.hub)
        snap = watcher({"tipo": "subscribe", "id": "s1"})
        self.assertEqual((snap["tipo"], snap["status"], snap["id"]), ("info", "snapshot", "s1"))
        self.assertEqual([p["name"] for p in snap["printers"]], ["p1", "p2"])
        p1 = snap["printers"][0]
        self.assertEqual({k: p1[k] for k in ("connection", "queue", "capacity", "held",
                                              "printing")},
                         {"connection": "virtual", "queue": 0, "capacity": 3, "held": 0,
                          "printing": None})
        self.assertIn("status", p1)
        jobs = {j["id"]: j for j in snap["jobs"]}
        self.assertEqual(set(jobs), {"old-1", "old-2"})
        self.assertEqual((jobs["old-2"]["printer"], jobs["old-2"]["state"],
                          jobs["old-2"]["source"]), ("p2", "printed", "ws"))

    def test_job_events_follow_a_job_to_printed(self) -> None:
        watcher = Client(self.hub)
        watcher({"tipo": "subscribe"})
        self.c({"tipo": "ticket", "id": "t1", "datos": DOC})
        got = events(watcher, "job")
        self.assertEqual([(e["job"]["id"], e["old"], e["job"]["state"]) for e in got][0],
                         ("t1", None, "queued"))
        self.assertEqual(got[-1]["job"]["state"], "printed")
        self.assertEqual(got[-1]["job"]["printer"], "p1")
        self.assertIn("In progress", [e.get("progress") for e in got])
        self.assertNotIn("event", self.c.tipos())  # only subscribers get events

    def test_printer_events_and_queue_figures(self) -> None:
        watcher = Client(self.hub)
        watcher({"tipo": "subscribe"})
        conn = self.rig.connections["p1"]
        conn.status = PAPER_OUT
        self.rig.queues["p1"].poll()
        printer = events(watcher, "printer")[-1]
        self.assertEqual((printer["printer"], printer["state"]["status"],
                          printer["state"]["ok"]), ("p1", "Out of paper", False))
        self.c(self.raw("h0"))  # taken by the worker, waiting for paper
        self.c(self.raw("h1"))
        self.rig.clock.advance(0)  # queue figures follow on the next reactor turn
        last = events(watcher, "printer")[-1]["state"]
        self.assertEqual((last["queue"], last["held"]), (2, 2))  # h0 in the worker's hand
        held = events(watcher, "hold")  # one per change of the printer's hold
        self.assertEqual([(e["printer"], e["held"], e["progress"], e["jobs"], e["count"])
                          for e in held], [("p1", True, "Waiting: Out of paper", ["h0"], 1),
                                           ("p1", True, "Waiting: Out of paper", ["h1"], 1)])
        self.assertFalse([e for e in events(watcher, "job") if e["job"]["state"] == "held"])
        before = len(events(watcher, "printer"))
        self.rig.clock.advance(0)
        self.assertEqual(len(events(watcher, "printer")), before)  # unchanged: not re-sent

    def test_events_during_snapshot_wait_behind_it(self) -> None:
        gate: Deferred[None] = Deferred()
        recent = self.rig.manager.recent

        def slow(printer: Any = None, limit: int = 50) -> Deferred[Any]:
            d = recent(printer, limit)
            return gate.addCallback(lambda _: d)

        self.rig.manager.recent = slow  # type: ignore[method-assign]
        watcher = Client(self.hub)
        watcher({"tipo": "subscribe"})
        self.c(self.raw("during"))
        self.assertEqual(watcher.tipos(), ["info"])
        gate.callback(None)
        tipos = watcher.tipos()
        self.assertEqual(tipos[1], "snapshot")
        self.assertEqual(set(tipos[2:]), {"event"})
        self.assertEqual(events(watcher, "job")[-1]["job"]["state"], "printed")

    def test_overflow_restarts_the_feed_with_a_fresh_snapshot(self) -> None:
        """More events than MAX_PENDING behind a slow snapshot: the backlog is dropped and
        the stale snapshot replaced by a fresh one; no gap, no second snapshot."""
        self.patch(live, "MAX_PENDING", 4)
        gates: list[Deferred[None]] = []
        recent = self.rig.manager.recent

        def slow(printer: Any = None, limit: int = 50) -> Deferred[Any]:
            gate: Deferred[None] = Deferred()
            gates.append(gate)
            return gate.addCallback(lambda _: recent(printer, limit))

        self.rig.manager.recent = slow  # type: ignore[method-assign]
        watcher = Client(self.hub)
        watcher({"tipo": "subscribe", "id": "s1"})
        self.c(self.raw("a1"))
        self.c(self.raw("a2"))  # 6 job events: overflow
        first = len(gates)
        for gate in gates[:first]:
            gate.callback(None)
        self.assertEqual(watcher.tipos(), ["info"])  # the stale snapshot is not sent
        self.assertEqual(len(gates), 2 * first)  # a fresh one is being read
        self.c(self.raw("a3"))  # waits behind the fresh snapshot
        for gate in gates[first:]:
            gate.callback(None)
        tipos = watcher.tipos()
        self.assertEqual(tipos[:2], ["info", "snapshot"])
        self.assertEqual(set(tipos[2:]), {"event"})
        snap = watcher.out[1]
        self.assertEqual(snap["id"], "s1")
        states = {j["id"]: j["state"] for j in snap["jobs"]}
        self.assertEqual((states["a1"], states["a2"]), ("printed", "printed"))
        self.assertEqual({e["job"]["id"] for e in events(watcher, "job")}, {"a3"})
        self.assertEqual(events(watcher, "job")[-1]["job"]["state"], "printed")

    def test_closed_connection_gets_nothing(self) -> None:
        watcher = Client(self.hub)
        watcher({"tipo": "subscribe"})
        watcher.session.close()
        n = len(watcher.out)
        self.c(self.raw("after"))
        self.rig.clock.advance(0)
        self.assertEqual(len(watcher.out), n)
        self.assertEqual(self.hub.live.feeds, {})

    def test_a_broken_feed_does_not_stop_results(self) -> None:
        watcher = Client(self.hub)
        watcher({"tipo": "subscribe"})

        def boom(message: Any) -> None:
            raise RuntimeError("socket gone wrong")

        watcher.session._send = boom  # type: ignore[method-assign]
        self.c({"tipo": "ticket", "id": "t2", "datos": DOC})
        self.assertEqual(self.c.out[-1]["tipo"], "result")
        self.flushLoggedErrors(RuntimeError)


class SubscribeAuthTests(Base):
    hub_options = {"auth_token": "s3cret"}

    def test_subscribe_needs_the_token(self) -> None:
        reply = self.c({"tipo": "subscribe"})
        self.assertEqual((reply["tipo"], reply["mensaje"]),
                         ("error", "Invalid or missing auth token"))
        self.assertEqual(self.hub.live.feeds, {})
        self.assertEqual(self.c({"tipo": "subscribe", "auth_token": "s3cret"})["status"],
                         "snapshot")

    def test_validate_does_not(self) -> None:
        self.assertEqual(self.c({"tipo": "validate", "datos": DOC})["status"], "validation")


class ValidateTests(Base):
    def test_valid_and_invalid(self) -> None:
        self.assertEqual(self.c({"tipo": "validate", "id": "v-1", "datos": DOC}),
                         {"tipo": "info", "id": "v-1", "status": "validation", "valid": True,
                          "errors": [], "mensaje": "valid"})
        reply = self.c({"tipo": "validate", "id": "v-2", "datos": BAD})
        self.assertEqual((reply["id"], reply["valid"]), ("v-2", False))
        self.assertEqual(reply["errors"], ["VALIDATION: commands[0].data.content."
                                           "content_style.size: '9x1' is not WxH with 1-8"])
        self.assertEqual(self.rig.connections["p1"].writes, [])  # nothing printed

    def test_not_a_document(self) -> None:
        reply = self.c({"tipo": "validate", "id": "v-3", "datos": [1, 2]})
        self.assertFalse(reply["valid"])
        self.assertTrue(reply["errors"][0].startswith("VALIDATION: document:"), reply)
        reply = self.c({"tipo": "validate", "id": "v-4"})
        self.assertEqual((reply["tipo"], reply["id"], reply["mensaje"]),
                         ("error", "v-4", "Field 'datos' is required for type 'validate'"))

    def test_runs_through_the_print_service_with_a_bound(self) -> None:
        pending: list[Deferred[Any]] = []
        validate = self.rig.service.validate

        def later(document: Any) -> Deferred[Any]:
            d: Deferred[Any] = Deferred()
            pending.append(d)
            return d.addCallback(lambda _: validate(document))

        self.rig.service.validate = later  # type: ignore[method-assign]
        for i in range(live.MAX_VALIDATING):
            self.assertEqual(self.c({"tipo": "validate", "id": f"q{i}", "datos": DOC}), {})
        refused = self.c({"tipo": "validate", "id": "over", "datos": DOC})
        self.assertEqual((refused["tipo"], refused["id"]), ("error", "over"))
        pending[0].callback(None)
        self.assertEqual(self.c.out[-1]["id"], "q0")
        self.assertEqual(self.c({"tipo": "validate", "id": "again", "datos": DOC}), {})
        self.assertEqual(len(pending), live.MAX_VALIDATING + 1)
