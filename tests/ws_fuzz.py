"""A cheap generator of random and malformed WebSocket frames (seeded, reproducible), used
over a real socket and, seeded by Hypothesis, against the sans-IO handler."""

from __future__ import annotations

import json
import random
from typing import Any


def doc(*texts: str) -> dict[str, Any]:
    return {"version": "1.0", "profile": {"model": "58mm PT-210", "paper_width": 58},
            "commands": [{"type": "text", "data": {"content": {"text": t}}} for t in texts]}


def fuzz_frames(rng: random.Random, n: int) -> list[str]:
    """Random and malformed frames, most of them almost-valid envelopes."""

    def value(depth: int = 0) -> Any:
        r = rng.random()
        if depth > 3 or r < 0.4:
            return rng.choice([None, True, 0, -1, 1.5, 10 ** 30, "", "x", "ñ€漢", "\u0000",
                               "a" * rng.randint(0, 300)])
        if r < 0.7:
            return {rng.choice(["data", "printer", "profile", "commands", "version", "k"]):
                    value(depth + 1) for _ in range(rng.randint(0, 4))}
        return [value(depth + 1) for _ in range(rng.randint(0, 4))]

    tipos = ["ticket", "raw", "status", "ping", "get_printers", "job_status", "cancel",
             "foo", "", "TICKET", 1, None, []]
    frames = []
    for i in range(n):
        r = rng.random()
        if r < 0.1:
            frames.append("".join(chr(rng.randint(32, 0x2FF)) for _ in range(rng.randint(0, 40))))
            continue
        tipo = rng.choice(["ticket", "raw"]) if rng.random() < 0.5 else rng.choice(tipos)
        message: dict[str, Any] = {"tipo": tipo}
        if rng.random() < 0.8:
            message["id"] = rng.choice([f"f{i}", f"f{i % 7}", i, "", None, ["x"], "x" * 200,
                                        "bad\nid"])
        choice = rng.random()
        if choice < 0.3:
            message["datos"] = doc(*(str(value()) for _ in range(rng.randint(0, 3))))
            if rng.random() < 0.3:
                message["datos"]["commands"].append({"type": rng.choice(["qr", "nope"]),
                                                     "data": value()})
        elif choice < 0.5:
            message["datos"] = {"data": rng.choice(["aGk=", "!!", "", "aGVsbG8K", 5]),
                                "printer": rng.choice(["virt", "virt", "nope", 3])}
        elif choice < 0.8:
            message["datos"] = value()
        text = json.dumps(message)
        if rng.random() < 0.1:
            text = text[:rng.randint(0, len(text))]
        frames.append(text)
    return frames
