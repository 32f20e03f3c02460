"""A run's out-of-memory error as one line: a width of 10**8 given with ``--set`` is a
mistyped option, not a bug to show a traceback for."""
from __future__ import annotations

import re
import sys

from harness.errors import OutOfMemory


# How the allocators word it: torch on the CPU ("DefaultCPUAllocator: can't allocate memory",
# "not enough memory"), CUDA and MPS ("out of memory"), TensorFlow ("OOM when allocating").
OUT_OF_MEMORY_WORDS = ("out of memory", "not enough memory", "can't allocate memory",
                       "cannot allocate memory", "oom when allocating")


def is_out_of_memory(error: BaseException) -> bool:
    """MemoryError (numpy's too) or a framework's out-of-memory error, here or as the cause
    of a plugin's own error. No framework is imported for it: the one that raised is loaded."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, MemoryError):
            return True
        torch = sys.modules.get("torch")
        oom = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
        if oom is not None and isinstance(error, oom):
            return True
        # TensorFlow's ResourceExhaustedError is no RuntimeError; its name and words tell it
        if isinstance(error, RuntimeError) or type(error).__name__ == "ResourceExhaustedError":
            text = str(error).lower()
            if any(words in text for words in OUT_OF_MEMORY_WORDS):
                return True
        error, seen = error.__cause__, seen + 1
    return False


def _asked_for(error: BaseException) -> str:
    """`` (it asked for 402 TiB at once)`` where the allocator said how much, else ""."""
    found = re.search(r"allocate (\d+) bytes", str(error))
    if found:
        size = float(found.group(1))
        for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
            if size < 1024 or unit == "PiB":
                break
            size /= 1024
        return f" (it asked for {size:.0f} {unit} at once)"
    found = re.search(r"[Tt]ried to allocate ([\d.]+ ?[KMGTP]i?B)", str(error))
    return f" (it asked for {found.group(1)} at once)" if found else ""


class OutOfMemoryAsOneLine:
    """The one place a run's out-of-memory error becomes an :class:`OutOfMemory` naming the
    model and the ``--set`` options given (a width of 10**8 is a mistyped option, not a bug
    with a traceback). Inside the tracked run, so the run is still marked FAILED."""

    def __init__(self, model: str, device: str, overrides: dict[str, str]):
        self.model, self.device, self.overrides = model, device, overrides

    def __enter__(self) -> "OutOfMemoryAsOneLine":
        return self

    def __exit__(self, kind, error, trace) -> bool:
        if error is None or not isinstance(error, Exception) or not is_out_of_memory(error):
            return False
        sets = " ".join(f"--set {key}={value}" for key, value in self.overrides.items())
        given = f"with {sets}" if sets else "with its default options (no --set given)"
        message = (f"model {self.model!r} ran out of memory on {self.device}"
                   f"{_asked_for(error)} {given}; try smaller values")
        # the frames of the failed fit hold its tensors: let them go before MLflow is written
        error.__traceback__ = None
        raise OutOfMemory(message) from None
