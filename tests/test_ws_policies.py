"""The WebSocket message handler's policies against a real JobManager (tests.fakes.Rig):
the auth token, the rate limit, result ordering and job deadlines."""

from __future__ import annotations

from ticketd.jobs.model import JobState
from ticketd.printers.status import READY
from ticketd.web import replies
import tests.test_ws_messages as m


class AuthTests(m.Base):
    hub_options = {"auth_token": "s3cret"}

    def test_jobs_need_the_token(self) -> None:
        for token in (None, "wrong", 5, "s3cre", "s3cret "):
            message = self.raw("a1")
            if token is not None:
                message["auth_token"] = token
            self.assertEqual(self.c(message)["mensaje"], "Invalid or missing auth token")
        self.assertEqual(self.c(dict(self.raw("a1"), auth_token="s3cret"))["tipo"], "ack")
        self.assertEqual(self.c({"tipo": "job_status", "id": "a1"})["mensaje"],
                         "Invalid or missing auth token")
        self.assertEqual(self.c({"tipo": "cancel", "id": "a1"})["mensaje"],
                         "Invalid or missing auth token")

    def test_status_ping_printers_do_not(self) -> None:
        for tipo, reply in (("status", "status"), ("ping", "pong"), ("get_printers", "printers")):
            self.assertEqual(self.c({"tipo": tipo})["tipo"], reply)

    def test_authenticated_connection(self) -> None:
        c = m.Client(self.hub, authenticated=True)
        self.assertEqual(c(self.raw("a2"))["tipo"], "ack")


class RateLimitTests(m.Base):
    hub_options = {"rate_limit": 2.0}

    def test_bucket(self) -> None:
        replies_ = [self.c(self.raw(f"r{i}"))["tipo"] for i in range(3)]
        self.assertEqual(replies_, ["ack", "ack", "error"])
        self.assertEqual(self.c.out[-1]["mensaje"], replies.RATE_LIMITED)
        self.assertEqual(self.c({"tipo": "status"})["tipo"], "status")  # not limited
        self.rig.clock.advance(0.5)
        self.assertEqual(self.c(self.raw("r3"))["tipo"], "ack")
        other = m.Client(self.hub)  # per connection
        self.assertEqual(other(self.raw("r4"))["tipo"], "ack")
        self.assertEqual(len(self.rig.connections["p1"].writes), 4)


class OrderingTests(m.Base):
    def test_result_never_before_ack(self) -> None:
        """With an idle printer the job ends inside submit: the result waits for the ack."""
        self.c(self.raw("fast"))
        self.assertEqual(self.c.tipos(), ["info", "ack", "result"])
        job = self.rig.manager._recent["fast"]
        self.assertEqual(job.state, JobState.PRINTED)


class DeadlineTests(m.Base):
    """Extension: ``ttl`` / ``expires`` on a job message; never printed after its deadline."""

    def test_ttl_expires_a_held_job(self) -> None:
        conn = self.rig.connections["p1"]
        conn.status = m.PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c({**self.raw("t1"), "ttl": 3})
        self.assertEqual(self.c.tipos()[-2:], ["ack", "info"])  # acked, then held
        self.rig.clock.advance(4)
        self.assertEqual(self.c.out[-1], {
            "tipo": "result", "id": "t1", "status": "error",
            "mensaje": "EXPIRED: the deadline passed before printing", "state": "expired"})
        conn.status = READY
        self.rig.clock.advance(5)
        self.assertEqual(conn.writes, [])

    def test_expires_and_ttl_earlier_wins(self) -> None:
        now = self.rig.clock.seconds()
        self.rig.connections["p1"].status = m.PAPER_OUT
        self.rig.queues["p1"].poll()
        self.c({**self.raw("t2"), "ttl": 100, "expires": now + 2})
        self.assertEqual(self.rig.manager._open["t2"].expires, now + 2)
        self.c({"tipo": "ticket", "id": "t3", "datos": m.DOC, "ttl": 50})
        self.assertEqual(self.rig.manager._open["t3"].expires, now + 50)

    def test_bad_deadlines(self) -> None:
        for extra, msg in (({"ttl": "soon"}, "Field 'ttl' must be a number of seconds, got soon"),
                           ({"ttl": -1}, "Field 'ttl' must be between 0 and 604800 seconds, "
                                         "got -1"),
                           ({"expires": True}, "Field 'expires' must be a number of seconds, "
                                               "got true")):
            reply = self.c({**self.raw("bad"), **extra})
            self.assertEqual((reply["tipo"], reply["mensaje"]), ("error", msg))
        self.assertNotIn("bad", self.rig.manager._open)
