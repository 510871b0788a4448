"""The admin token: made once into the state directory (0600) unless configured; needed
for ``subscribe``, a cancel of another connection's job, job pictures and (with
``metrics_token``) ``/metrics``; not for printing nor for cancelling one's own job."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from ticketd.config import ServerConfig
from ticketd.jobs.model import JobKind
from ticketd.metrics import Metrics
from ticketd.web.access import OwnJobs, admin_token, keep_admin_token, new_admin_token
from ticketd.web.site import build_site
from tests.http_support import SiteCase
from tests.ws_support import DaemonTestCase
from tests.test_ws_messages import DOC, PAPER_OUT, Base, Client

ADMIN = "adm-Xy7"
REFUSED = ("error", "Invalid or missing admin token")


class TokenFileTests(SynchronousTestCase):
    def test_a_new_token_never_reads_as_an_option(self) -> None:
        """One token_urlsafe in 64 starts with "-": the command line took it for an
        option (``--admin-token -tY84...``, exit 2)."""
        import secrets
        from unittest import mock

        drawn = iter(["-tY84abc", "-x", "ok-token"])
        with mock.patch.object(secrets, "token_urlsafe", lambda n: next(drawn)):
            self.assertEqual(new_admin_token(), "ok-token")
        self.assertTrue(all(not new_admin_token().startswith("-") for _ in range(500)))

    def test_made_once_0600_and_kept(self) -> None:
        state = Path(self.mktemp())
        state.mkdir()
        first = admin_token(ServerConfig(), state)
        path = state / "admin-token"
        self.assertFalse(path.exists())  # nothing is written before the daemon starts
        keep_admin_token(first, state)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertGreaterEqual(len(first), 40)
        self.assertEqual(admin_token(ServerConfig(), state), first)  # a restart keeps it
        self.assertEqual(admin_token(ServerConfig(admin_token="mine"), state), "mine")
        path.write_text("")
        again = admin_token(ServerConfig(), state)
        self.assertNotEqual(again, "")
        keep_admin_token(again, state)
        self.assertEqual(path.read_text().strip(), again)
        self.assertNotEqual(admin_token(ServerConfig(), None), admin_token(ServerConfig(), None))

    def test_own_jobs_bounded(self) -> None:
        own = OwnJobs(limit=2)
        for job_id in ("a", "b", "c"):
            own.add(job_id)
        self.assertEqual([j in own for j in "abc"], [False, True, True])


class SessionTests(Base):
    hub_options = {"admin_token": ADMIN}

    def setUp(self) -> None:
        super().setUp()
        self.rig.connections["p1"].status = PAPER_OUT  # jobs wait: they can be cancelled
        self.rig.queues["p1"].poll()

    def test_printing_needs_no_admin_token(self) -> None:
        self.assertEqual(self.c(self.raw("r1"))["tipo"], "ack")
        self.assertEqual(self.c({"tipo": "ticket", "id": "t1", "datos": DOC})["tipo"], "ack")
        self.assertEqual(self.c({"tipo": "job_status", "id": "r1"})["status"], "job")

    def test_subscribe_needs_it(self) -> None:
        with capturedLogs() as events:
            reply = self.c({"tipo": "subscribe", "id": "s"})
        self.assertEqual((reply["tipo"], reply["mensaje"]), REFUSED)
        [audit] = [e for e in events if e.get("audit")]
        self.assertEqual(audit["reason"], "auth_failed")
        self.assertNotIn(ADMIN, repr(events))
        self.assertEqual(self.hub.live.feeds, {})
        wrong = self.c({"tipo": "subscribe", "admin_token": "adm-Xy8"})
        self.assertEqual((wrong["tipo"], wrong["mensaje"]), REFUSED)
        self.assertEqual(self.c({"tipo": "subscribe", "admin_token": ADMIN})["status"],
                         "snapshot")

    def test_cancel_own_job_freely_another_ones_with_the_token(self) -> None:
        other = Client(self.hub)
        self.assertEqual(self.c(self.raw("mine"))["tipo"], "ack")
        self.assertEqual(other(self.raw("theirs"))["tipo"], "ack")
        refused = self.c({"tipo": "cancel", "id": "theirs"})
        self.assertEqual((refused["tipo"], refused["mensaje"]), REFUSED)
        mine = self.c({"tipo": "cancel", "id": "mine"})
        self.assertEqual((mine["tipo"], mine["state"]), ("result", "cancelled"))
        theirs = self.c({"tipo": "cancel", "id": "theirs", "admin_token": ADMIN})
        self.assertEqual((theirs["tipo"], theirs["state"]), ("result", "cancelled"))
        # a repeated id does not make another connection's job one's own
        self.assertEqual(other(self.raw("j9"))["tipo"], "ack")
        self.assertTrue(self.c(self.raw("j9"))["duplicate"])
        self.assertEqual(self.c({"tipo": "cancel", "id": "j9"})["mensaje"], REFUSED[1])
        self.assertEqual(self.c({"tipo": "cancel"})["mensaje"],
                         "Field 'id' is required for type 'cancel'")


class HttpTests(SiteCase):
    server = "metrics_token = true"

    def build(self) -> Any:
        self.metrics = Metrics(self.rig.service.printers)
        return build_site(self.rig.service, self.rig.config.server, clock=self.reactor,
                          started=0.0, reactor=self.reactor, metrics=self.metrics)

    def test_page_previews_metrics(self) -> Any:
        async def go() -> None:
            token = self.site.admin_token
            self.rig.manager.submit(job_id="j", printer="p1", source="test",
                                    kind=JobKind.RAW, payload=b"hello\n")
            await self.rig.manager.flushed()
            code, page = await self.get("/")
            self.assertEqual(code, 200)
            self.assertIn(f'<meta name="ticketd-admin-token" content="{token}">'.encode(),
                          page)
            for headers in ({}, {"X-Admin-Token": "nope"}, {"Authorization": f"Bearer {token}"}):
                code, body = await self.get("/jobs/j/preview.png", headers=headers)
                self.assertEqual(code, 401, headers)
                self.assertIn(b"Invalid or missing admin token", body)
            code, body = await self.get("/jobs/j/preview.png", headers={"X-Admin-Token": token})
            self.assertEqual(code, 200)
            self.assertIn(b"image/png", body)
            self.assertEqual((await self.get("/metrics"))[0], 401)
            for headers in ({"X-Admin-Token": token}, {"Authorization": f"Bearer {token}"}):
                code, body = await self.get("/metrics", headers=headers)
                self.assertEqual(code, 200, body[:300])
            self.assertEqual((await self.get("/preview", method="POST", body=b"{}"))[0], 400)
        return ensureDeferred(go())


class MetricsOpenByDefaultTests(SiteCase):
    def build(self) -> Any:
        return build_site(self.rig.service, self.rig.config.server, clock=Clock(),
                          started=0.0, reactor=self.reactor,
                          metrics=Metrics(self.rig.service.printers))

    def test_metrics_without_token(self) -> Any:
        async def go() -> None:
            self.assertEqual((await self.get("/metrics"))[0], 200)
        return ensureDeferred(go())


class DaemonTests(DaemonTestCase):
    printers = '[printers.virt]\nconnection = "virtual"\ndefault = true\n'

    async def test_made_at_first_start_and_needed_for_subscribe(self) -> None:
        path = self.daemon.state / "admin-token"
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        token = path.read_text().strip()
        c = self.client
        reply = await self.within(c.request({"tipo": "subscribe", "id": "s"},
                                            lambda m: m.get("id") == "s"))
        self.assertEqual((reply["tipo"], reply["mensaje"]), REFUSED)
        reply = await self.within(c.request({"tipo": "subscribe", "id": "s2",
                                             "admin_token": token},
                                            lambda m: m.get("id") == "s2"))
        self.assertEqual(reply["status"], "snapshot")
        self.assertEqual((await self.within(c.raw(b"x\n", job_id="d1")))["tipo"], "ack")
