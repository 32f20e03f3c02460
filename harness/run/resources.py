"""Measuring what a run costs: wall time and peak resident memory; the CPUs it may use."""
from __future__ import annotations

import threading
import time

from harness.errors import BadConfig
from harness.util.compute import usable_cpus

_PAGE = 4096


def rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def check_threads(threads: int | None) -> None:
    """``--threads`` of a command that runs torch: None leaves torch its own choice."""
    if threads is None:
        return
    if threads < 1:
        raise BadConfig(f"--threads {threads}: must be at least 1 (leave it out for torch's "
                        "own choice)")
    reason = too_many_threads(threads)
    if reason:
        raise BadConfig(f"--threads {threads}: {reason}")


def check_model_threads(owner: str, threads: int) -> None:
    """A plugin's own ``threads`` option, checked when it trains, not in its config: a model
    saved with threads=16 must still load on a smaller machine (it only runs slower there)."""
    reason = too_many_threads(threads)
    if reason:
        raise BadConfig(f"{owner}: threads={threads}; {reason}")


def too_many_threads(threads: int) -> str | None:
    """Why ``threads`` is too many for this process, or None. torch and TensorFlow start
    every thread asked for: 100000 failed far later, as an out-of-memory error blamed on
    the MLflow store, or aborted the process inside TensorFlow's thread pool."""
    if threads > usable_cpus():
        return (f"this process may use {usable_cpus()} CPU(s), and more threads only slow "
                "it down")
    return None


def use_threads(threads: int | None) -> None:
    check_threads(threads)
    if threads:
        import torch
        torch.set_num_threads(threads)


class PeakMemory:
    """Samples RSS in a background thread; ``peak`` is the highest value seen.

    Sampling (every 10 ms) catches what ``tracemalloc`` cannot: memory that torch, numpy and
    TensorFlow allocate outside Python's allocator.
    """

    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self.peak = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


class Stopwatch:
    def __enter__(self) -> "Stopwatch":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start
