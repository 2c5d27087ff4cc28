"""Timing helpers: interleaved medians, so that a change in the machine's load hits every
contender alike instead of whichever happened to run at the time."""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable


def interleaved(
    contenders: dict[str, Callable[[], object]],
    rounds: int,
    per_round: int,
    warmup: int = 2,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Seconds per call of each contender: `rounds` rounds, each running every contender
    `per_round` times back to back, in a shuffled order per round. The first call after
    a switch is not timed: the previous runtime's threads may still be spinning (torch's
    OpenMP pool and onnxruntime's both wait busily for more work for a while)."""
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    rng = random.Random(seed)
    for _ in range(rounds):
        rng.shuffle(order)
        for name in order:
            fn = contenders[name]
            fn()
            for _ in range(per_round):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> tuple[float, float]:
    """The 25th and 75th percentiles."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def load_average() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def cpu_busy(seconds: float = 0.5) -> float:
    """The share of all CPUs busy over `seconds` (from /proc/stat; nan elsewhere)."""

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except OSError:
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return idle, sum(fields)

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[1] == first[1]:
        return float("nan")
    return 1 - (second[0] - first[0]) / (second[1] - first[1])
