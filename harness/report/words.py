"""Counts in words, as the report and its messages print them."""
from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """``1 run``, ``2 runs``: the noun singular for exactly one."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
