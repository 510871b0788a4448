"""Benchmark document rendering: examples, a typical receipt, cold/warm logo.

Run: .venv/bin/python bench/bench_render.py

Medians of single renders swing by tens of percent between runs on a shared 2-core
machine; the last line, the best of 25 batches of 100 renders, is the steadier figure
to compare two versions with.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ticketd.documents import ImageCache, check, render, render_checked  # noqa: E402
from tests.documents_support import EXAMPLES, logo_png  # noqa: E402
from receipts import typical_receipt  # noqa: E402  (bench/ is on sys.path)


def median_ms(fn, n: int = 50) -> float:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def best_batch_ms(fn, batches: int = 25, size: int = 100) -> float:
    """The fastest batch's time per call: noise from the rest of the machine only adds."""
    for _ in range(size):
        fn()
    best = float("inf")
    for _ in range(batches):
        t = time.perf_counter()
        for _ in range(size):
            fn()
        best = min(best, (time.perf_counter() - t) / size * 1000)
    return best


def main() -> None:
    cache = ImageCache()
    for f in sorted(EXAMPLES.glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        print(f"{f.name:36s} cold {median_ms(lambda: render(doc), 10):7.2f} ms   "
              f"warm {median_ms(lambda: render(doc, image_cache=cache)):7.2f} ms")
    logo = logo_png()
    plain = typical_receipt()
    with_logo = typical_receipt(logo)
    checked = check(plain)
    results = [
        ("typical receipt, no image", median_ms(lambda: render(plain), 200), 0.3),
        ("typical receipt, check() alone", median_ms(lambda: check(plain), 200), 0.09),
        ("typical receipt, render_checked() alone",
         median_ms(lambda: render_checked(checked), 200), 0.2),
        ("typical receipt + 576-dot logo, cold cache",
         median_ms(lambda: render(with_logo, image_cache=ImageCache()), 20), 3.0),
        ("typical receipt + 576-dot logo, warm cache",
         median_ms(lambda: render(with_logo, image_cache=cache), 200), 3.0),
    ]
    for name, ms, target in results:
        print(f"{name:44s} median {ms:7.3f} ms  target <= {target:5.2f} ms  "
              f"{'MET' if ms <= target else 'NOT MET'}")
    print(f"{'typical receipt, no image, best of 25 x 100':44s}   best "
          f"{best_batch_ms(lambda: render(plain)):7.3f} ms")


if __name__ == "__main__":
    main()
