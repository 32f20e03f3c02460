"""How a torch plugin computes on the CPU: its thread count and subnormal-float flushing."""
from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def torch_compute(threads: int) -> Iterator[None]:
    """Run with ``threads`` torch threads (0: unchanged) and subnormal floats flushed to 0.

    Late in training many softmax probabilities and Adam moments fall below 1e-38, where
    x86 arithmetic is many times slower, so on a large vocabulary an epoch slows down as
    training goes on unless they are flushed. TensorFlow flushes them in its CPU threads
    too. Both settings are restored afterwards (torch cannot read
    the flush flag, so it goes back to its default, off).
    """
    import torch   # here, not at import: harness.api must stay importable without torch cost

    previous = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(previous)
