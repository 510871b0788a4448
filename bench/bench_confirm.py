"""What the printer's confirmation costs: raw jobs/s printed on network printers (loopback
emulators printing instantly, speed 0) with ``confirm = "realtime"`` (printed once the
printer has the bytes) and with in-order confirmation (``gs_r``, ``process_id``: printed
once the printer answers after the job's bytes).

Runs the real daemon core in-process (``ticketd.tap.build``) against in-process emulators
and submits N raw jobs spread over P printers, as fast as the queues take them.

    .venv/bin/python bench/bench_confirm.py [--jobs 2000] [--printers 2] [--rounds 2]

Goal: with confirmation, at most 10 % fewer jobs/s than without.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import defer, task  # noqa: E402

from ticketd.config import parse  # noqa: E402
from ticketd.emulator.tcp import listen  # noqa: E402
from ticketd.tap import build  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_journal import submit_and_print  # noqa: E402  (bench/ is on sys.path)

MODES = ("realtime", "gs_r", "process_id")


async def run_once(reactor, state: Path, jobs: int, printers: int, mode: str) -> float:
    text = f'[server]\nport = 0\n[state]\ndirectory = "{state}"\n'
    listening = []
    for i in range(printers):
        _, port = listen(reactor)
        listening.append(port)
        text += (f'[printers.p{i}]\nconnection = "network"\nhost = "127.0.0.1"\n'
                 f'port = {port.getHost().port}\nqueue_capacity = {jobs}\n'
                 f'confirm = "{mode}"\n')
    top = build(parse(text, str(state / "bench.toml")), reactor)
    top.startService()
    manager = top.getServiceNamed("jobs")
    _, took = await submit_and_print(reactor, manager, jobs, printers, 0.3)
    await top.stopService()
    for port in listening:
        await port.stopListening()
    return jobs / took


async def main(reactor, args) -> None:
    best: dict[str, float] = {}
    for _ in range(args.rounds):  # interleaved, best of each: a shared machine is noisy
        for mode in MODES:
            base = Path(tempfile.mkdtemp(prefix="ticketd-bench-", dir="/dev/shm"))
            try:
                rate = await run_once(reactor, base, args.jobs, args.printers, mode)
            finally:
                shutil.rmtree(base, ignore_errors=True)
            best[mode] = max(best.get(mode, 0.0), rate)
    print(f"{args.jobs} raw jobs over {args.printers} network printers (emulators at "
          f"speed 0, journal on tmpfs), best of {args.rounds}")
    base_rate = best["realtime"]
    for mode in MODES:
        loss = 100.0 * (1 - best[mode] / base_rate)
        print(f"confirm = {mode!r:<13}{best[mode]:>8.0f} jobs/s  {loss:+6.1f} % fewer")
    worst = max(100.0 * (1 - best[m] / base_rate) for m in MODES[1:])
    print(f"goal <= 10 % fewer with confirmation: {'MET' if worst <= 10 else 'NOT MET'}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--printers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, args)))
