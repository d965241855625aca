"""Timing several things side by side: each round calls every one in turn, so whatever else the
machine does falls on all of them alike, and their medians compare like with like."""

from __future__ import annotations

import time
from typing import Any, Callable


def timed_in_turn(calls: dict[str, Callable[[], Any]], rounds: int) -> dict[str, tuple[Any, list[float]]]:
    """{name: (what its last call returned, the seconds of each round)} of `rounds` rounds (at least
    one), the calls taken in turn within each round."""
    results: dict[str, Any] = {}
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(max(1, rounds)):
        for name, call in calls.items():
            started = time.perf_counter()
            results[name] = call()
            seconds[name].append(time.perf_counter() - started)
    return {name: (results[name], seconds[name]) for name in calls}
