"""Benchmark document rendering: examples, a typical receipt, cold/warm logo.

Run: .venv/bin/python bench/bench_render.py
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

from ticketd.documents import ImageCache, render  # noqa: E402
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


def main() -> None:
    cache = ImageCache()
    for f in sorted(EXAMPLES.glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        print(f"{f.name:36s} cold {median_ms(lambda: render(doc), 10):7.2f} ms   "
              f"warm {median_ms(lambda: render(doc, image_cache=cache)):7.2f} ms")
    logo = logo_png()
    plain = typical_receipt()
    with_logo = typical_receipt(logo)
    results = [
        ("typical receipt, no image", median_ms(lambda: render(plain), 200), 2.0),
        ("typical receipt + 576-dot logo, cold cache",
         median_ms(lambda: render(with_logo, image_cache=ImageCache()), 20), 20.0),
        ("typical receipt + 576-dot logo, warm cache",
         median_ms(lambda: render(with_logo, image_cache=cache), 200), 3.0),
    ]
    for name, ms, target in results:
        print(f"{name:44s} median {ms:7.2f} ms  target <= {target:4.1f} ms  "
              f"{'MET' if ms <= target else 'NOT MET'}")


if __name__ == "__main__":
    main()
