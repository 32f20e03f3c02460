"""How a torch plugin computes on the CPU: its thread count and subnormal-float flushing."""
from __future__ import annotations

import contextlib
import os
from typing import Iterator


def usable_cpus() -> int:
    """The CPUs this process may run on: a container or taskset can allow fewer than the
    machine has, which os.cpu_count() would report."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):         # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def torch_compute(threads: int) -> Iterator[None]:
    """Run with ``threads`` torch threads (0: unchanged; at most the CPUs this process may
    use) and subnormal floats flushed to 0.

    Late in training many softmax probabilities and Adam moments fall below 1e-38, where
    x86 arithmetic is many times slower, so on a large vocabulary an epoch slows down as
    training goes on unless they are flushed. TensorFlow flushes them in its CPU threads
    too. Both settings are restored afterwards (torch cannot read
    the flush flag, so it goes back to its default, off).
    """
    import torch   # here, not at import: harness.api must stay importable without torch cost

    previous = torch.get_num_threads()
    if threads > 0:
        # at most the CPUs there are: a model saved with threads=16 predicts on a laptop,
        # and torch would start every thread asked for (100000 ran out of memory)
        torch.set_num_threads(min(threads, usable_cpus()))
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(previous)
