"""Fault injection: the real daemon process, a real WebSocket client, loopback
printer emulators; lost and duplicated jobs counted from the emulators' byte logs.

(a) kill -9 at random points while jobs stream in, 20 rounds; (b) paper out mid-stream;
(c) the printer drops the connection mid-job; (d) the same id again after a restart.
"""

from __future__ import annotations

import random
import re
import time
import zlib
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.trial.unittest import TestCase

from ticketd.client import TicketClient, connect
from ticketd.emulator.tcp import listen
from tests.daemon import DaemonProcess

MARK = re.compile(rb"JOB<([^>]+)>")


def payload(job_id: str, size: int = 64) -> bytes:
    return b"\x1b@" + f"JOB<{job_id}>\n".encode() + b"." * size + b"\n\x1dV\x00"


class FaultCase(TestCase):
    timeout = 240

    def setUp(self) -> None:
        self.emulators: dict[str, Any] = {}
        self.ports: list[Any] = []
        self.daemon = DaemonProcess(self.mktemp())
        self.addCleanup(self._teardown)

    async def _teardown(self) -> None:
        await self.daemon.stop_async(reactor)
        for port in self.ports:
            await port.stopListening()
        await task.deferLater(reactor, 0.05, lambda: None)  # let closed sockets settle

    def config(self, printers: tuple[str, ...] = ("p1", "p2"), extra: str = "") -> str:
        text = ""
        for name in printers:
            if name not in self.emulators:
                emu, port = listen(reactor)
                self.ports.append(port)
                self.emulators[name] = emu
            port_no = next(p.getHost().port for p, n in zip(self.ports, self.emulators)
                           if n == name)
            text += (f'[printers.{name}]\nconnection = "network"\nhost = "127.0.0.1"\n'
                     f"port = {port_no}\nstatus_interval = 0.5\nstatus_timeout = 1.0\n"
                     f"queue_capacity = 1000\n{extra}")
        return text

    async def start(self, text: str) -> TicketClient:
        await self.daemon.start_async(reactor, text)
        return await connect(reactor, self.daemon.ws_url)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for emu in self.emulators.values():
            for m in MARK.finditer(emu.received):
                key = m.group(1).decode()
                found[key] = found.get(key, 0) + 1
        return found

    async def final_states(self, client: TicketClient, ids: list[str],
                           timeout: float = 60) -> dict[str, dict[str, Any]]:
        """Polls job_status until every job has ended."""
        deadline = time.monotonic() + timeout
        states: dict[str, dict[str, Any]] = {}
        pending = list(ids)
        while pending:
            if time.monotonic() > deadline:
                self.fail(f"{len(pending)} jobs not finished, e.g. "
                          f"{[(i, states.get(i)) for i in pending[:3]]}")
            replies = await defer.gatherResults([client.job_status(i) for i in pending])
            for job_id, reply in zip(pending, replies):
                states[job_id] = reply
            pending = [i for i in pending
                       if states[i].get("state") not in ("printed", "failed", "cancelled",
                                                          "expired", "interrupted")]
            if pending:
                await task.deferLater(reactor, 0.1, lambda: None)
        return states


class KillNineTests(FaultCase):
    async def test_kill9_at_random_points(self) -> None:
        rounds, per_round, printers = 20, 200, ("p1", "p2")
        rng = random.Random(4)
        text = self.config(printers)
        acked: set[str] = set()
        sent: list[str] = []
        crashes = resent = 0
        interrupted_by_crash: list[dict[str, int]] = []
        client = await self.start(text)
        for r in range(rounds + 1):
            # Jobs not acked before the last crash are retried with the same id, as a POS
            # does; then this round's new jobs stream in.
            retry = [i for i in sent if i not in acked]
            new = [f"r{r}-{n}" for n in range(per_round)] if r < rounds else []
            sent += new
            batch = retry + new
            replies: list[defer.Deferred] = []

            def track(reply: dict[str, Any], job_id: str) -> None:
                if reply.get("tipo") == "ack":
                    acked.add(job_id)

            for n, job_id in enumerate(batch):
                printer = printers[zlib.crc32(job_id.encode()) % len(printers)]
                d = client.raw(payload(job_id), printer=printer, job_id=job_id)
                d.addCallback(track, job_id)
                d.addErrback(lambda f: None)  # the connection dies with the daemon
                replies.append(d)
                if n % 20 == 19:
                    await task.deferLater(reactor, 0.005, lambda: None)
            if r == rounds:
                await defer.gatherResults(replies)
                resent = await self.until_acked(client, sent, acked, printers)
                break
            await task.deferLater(reactor, rng.uniform(0.0, 0.25), lambda: None)
            before = await self.interrupted_now()
            self.daemon.kill9()
            crashes += 1
            await task.deferLater(reactor, 0.05, lambda: None)
            client = await self.start(text)
            after = await self.interrupted_now()
            interrupted_by_crash.append({p: after.get(p, 0) - before.get(p, 0)
                                         for p in printers})
        states = await self.final_states(client, sorted(acked), timeout=120)
        counts = self.counts()
        lost = [i for i in acked if counts.get(i, 0) == 0
                and states[i]["state"] != "interrupted"]
        duplicated = [i for i in acked if counts.get(i, 0) > 1]
        never_acked_printed = [i for i in counts if i not in acked]
        interrupted = [i for i in acked if states[i]["state"] == "interrupted"]
        failed = [i for i in acked if states[i]["state"] not in ("printed", "interrupted")]
        print(f"\nkill -9: {crashes} crashes, {len(sent)} jobs sent, {len(acked)} acked, "
              f"{len(interrupted)} interrupted, lost={len(lost)}, "
              f"duplicated={len(duplicated)}, {resent} sent again after Queue full")
        self.assertEqual(crashes, rounds)
        self.assertEqual(len(acked), len(sent))  # every job got through in the end
        self.assertEqual(lost, [])
        self.assertEqual(duplicated, [])
        self.assertEqual(failed, [])
        self.assertEqual(never_acked_printed, [])
        for per_printer in interrupted_by_crash:
            for printer, n in per_printer.items():
                self.assertLessEqual(n, 1, f"{printer}: {n} jobs interrupted by one crash")

    async def until_acked(self, client: TicketClient, sent: list[str], acked: set[str],
                          printers: tuple[str, ...], timeout: float = 60) -> int:
        """After the last crash, send again what was refused, as a POS does on "Queue full,
        please retry in a few seconds" (a slow machine prints the backlog slower than the
        rounds send it, and each queue holds 1,000)."""
        deadline, resent = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            missing = [i for i in sent if i not in acked]
            if not missing:
                break
            resent += len(missing)
            await task.deferLater(reactor, 0.5, lambda: None)
            replies = [client.raw(payload(i), printer=printers[zlib.crc32(i.encode()) %
                                                                len(printers)], job_id=i)
                       for i in missing]
            for job_id, reply in zip(missing, await defer.gatherResults(replies)):
                if reply.get("tipo") == "ack":
                    acked.add(job_id)
                elif "Queue full" not in str(reply.get("mensaje")):
                    self.fail(f"job {job_id} refused: {reply}")
        return resent

    async def interrupted_now(self) -> dict[str, int]:
        """Interrupted jobs per printer, as the journal says (read-only, from the test)."""
        import sqlite3
        path = self.daemon.state / "journal.sqlite3"
        if not path.exists():
            return {}
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT printer, count(*) FROM jobs WHERE state='interrupted' "
                              "GROUP BY printer").fetchall()
        except sqlite3.Error:
            return {}
        finally:
            db.close()
        return dict(rows)


class PaperOutTests(FaultCase):
    async def test_paper_out_mid_stream_holds_then_prints_all(self) -> None:
        client = await self.start(self.config(("p1",)))
        emu = self.emulators["p1"]
        ids = [f"j{n}" for n in range(100)]
        for job_id in ids[:30]:
            await client.raw(payload(job_id), printer="p1", job_id=job_id)
        await self.final_states(client, ids[:30])
        emu.set_fault("paper_out")
        await task.deferLater(reactor, 0.8, lambda: None)  # one poll sees it
        acks = await defer.gatherResults([client.raw(payload(i), printer="p1", job_id=i)
                                          for i in ids[30:]])
        self.assertEqual({a["tipo"] for a in acks}, {"ack"})
        deadline = time.monotonic() + 15
        while True:
            held = await defer.gatherResults([client.job_status(i) for i in ids[30:]])
            states = {h["state"] for h in held}
            if states == {"held"} or time.monotonic() > deadline:
                break
            await task.deferLater(reactor, 0.1, lambda: None)
        self.assertEqual(states, {"held"})
        self.assertEqual(self.counts().keys(), set(ids[:30]))
        emu.set_fault("ready")
        states = await self.final_states(client, ids)
        self.assertEqual({s["state"] for s in states.values()}, {"printed"})
        counts = self.counts()
        self.assertEqual(sorted(counts), sorted(ids))
        self.assertEqual(set(counts.values()), {1})
        order = [m.group(1).decode() for m in MARK.finditer(emu.received)]
        self.assertEqual(order, ids)


class DropTests(FaultCase):
    async def test_connection_dropped_mid_job_fails_it_and_carries_on(self) -> None:
        client = await self.start(self.config(("p1",)))
        emu = self.emulators["p1"]
        await client.raw(payload("first"), printer="p1", job_id="first")
        await self.final_states(client, ["first"])
        emu.set_fault("disconnect_after", nbytes=500)
        big = payload("big", size=20_000)
        await client.raw(big, printer="p1", job_id="big")
        rest = [f"after{n}" for n in range(10)]
        for job_id in rest:
            await client.raw(payload(job_id), printer="p1", job_id=job_id)
        states = await self.final_states(client, ["big"] + rest)
        self.assertEqual(states["big"]["state"], "failed")
        self.assertTrue(states["big"]["mensaje"].startswith("PRINTER: "), states["big"])
        self.assertEqual({states[i]["state"] for i in rest}, {"printed"})
        counts = self.counts()
        self.assertEqual([counts.get(i) for i in rest], [1] * 10)

    async def test_connection_dropped_mid_job_retried_per_config(self) -> None:
        client = await self.start(self.config(("p1",), extra="retry_failed = 1\n"))
        emu = self.emulators["p1"]
        await client.raw(payload("first"), printer="p1", job_id="first")
        await self.final_states(client, ["first"])
        emu.set_fault("disconnect_after", nbytes=500)
        await client.raw(payload("big", size=20_000), printer="p1", job_id="big")
        await client.raw(payload("next"), printer="p1", job_id="next")
        states = await self.final_states(client, ["big", "next"])
        self.assertEqual(states["big"]["state"], "printed")
        self.assertEqual(states["next"]["state"], "printed")


class RestartTests(FaultCase):
    async def test_same_id_after_restart_not_printed_twice(self) -> None:
        text = self.config(("p1",))
        client = await self.start(text)
        ack = await client.raw(payload("once"), printer="p1", job_id="once")
        self.assertEqual(ack["tipo"], "ack")
        await self.final_states(client, ["once"])
        await self.daemon.stop_async(reactor)
        client = await self.start(text)
        again = await client.raw(payload("once"), printer="p1", job_id="once")
        self.assertEqual((again["tipo"], again["status"], again["duplicate"]),
                         ("ack", "queued", True))
        self.assertEqual(again["state"], "printed")
        await task.deferLater(reactor, 0.5, lambda: None)
        self.assertEqual(self.counts(), {"once": 1})
