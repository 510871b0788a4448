"""A job the journal cannot record is not PUBACKed: the daemon in this process on a real
broker, the journal refusing its first write as SQLite does on a full disk. The broker
sends the job again once the daemon reconnects, and it prints once."""

from __future__ import annotations

import sqlite3
from typing import Any

from twisted.internet import reactor, threads

from ticketd.emulator.tcp import listen
from ticketd.jobs.journal import Insert
from tests.broker import Watcher, quicktill_exchange
from tests.mqtt_inprocess import InProcessCase

PREFIX = "shop/till"


class NotRecordedTests(InProcessCase):
    async def test_withheld_then_redelivered_and_printed_once(self) -> None:
        b = self.broker()
        emu, port = listen(reactor)
        self.addCleanup(port.stopListening)
        jobs = self.start_network(b, "till", PREFIX, port.getHost().port,
                                  "status_interval = 0.2\n")
        await self.until(lambda: "connected to" in self.log_text(), 10, "mqtt connected")
        # The daemon's status comes after its subscription on the same connection: once
        # the broker passes it on, a job published now reaches the daemon.
        watcher = await threads.deferToThread(Watcher, b, [f"{PREFIX}/status"])
        self.addCleanup(watcher.close)
        await self.until(lambda: watcher.of(f"{PREFIX}/status"), 10, "status published")
        journal = jobs.committer.journal
        real = journal.write
        refused: list[int] = []

        def full_disk(changes: Any) -> Any:
            changes = list(changes)
            if not refused and any(isinstance(c, Insert) for c in changes):
                refused.append(1)
                raise sqlite3.OperationalError("database or disk is full")
            return real(changes)

        journal.write = full_disk
        heard = await threads.deferToThread(quicktill_exchange, b, PREFIX, b"\x1b@JOB<n-1>\n",
                                            "n-1", 25.0, None, 1)
        self.assertEqual(refused, [1])
        self.assertEqual([m for _, _, m in heard][-1],
                         {"jobid": "n-1", "status": "Printed", "finished": True,
                          "success": True})
        self.assertGreater(heard[-1][0], 4.0)  # after the reconnect, not at once
        await self.sleep(0.5)
        self.assertEqual(emu.received.count(b"JOB<n-1>"), 1)
        log = self.log_text()
        self.assertIn("job n-1 not recorded, not acked (the broker sends it again): "
                      "EXECUTION: the job could not be recorded on disk", log)
        self.assertIn("database or disk is full", log)
        self.flushLoggedErrors(sqlite3.OperationalError)
