"""The per-stage table of a benchmark run: where a job's time goes, from the daemon's own
timing (``ticketd.stages``, exposed on ``/metrics`` as ``ticketd_stage_*``).

``scrape(base_url)`` before and after a run; ``print_table(before, after, jobs)`` prints,
per stage, how often it ran per job and its µs of wall-clock and CPU time per job.
Stages that wait (``journal.*`` but ``journal.transaction``, ``handoff.*``) have no CPU
figure: their wall time is time a job spent waiting, not computing.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Totals = dict[str, dict[str, float]]  # stage -> {"calls", "wall", "cpu"}


def daemon_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, field: str) -> int:
    """A /proc/PID/status field in KiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def render_processes_rss(pid: int) -> str:
    """How many processes ``pid`` started (its render processes) and their VmRSS."""
    rss = []
    for child in children(pid):
        try:
            rss.append(status_kib(child, "VmRSS"))
        except (OSError, RuntimeError):  # ended meanwhile (a zombie has no VmRSS)
            pass
    return f"render processes: {len(rss)}, RSS " + (
        ", ".join(f"{k / 1024:.1f} MB" for k in rss) or "-") + " (besides the daemon's)"


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (the daemon's render processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
        if ppid == pid:
            found.append(int(stat.parent.name))
    return found


def children_cpu(pid: int) -> float:
    """CPU seconds the processes ``pid`` started used so far (those still running)."""
    total = 0.0
    for child in children(pid):
        try:
            total += daemon_cpu(child)
        except OSError:
            pass
    return total


def scrape(base_url: str, token: str | None = None) -> Totals:
    request = urllib.request.Request(base_url + "/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as r:
        text = r.read().decode()
    totals: Totals = {}
    for family in text_string_to_metric_families(text):
        if family.name not in ("ticketd_stage_calls", "ticketd_stage_seconds"):
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            stage = totals.setdefault(sample.labels["stage"], {})
            key = "calls" if family.name == "ticketd_stage_calls" else sample.labels["clock"]
            stage[key] = sample.value
    return totals


def table(before: Totals, after: Totals, jobs: int) -> list[str]:
    """The lines of the table for ``jobs`` jobs between two scrapes."""
    lines = [f"{'stage':22s} {'calls/job':>9s} {'wall µs/job':>12s} {'CPU µs/job':>11s} "
             f"{'wall µs/call':>12s}"]
    per_job_cpu = 0.0
    for stage, now in after.items():
        was: dict[str, Any] = before.get(stage, {})
        calls = now.get("calls", 0) - was.get("calls", 0)
        if calls <= 0:
            continue
        wall = now.get("wall", 0) - was.get("wall", 0)
        cpu = now.get("cpu") - was.get("cpu", 0) if "cpu" in now else None
        if cpu is not None:
            per_job_cpu += cpu
        lines.append(f"{stage:22s} {calls / jobs:9.2f} {wall * 1e6 / jobs:12.1f} "
                     + (f"{cpu * 1e6 / jobs:11.1f} " if cpu is not None else f"{'-':>11s} ")
                     + f"{wall * 1e6 / calls:12.1f}")
    handoffs = sum(after.get(s, {}).get("calls", 0) - before.get(s, {}).get("calls", 0)
                   for s in after if s.startswith("handoff."))
    lines.append(f"thread hand-offs per job (there and back): {handoffs / jobs:.2f}; "
                 f"CPU µs/job in the timed stages: "
                 f"{per_job_cpu * 1e6 / jobs:.1f}")
    return lines


def print_table(before: Totals, after: Totals, jobs: int) -> None:
    print(f"per-stage times, {jobs} jobs (the daemon's own timing, ticketd_stage_*):")
    for line in table(before, after, jobs):
        print("  " + line)
