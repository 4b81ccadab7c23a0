"""Printing figures and measuring time and memory: shared by the benchmarks, with no services.

``bench.common`` finds (or starts) PostgreSQL and Redis when imported; a benchmark that needs
neither (the calculation engine's) imports this module alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from statistics import median

import psutil


def report(name: str, value: float, unit: str, note: str = "") -> None:
    print(f"{name:58} {value:>14,.3f} {unit:10} {note}", flush=True)


def stats(samples: list[float]) -> str:
    return f"min {min(samples):.3f}  median {median(samples):.3f}  max {max(samples):.3f}"


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def rss() -> int:
    """The process's resident set size [bytes]."""
    return int(psutil.Process().memory_info().rss)


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux: write 5 to clear_refs); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss() -> int | None:
    """The kernel's peak-RSS mark of the process (VmHWM) [bytes]; None where unsupported."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
