"""The journal's cost: raw jobs/s accepted and printed, journal on disk vs on tmpfs.

Runs the real daemon core in-process (``ticketd.tap.build``: journal, group commit, job
manager, per-printer queues with their own threads, virtual printers) and submits N raw
jobs as fast as the queues accept them, spread over P printers. Two figures per run:
*accepted/s* (every job durable in the journal) and *printed/s* (every job's bytes in the
virtual printer's spool). The spool is on tmpfs in both runs, so the difference between
the runs is the journal's disk cost alone. ``--sync`` picks ``[state] sync`` (``both``,
the default, runs full and normal).

    .venv/bin/python bench/bench_journal.py [--jobs 5000] [--printers 2] [--sync both]

Target: >= 1,000 printed jobs/s with the journal on disk and ``sync = "full"``, and at
least half the tmpfs figure.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import defer, task  # noqa: E402

from ticketd.config import parse  # noqa: E402
from ticketd.jobs.model import JobEvent  # noqa: E402
from ticketd.jobs.model import JobKind, JobState  # noqa: E402
from ticketd.tap import build  # noqa: E402


def config_text(state: Path, spool: Path, printers: int, jobs: int, sync: str) -> str:
    text = f'[server]\nport = 0\n[state]\ndirectory = "{state}"\nsync = "{sync}"\n'
    for i in range(printers):
        text += (f'[printers.p{i}]\nconnection = "virtual"\nspool = "{spool}/p{i}"\n'
                 f"queue_capacity = {jobs}\npreview = false\n")
    return text


async def run_once(reactor, state: Path, spool: Path, jobs: int, printers: int,
                   sync: str) -> tuple:
    cfg = parse(config_text(state, spool, printers, jobs, sync), str(state / "bench.toml"))
    top = build(cfg, reactor)
    top.startService()
    manager = top.getServiceNamed("jobs")
    t_accepted, t_printed = await submit_and_print(reactor, manager, jobs, printers, 0.2)
    transactions = manager.committer.transactions
    await top.stopService()
    return jobs / t_accepted, jobs / t_printed, transactions


async def submit_and_print(reactor, manager, jobs: int, printers: int,
                           settle: float) -> tuple[float, float]:
    """Submit ``jobs`` raw jobs over printers p0..p(P-1) after ``settle`` s (the first
    status polls); (seconds until all were accepted, seconds until all printed)."""
    printed = defer.Deferred()
    count = 0

    def on_event(e: object) -> None:
        nonlocal count
        if isinstance(e, JobEvent) and e.new is JobState.PRINTED:
            count += 1
            if count == jobs:
                printed.callback(None)

    manager.subscribe(on_event)
    await task.deferLater(reactor, settle, lambda: None)
    t0 = time.perf_counter()
    ds = [manager.submit(job_id=f"job-{i}", printer=f"p{i % printers}", source="bench",
                         kind=JobKind.RAW, payload=b"\x1b@hello %d\n\x1dV\x00" % i)
          for i in range(jobs)]
    await defer.gatherResults(ds)
    t_accepted = time.perf_counter() - t0
    await printed
    return t_accepted, time.perf_counter() - t0


async def main(reactor, args) -> None:
    syncs = ("full", "normal") if args.sync == "both" else (args.sync,)
    results = {}
    for sync in syncs:
        for label, root in (("disk", Path(args.disk_dir)), ("tmpfs", Path("/dev/shm"))):
            base = Path(tempfile.mkdtemp(prefix="ticketd-bench-", dir=root))
            spool = Path(tempfile.mkdtemp(prefix="ticketd-spool-", dir="/dev/shm"))
            try:
                results[sync, label] = await run_once(reactor, base, spool, args.jobs,
                                                      args.printers, sync)
            finally:
                shutil.rmtree(base, ignore_errors=True)
                shutil.rmtree(spool, ignore_errors=True)
    print(f"{args.jobs} raw jobs over {args.printers} virtual printers (spool on tmpfs)")
    print(f"{'sync':<8}{'journal on':<12}{'accepted/s':>12}{'printed/s':>12}"
          f"{'transactions':>14}")
    for (sync, label), (acc, prn, tx) in results.items():
        print(f"{sync:<8}{label:<12}{acc:>12.0f}{prn:>12.0f}{tx:>14}")
    for sync in syncs:
        disk, tmpfs = results[sync, "disk"][1], results[sync, "tmpfs"][1]
        print(f"{sync}: disk/tmpfs printed ratio {disk / tmpfs:.2f}; "
              f">= 1000 printed/s on disk: {'MET' if disk >= 1000 else 'NOT MET'}; "
              f"disk >= half of tmpfs: {'MET' if disk >= tmpfs / 2 else 'NOT MET'}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--printers", type=int, default=2)
    ap.add_argument("--sync", choices=("both", "full", "normal"), default="both")
    ap.add_argument("--disk-dir", default=str(Path(__file__).resolve().parent.parent / "var"))
    args = ap.parse_args()
    Path(args.disk_dir).mkdir(parents=True, exist_ok=True)
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, args)))
