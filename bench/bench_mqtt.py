"""Benchmark the MQTT transport: job round trip (publish → ``Printed``) and throughput.

Starts its own mosquitto on a free loopback port and the real daemon (a subprocess, one
virtual printer, journal and spool on disk in a temp dir), then measures:

1. the broker's own round trip (QoS 1 publish → receive by a subscriber): the baseline;
2. sequential jobs: publish a job (QoS 1) and wait for its ``Printed``: p50/p99;
3. a burst of jobs published at once: jobs/s until the last ``Printed``; lost jobs.

Targets: job p50 ≤ 3 × the broker's own round trip, burst ≥ 3,000 jobs/s, 0 lost.
Both runs print the per-stage table (``stage_table.py``).
The broker runs with ``set_tcp_nodelay true`` (mosquitto's default is false: with it, a
broker delays small packets behind the peer's delayed ACK, ~40 ms; ``--broker-nagle``
shows that case).
Run: .venv/bin/python bench/bench_mqtt.py [--jobs 2000] [--seq 300] [--broker-nagle]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402

from tests.broker import MosquittoBroker, job_payload  # noqa: E402
from tests.daemon import DaemonProcess  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from stage_table import daemon_cpu, print_table, scrape  # noqa: E402

PREFIX = "bench/p1"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Bench:
    def __init__(self, broker: MosquittoBroker) -> None:
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench",
                             protocol=mqtt.MQTTv5)
        self.c.max_inflight_messages_set(2000)
        self.c.on_message = self.on_message
        ready = threading.Event()
        self.c.on_subscribe = lambda *a: ready.set()
        self.c.connect("127.0.0.1", broker.port)
        import socket
        self.c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.c.loop_start()
        self.c.subscribe([("bench/echo", 1), ("bench/+/printed", 1), ("bench/+/status", 1)])
        if not ready.wait(10):
            raise SystemExit("bench client could not subscribe")

    def on_message(self, c: Any, u: Any, msg: Any) -> None:
        now = time.perf_counter()
        if msg.topic == "bench/echo":
            key = msg.payload.decode()
        elif msg.topic.endswith("/status"):  # retained, published once it has subscribed
            key = msg.topic
        else:
            m = json.loads(msg.payload)
            if not m.get("finished"):
                return
            key = m["jobid"] if m.get("success") else "FAILED:" + m["jobid"]
        with self.cond:
            self.arrived[key] = now
            self.cond.notify_all()

    def wait_for(self, key: str, timeout: float = 10.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: key in self.arrived, timeout):
                raise SystemExit(f"timed out waiting for {key}")
            return self.arrived[key]

    def broker_rtt(self, n: int) -> list[float]:
        out = []
        for i in range(n):
            key = f"echo{i}"
            t = time.perf_counter()
            self.c.publish("bench/echo", key, qos=1)
            out.append((self.wait_for(key) - t) * 1000)
        return out

    def job_rtt(self, n: int, tag: str) -> list[float]:
        out = []
        for i in range(n):
            jobid = f"{tag}{i}"
            t = time.perf_counter()
            self.c.publish(f"{PREFIX}/print", job_payload(jobid, b"\x1b@bench\n\x1dV\x00"),
                           qos=1)
            out.append((self.wait_for(jobid) - t) * 1000)
        return out

    def burst(self, n: int, printers: int) -> tuple[float, int, int]:
        ids = [f"burst{i}" for i in range(n)]
        t = time.perf_counter()
        for i, jobid in enumerate(ids):
            prefix = PREFIX if i % printers == 0 else f"bench/p{i % printers + 1}"
            self.c.publish(f"{prefix}/print", job_payload(jobid, b"\x1b@burst\n\x1dV\x00"),
                           qos=1)
        deadline = time.monotonic() + max(30.0, n / 50)
        with self.cond:
            self.cond.wait_for(lambda: all(i in self.arrived or "FAILED:" + i in self.arrived
                                           for i in ids),
                               max(0.0, deadline - time.monotonic()))
            last = max((self.arrived.get(i, 0.0) for i in ids), default=t)
            printed = sum(1 for i in ids if i in self.arrived)
            failed = sum(1 for i in ids if "FAILED:" + i in self.arrived)
        return last - t, printed, failed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2000, help="burst size")
    ap.add_argument("--seq", type=int, default=300, help="sequential round trips")
    ap.add_argument("--printers", type=int, default=1,
                    help="virtual printers (prefixes) the burst is spread over")
    ap.add_argument("--broker-nagle", action="store_true",
                    help="leave mosquitto's default set_tcp_nodelay false (adds ~40 ms "
                         "delayed-ACK stalls to every round trip, broker baseline included)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-", dir=str(ROOT / "bench")) as tmp:
        d = Path(tmp)
        broker = MosquittoBroker(d / "broker", nodelay=not args.broker_nagle).start()
        daemon = DaemonProcess(d / "daemon")
        try:
            printers = "".join(
                f'[printers.p{i}]\nconnection = "virtual"\nprefix = "bench/p{i}"\n'
                f"queue_capacity = {args.jobs + 100}\npreview = false\n"
                for i in range(1, args.printers + 1))
            daemon.start('[log]\nlevel = "warn"\n' + printers + broker.mqtt_toml())
            b = Bench(broker)
            for i in range(1, args.printers + 1):  # each link subscribed: no job lost to it
                b.wait_for(f"bench/p{i}/status", 30.0)
            b.job_rtt(20, "warm")
            b.broker_rtt(50)
            base = b.broker_rtt(args.seq)
            stages = [scrape(daemon.base_url)]
            jobs = b.job_rtt(args.seq, "seq")
            stages.append(scrape(daemon.base_url))
            cpu = daemon_cpu(daemon.pid)
            took, printed, failed = b.burst(args.jobs, args.printers)
            stages.append(scrape(daemon.base_url))
            cpu = daemon_cpu(daemon.pid) - cpu
            spooled = len(list((daemon.state / "spool").glob("p*/burst*.bin")))
            b.c.disconnect()
            b.c.loop_stop()
        finally:
            daemon.stop()
            broker.stop()
    bp50, bp99 = pct(base, 50), pct(base, 99)
    jp50, jp99 = pct(jobs, 50), pct(jobs, 99)
    rate = printed / took if took > 0 else 0.0
    lost = args.jobs - printed
    print(f"mosquitto set_tcp_nodelay {'false' if args.broker_nagle else 'true'}; "
          f"virtual printer (no PNG previews), journal on disk")
    print(f"broker round trip (QoS 1 publish -> receive), n={len(base)}: "
          f"p50 {bp50:.2f} ms  p99 {bp99:.2f} ms")
    print(f"job round trip (publish -> Printed), n={len(jobs)}: "
          f"p50 {jp50:.2f} ms  p99 {jp99:.2f} ms  mean {statistics.mean(jobs):.2f} ms")
    print(f"ratio job/broker: p50 {jp50 / bp50:.1f}x  p99 {jp99 / bp99:.1f}x")
    print(f"burst: {args.jobs} jobs published at once over {args.printers} printer(s), "
          f"{printed} Printed, {failed} failed, "
          f"{lost} lost, {spooled} spool files, in {took:.2f} s = {rate:.0f} jobs/s")
    ok = jp50 <= 3 * bp50 and rate >= 3000 and lost == 0
    print(f"targets (job p50 <= 3 x the broker's, burst >= 3000 jobs/s, 0 lost): "
          f"{'MET' if ok else 'NOT MET'}")
    print("sequential jobs, one at a time:")
    print_table(stages[0], stages[1], len(jobs))
    print("the burst:")
    print_table(stages[1], stages[2], args.jobs)
    print(f"  the daemon's CPU (all threads, /proc): {cpu * 1e6 / args.jobs:.0f} µs per job")


if __name__ == "__main__":
    main()
