"""Ratios, not times: each benchmark runs our code and a reference in the same process,
interleaved, and reports best-of-N per call for both and their ratio."""

from __future__ import annotations

import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Ratio:
    name: str
    ours: float
    reference: float
    reference_name: str
    target: float  # the ratio to stay at or under

    @property
    def ratio(self) -> float:
        return self.ours / self.reference

    @property
    def ok(self) -> bool:
        return self.ratio <= self.target

    def line(self) -> str:
        unit, scale = ("ms", 1e3) if self.reference > 1e-3 else ("µs", 1e6)
        verdict = "ok" if self.ok else "OVER TARGET"
        return (
            f"{self.name:<44} {self.ours * scale:9.2f} {unit}  vs  {self.reference_name} "
            f"{self.reference * scale:9.2f} {unit}  ratio {self.ratio:5.2f} "
            f"(target <= {self.target})  {verdict}"
        )


def per_call(
    ours: Callable[[], object],
    reference: Callable[[], object],
    *,
    rounds: int = 7,
    seconds: float = 0.2,
) -> tuple[float, float]:
    """Best per-call time of each, measured in interleaved rounds."""
    number = max(1, int(seconds / max(timeit.timeit(reference, number=20) / 20, 1e-9)))
    best_ours = best_reference = float("inf")
    for _ in range(rounds):
        best_reference = min(best_reference, timeit.timeit(reference, number=number) / number)
        best_ours = min(best_ours, timeit.timeit(ours, number=number) / number)
    return best_ours, best_reference


def fresh_interpreter(
    ours: str,
    reference: str,
    *,
    runs: int = 40,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    python: Sequence[str] = (sys.executable,),
) -> tuple[float, float]:
    """Median wall time of a fresh interpreter running each snippet, interleaved."""
    import time

    def once(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([*python, "-c", code], check=True, env=env, cwd=cwd)
        return time.perf_counter() - start

    once(ours), once(reference)  # warm the OS caches and __pycache__
    times_ours, times_reference = [], []
    for _ in range(runs):
        times_reference.append(once(reference))
        times_ours.append(once(ours))
    return statistics.median(times_ours), statistics.median(times_reference)
