"""Benchmark the WebSocket API end to end: C concurrent clients x J jobs against the daemon
(subprocess, one virtual printer), and the same load against a bare Autobahn echo server
as the baseline; then the daemon's memory idle and with 1,000 idle connections.

Run:   .venv/bin/python bench/bench_ws.py                  (100 x 100 typical receipts)
       .venv/bin/python bench/bench_ws.py --mode raw       (raw ESC/POS jobs)
       .venv/bin/python bench/bench_ws.py --quick          (10 x 20, a smoke run)
Options: --clients C --jobs J --printers P --idle N --state DIR (default: a temp dir on
the disk) --render-processes N (the daemon's ``[server] render_processes``).

Two loads, each against the echo server and the daemon:

- *closed loop* (throughput): each client sends its J jobs one after the other, each as
  soon as the previous one is acknowledged (acks are durable: the job is in the journal).
  jobs/s = jobs / (first send .. last result). The clients keep C jobs in flight, so the
  ack latency here is C / (acks per second) by Little's law, whatever the server does.
- *paced* (latency): the same C clients send jobs at a fixed total rate (``--rate``,
  default the targets: 300 receipts/s, 1,000 raw jobs/s), round robin, without
  waiting for acks, for ``--seconds``: the ack latency a POS sees at that load.

Lost = jobs acked but with no success result or no spooled .bin file.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autobahn.twisted.websocket import (WebSocketClientFactory,  # noqa: E402
                                        WebSocketClientProtocol)
from twisted.internet import defer, task  # noqa: E402

from tests.daemon import DaemonProcess, free_port  # noqa: E402
from receipts import typical_receipt  # noqa: E402  (bench/ is on sys.path)
from stage_table import (children_cpu, daemon_cpu, print_table, render_processes_rss,  # noqa: E402
                         scrape)

ECHO_SERVER = r"""
import json, sys
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor
class Echo(WebSocketServerProtocol):
    def onOpen(self):
        self.sendMessage(b'{"tipo":"info","status":"connected"}')
    def onMessage(self, payload, binary):
        m = json.loads(payload)
        self.sendMessage(json.dumps({"tipo": "ack", "id": m.get("id"), "status": "queued"}).encode())
        self.sendMessage(json.dumps({"tipo": "result", "id": m.get("id"), "status": "success",
                                     "mensaje": "Printed"}).encode())
f = WebSocketServerFactory()
f.protocol = Echo
f.setProtocolOptions(maxMessagePayloadSize=1 << 20, maxFramePayloadSize=1 << 20)
reactor.listenTCP(int(sys.argv[1]), f, interface="127.0.0.1")
print("ready", flush=True)
reactor.run()
"""


RAW = base64.b64encode(b"\x1b@" + b"Line of a raw ESC/POS job\n" * 20 + b"\x1dV\x01").decode()


class Client(WebSocketClientProtocol):
    """Sends jobs (closed loop: the next after the ack; paced: when told), records ack
    latencies and results."""

    def onOpen(self) -> None:  # noqa: N802
        self.factory.opened(self)

    def setup(self, jobs: int, mode: str, doc: dict[str, Any], run: "Run",
              printer: str, closed_loop: bool) -> None:
        self.left, self.mode, self.run, self.printer = jobs, mode, run, printer
        self.closed_loop = closed_loop
        self.doc = dict(doc, profile=dict(doc["profile"], model=printer))
        self.sent_at: dict[str, float] = {}

    def send_next(self) -> None:
        if self.left <= 0:
            return
        self.left -= 1
        job_id = uuid.uuid4().hex
        if self.mode == "raw":
            msg = {"tipo": "raw", "id": job_id, "datos": {"data": RAW, "printer": self.printer}}
        else:
            msg = {"tipo": "ticket", "id": job_id, "datos": self.doc}
        self.sent_at[job_id] = time.perf_counter()
        self.run.sent += 1
        self.sendMessage(json.dumps(msg).encode())

    def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802,N803
        m = json.loads(payload)
        tipo = m.get("tipo")
        if tipo in ("ack", "error"):
            sent = self.sent_at.pop(m.get("id"), None)
            if sent is not None:
                self.run.ack_ms.append((time.perf_counter() - sent) * 1000)
            if tipo == "error":
                self.run.errors.append(m.get("mensaje"))
                self.run.finished(m)
            if self.closed_loop:
                self.send_next()
        elif tipo == "result":
            self.run.finished(m)


class Run:
    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0
        self.ack_ms: list[float] = []
        self.errors: list[str] = []
        self.ok = 0
        self.done = 0
        self.all_done: defer.Deferred[None] = defer.Deferred()

    def finished(self, m: dict[str, Any]) -> None:
        self.done += 1
        self.ok += m.get("status") == "success"
        if self.done >= self.total and not self.all_done.called:
            self.all_done.callback(None)


class Factory(WebSocketClientFactory):
    protocol = Client

    def __init__(self, url: str, n: int) -> None:
        super().__init__(url)
        self.setProtocolOptions(openHandshakeTimeout=30)
        self.clients: list[Client] = []
        self.want = n
        self.ready: defer.Deferred[list[Client]] = defer.Deferred()

    def opened(self, client: Client) -> None:
        self.clients.append(client)
        if len(self.clients) == self.want and not self.ready.called:
            self.ready.callback(self.clients)


async def connect_many(reactor: Any, port: int, n: int) -> Factory:
    factory = Factory(f"ws://127.0.0.1:{port}/ws", n)
    for i in range(n):
        reactor.connectTCP("127.0.0.1", port, factory, timeout=30)
        if i % 100 == 99:
            await task.deferLater(reactor, 0.01, lambda: None)
    await factory.ready.addTimeout(120, reactor)
    return factory


async def load(reactor: Any, port: int, clients: int, jobs: int, mode: str,
               printers: int = 1, rate: float | None = None) -> dict[str, Any]:
    """Closed loop (``rate`` None): C clients x J jobs. Paced: ``jobs`` in all, sent at
    ``rate`` per second round robin over the clients, not waiting for acks."""
    factory = await connect_many(reactor, port, clients)
    total = jobs if rate else clients * jobs
    run = Run(total)
    doc = typical_receipt()
    for i, c in enumerate(factory.clients):
        share = total // clients + (i < total % clients) if rate else jobs
        c.setup(share, mode, doc, run, f"bench{i % printers}", closed_loop=not rate)
    start = time.perf_counter()
    if rate:
        tick = task.LoopingCall(_pace, factory.clients, run, rate, start)
        tick.clock = reactor
        tick.start(0.005)
    else:
        for c in factory.clients:
            c.send_next()
    await run.all_done.addTimeout(600, reactor)
    if rate:
        tick.stop()
    elapsed = time.perf_counter() - start
    for c in factory.clients:
        c.sendClose(1000)
    await task.deferLater(reactor, 0.3, lambda: None)
    acks = sorted(run.ack_ms)
    return {"jobs": run.total, "seconds": elapsed, "rate": run.total / elapsed,
            "ok": run.ok, "errors": run.errors[:3], "n_errors": len(run.errors),
            "p50": statistics.median(acks), "p99": acks[int(len(acks) * 0.99) - 1],
            "max": acks[-1]}


def _pace(clients: list[Client], run: Run, rate: float, start: float) -> None:
    """Sends the jobs due by now (open loop), one per client in turn."""
    due = min(int((time.perf_counter() - start) * rate), run.total)
    while run.sent < due:
        clients[run.sent % len(clients)].send_next()


def show(name: str, r: dict[str, Any]) -> None:
    print(f"{name:34s} {r['jobs']:6d} jobs in {r['seconds']:6.2f} s = {r['rate']:8.1f}/s   "
          f"ack p50 {r['p50']:6.2f} ms  p99 {r['p99']:7.2f} ms  max {r['max']:7.2f} ms"
          + (f"   ERRORS {r['n_errors']}: {r['errors']}" if r["n_errors"] else ""))


async def idle_rss(reactor: Any, daemon: DaemonProcess, n: int) -> tuple[int, int]:
    await task.deferLater(reactor, 1.0, lambda: None)
    idle = daemon.rss_kib()
    factory = await connect_many(reactor, daemon.port, n)
    await task.deferLater(reactor, 1.0, lambda: None)
    loaded = daemon.rss_kib()
    for c in factory.clients:
        c.sendClose(1000)
    return idle, loaded


async def main(reactor: Any, args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    state = Path(args.state) if args.state else Path(tempfile.mkdtemp(prefix="bench_ws-"))
    print(f"{args.clients} clients x {args.jobs} {args.mode} jobs, {args.printers} "
          f"printer(s), sync = {args.sync}; state in {state} ({os.cpu_count()} CPUs)")

    port = free_port()
    echo = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)],
                            stdout=subprocess.PIPE)
    try:
        assert echo.stdout is not None and echo.stdout.readline().startswith(b"ready")
        base = await load(reactor, port, args.clients, args.jobs, args.mode)
        base_paced = await load(reactor, port, args.clients, int(args.rate * args.seconds),
                                args.mode, rate=args.rate)
    finally:
        echo.terminate()
        echo.wait(10)
    show("bare Autobahn echo", base)
    show(f"bare Autobahn echo paced {args.rate:g}/s", base_paced)

    daemon = DaemonProcess(state / "daemon")
    # One address holds all the bench's connections: lift the per-client limit.
    processes = (f"render_processes = {args.render_processes}\n"
                 if args.render_processes is not None else "")
    daemon.start(f'[server]\nlisten = "127.0.0.1"\nport = {daemon.port}\n'
                 f'max_connections_per_client = {args.idle + args.clients + 10}\n'
                 f'{processes}[state]\ndirectory = "{daemon.state}"\nsync = "{args.sync}"\n'
                 '[log]\nlevel = "warn"\n' + "".join(
        f'[printers.bench{i}]\nconnection = "virtual"\nqueue_capacity = 100000\n'
        "preview = false\n" + (f'spool = "{args.spool}/bench{i}"\n' if args.spool else "")
        for i in range(args.printers)))
    try:
        idle, loaded = await idle_rss(reactor, daemon, args.idle)
        print(f"daemon RSS: idle {idle / 1024:.1f} MB, with {args.idle} idle connections "
              f"{loaded / 1024:.1f} MB")
        print(render_processes_rss(daemon.pid))
        await task.deferLater(reactor, 1.0, lambda: None)
        before, cpu = scrape(daemon.base_url), daemon_cpu(daemon.pid)
        render_cpu = children_cpu(daemon.pid)
        r = await load(reactor, daemon.port, args.clients, args.jobs, args.mode, args.printers)
        after, cpu = scrape(daemon.base_url), daemon_cpu(daemon.pid) - cpu
        render_cpu = children_cpu(daemon.pid) - render_cpu
        spools = [Path(args.spool) / f"bench{i}" if args.spool else daemon.spool(f"bench{i}")
                  for i in range(args.printers)]
        spooled = sum(len(list(spool.glob("*.bin"))) for spool in spools)
        show(f"ticketd ({args.mode})", r)
        accepted = r["jobs"] - r["n_errors"]
        print(f"{'':34s} results ok {r['ok']}/{r['jobs']}, spooled .bin {spooled}, "
              f"lost {accepted - min(r['ok'], spooled)}; daemon/echo throughput "
              f"{r['rate'] / base['rate']:.2f}, ack p99 ratio {r['p99'] / base['p99']:.1f}x")
        print_table(before, after, r["jobs"])
        print(f"  the daemon's CPU (all threads, /proc): {cpu * 1e6 / r['jobs']:.0f} µs per job, "
              f"{cpu / r['seconds']:.2f} cores")
        print(f"  its render processes' CPU (/proc): {render_cpu * 1e6 / r['jobs']:.0f} µs per "
              f"job, {render_cpu / r['seconds']:.2f} cores")
        await task.deferLater(reactor, 1.0, lambda: None)
        print(f"daemon RSS after the run: {daemon.rss_kib() / 1024:.1f} MB (the backlog of "
              "acknowledged jobs waits in memory; freed memory stays with the allocator)")
        paced = await load(reactor, daemon.port, args.clients, int(args.rate * args.seconds),
                           args.mode, args.printers, rate=args.rate)
        show(f"ticketd paced {args.rate:g}/s", paced)
        print(f"{'':34s} results ok {paced['ok']}/{paced['jobs']}; ack p99 ratio to the "
              f"echo server's paced run {paced['p99'] / base_paced['p99']:.1f}x")
    finally:
        daemon.stop()


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--jobs", type=int, default=100, help="jobs per client")
    p.add_argument("--mode", choices=("doc", "raw"), default="doc")
    p.add_argument("--idle", type=int, default=1000, help="idle connections for the RSS figure")
    p.add_argument("--render-processes", type=int, default=None,
                   help="[server] render_processes (default: the daemon's own default)")
    p.add_argument("--printers", type=int, default=1,
                   help="virtual printers; client i sends to printer i %% N")
    p.add_argument("--state", help="directory for the daemon's journal and spool")
    p.add_argument("--sync", choices=("full", "normal"), default="full",
                   help='[state] sync: "full" (the default) survives a power cut')
    p.add_argument("--spool", help="directory for the virtual printers' spools (default: "
                   "in the state directory)")
    p.add_argument("--rate", type=float,
                   help="jobs/s of the paced run (default 300 for doc, 1000 for raw)")
    p.add_argument("--seconds", type=float, default=10, help="length of the paced run")
    p.add_argument("--quick", action="store_true", help="10 clients x 20 jobs, 200 idle")
    args = p.parse_args()
    if args.quick:
        args.clients, args.jobs, args.idle, args.seconds = 10, 20, 200, 2
    if args.rate is None:
        args.rate = 300.0 if args.mode == "doc" else 1000.0
    return args


if __name__ == "__main__":
    arguments = parse()
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, arguments)))
