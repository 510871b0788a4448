"""Tokens never reach a log: the access log redacts ``token`` query values, and a daemon
run that uses every token (right and wrong, in URLs, headers and messages) leaves none of
them in its log."""

from __future__ import annotations

import urllib.error
import urllib.request

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase

from ticketd.client import ClientError
from ticketd.web.access_log import redact
from tests.ws_support import DaemonTestCase

AUTH = "tokAUTHsecret1"
ADMIN = "tokADMINsecret2"
WRONG = "tokWRONGsecret3"


class RedactTests(SynchronousTestCase):
    def test_token_values_replaced(self) -> None:
        line = ('"127.0.0.1" - - [x] "GET /jobs/a/preview.png?size=2&token=abc%20d&'
                'auth_token=e;admin_token=f&%74oken=g HTTP/1.1" 200 5 '
                '"http://127.0.0.1:8766/?token=h" "curl"')
        self.assertEqual(redact(line), (
            '"127.0.0.1" - - [x] "GET /jobs/a/preview.png?size=2&token=REDACTED&'
            'auth_token=REDACTED;admin_token=REDACTED&%74oken=REDACTED HTTP/1.1" 200 5 '
            '"http://127.0.0.1:8766/?token=REDACTED" "curl"'))
        self.assertEqual(redact('"GET /jobs?x=1 HTTP/1.1"'), '"GET /jobs?x=1 HTTP/1.1"')


class DaemonLogTests(DaemonTestCase):
    printers = '[printers.virt]\nconnection = "virtual"\ndefault = true\n'
    server = f'auth_token = "{AUTH}"\nadmin_token = "{ADMIN}"\nmetrics_token = true'
    connect_client = False

    def http(self, path: str, **headers: str) -> int:
        request = urllib.request.Request(self.daemon.base_url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    async def test_no_token_in_the_log(self) -> None:
        c = await self.connect(query_token=AUTH)
        self.assertEqual((await self.within(c.raw(b"x\n", job_id="j1")))["tipo"], "ack")
        await self.within(c.result("j1"))
        reply = await self.within(c.request({"tipo": "subscribe", "id": "s",
                                             "admin_token": WRONG},
                                            lambda m: m.get("id") == "s"))
        self.assertEqual(reply["mensaje"], "Invalid or missing admin token")
        with self.assertRaises(ClientError):
            await self.connect(query_token=WRONG)
        bad = await self.connect(auth_token=WRONG)
        self.assertEqual((await self.within(bad.raw(b"n\n", job_id="j2")))["tipo"], "error")
        codes = await deferToThread(lambda: [
            self.http(f"/jobs/j1/preview.png?token={AUTH}", **{"X-Admin-Token": ADMIN}),
            self.http(f"/jobs/j1/preview.png?token={WRONG}&admin_token={ADMIN}",
                      Referer=f"http://127.0.0.1/?token={AUTH}"),
            self.http("/jobs/j1/preview.png", Authorization=f"Bearer {AUTH}",
                      **{"X-Admin-Token": WRONG}),
            self.http(f"/metrics?token={ADMIN}", Authorization=f"Bearer {WRONG}"),
            self.http("/metrics", Authorization=f"Bearer {ADMIN}"),
            self.http(f"/health?admin_token={ADMIN}", Host="evil.example")])
        self.assertEqual(codes, [200, 401, 401, 401, 200, 421])
        await c.close()
        await bad.close()
        await self.daemon.stop_async(self.reactor)
        log = self.daemon.log()
        self.assertIn("preview.png?token=REDACTED", log)  # the access log is there
        for secret in (AUTH, ADMIN, WRONG):
            self.assertNotIn(secret, log)


