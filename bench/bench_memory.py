"""Benchmark the daemon's memory after a run of big jobs: N raw jobs of S KB each over
WebSocket to the daemon (subprocess, one virtual printer, the journal on disk), until all
are printed; the daemon's RSS (VmRSS) idle before and idle after, and its peak (VmHWM).

Goal: <= 100 MB after 1,000 jobs of 500 KB (finished jobs keep no payload in memory).

Run:   .venv/bin/python bench/bench_memory.py               (1,000 x 500 KB, 50 in flight)
Options: --jobs N --size KB --window W (jobs in flight: sent, not yet printed)
         --state DIR (default: a temp dir on the disk, removed afterwards)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twisted.internet import defer, task  # noqa: E402

from ticketd.client import connect  # noqa: E402
from tests.daemon import DaemonProcess  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from stage_table import render_processes_rss, status_kib as vm  # noqa: E402

CONFIG = """
[server]
listen = "127.0.0.1"
port = $port
max_message_size = {max_message}

[printers.big]
connection = "virtual"
default = true
queue_capacity = {capacity}
preview = false
"""


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MB"


async def settle(reactor: Any, seconds: float) -> None:
    await task.deferLater(reactor, seconds, lambda: None)


async def run(reactor: Any, daemon: DaemonProcess, jobs: int, size: int, window: int
              ) -> tuple[int, float]:
    """Send ``jobs`` raw jobs of ``size`` bytes, ``window`` in flight; (printed, seconds)."""
    client = await connect(reactor, daemon.ws_url, timeout=30)
    payload = (b"\x1b@" + os.urandom(size // 2).hex().encode())[:size]
    printed = 0
    started = time.monotonic()
    flight = defer.DeferredSemaphore(window)

    async def one(i: int) -> None:
        nonlocal printed
        ack = await client.raw(payload, job_id=f"mem-{i}")
        if ack.get("tipo") != "ack":
            raise RuntimeError(f"job {i} refused: {ack}")
        result = await client.result(f"mem-{i}")
        if result.get("status") != "success":
            raise RuntimeError(f"job {i} failed: {result}")
        printed += 1
        client.results.pop(f"mem-{i}", None)  # the client keeps nothing either

    await defer.gatherResults([flight.run(lambda i=i: defer.ensureDeferred(one(i)))
                               for i in range(jobs)], consumeErrors=True)
    took = time.monotonic() - started
    await client.close()
    return printed, took


async def main(reactor: Any, args: argparse.Namespace) -> None:
    tmp = Path(args.state or tempfile.mkdtemp(prefix="ticketd-bench-mem-", dir="/var/tmp"))
    size = args.size * 1000
    daemon = DaemonProcess(tmp)
    daemon.start(CONFIG.format(max_message=2 * size + 65536, capacity=max(args.window, 100)))
    try:
        await settle(reactor, 2.0)
        before = vm(daemon.pid, "VmRSS")
        printed, took = await run(reactor, daemon, args.jobs, size, args.window)
        await settle(reactor, 3.0)
        after = vm(daemon.pid, "VmRSS")
        peak = vm(daemon.pid, "VmHWM")
        spooled = len(list(daemon.spool("big").glob("*.bin")))
        print(f"{printed} of {args.jobs} jobs of {args.size} KB printed in {took:.1f} s "
              f"({args.window} in flight); {spooled} spool files")
        print(f"daemon RSS idle before: {mib(before)}; idle after: {mib(after)}; "
              f"peak: {mib(peak)}; goal after: <= 100 MB: "
              f"{'met' if after <= 100 * 1024 else 'NOT met'}")
        print(render_processes_rss(daemon.pid))
    finally:
        await daemon.stop_async(reactor)
        if not args.state:
            shutil.rmtree(tmp, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--size", type=int, default=500, help="KB per job")
    p.add_argument("--window", type=int, default=50, help="jobs in flight")
    p.add_argument("--state", default=None)
    return p.parse_args()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, parse_args())))
