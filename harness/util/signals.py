"""SIGTERM handled like Ctrl-C, so that what a command leaves behind is cleaned up the same
way (an MLflow run marked KILLED, temporary files removed) whichever of them stops it."""
from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Callable, Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread was."""

    exit_code = 128 + signal.SIGTERM


@dataclass
class _Block:
    handler: Callable
    terminated: bool = False


# Each open sigterm_interrupts block, innermost last.
_OPEN: list[_Block] = []


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block SIGTERM raises :class:`Terminated`, and no interrupt is lost. Left
    alone where another part already handles SIGTERM (e.g. a sweep worker or Ray) or off the
    main thread."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def stop(signum, frame):
        block.terminated = True
        raise Terminated("stopped by SIGTERM")

    block = _Block(stop)
    previous = signal.signal(signal.SIGTERM, stop)
    _OPEN.append(block)
    try:
        with interrupts_never_swallowed():
            yield
    except KeyboardInterrupt as interrupt:
        if block.terminated and not isinstance(interrupt, Terminated):
            # e.g. raised again plain by Ray
            raise Terminated(*(interrupt.args or ("stopped by SIGTERM",))) from None
        raise
    finally:
        _OPEN.remove(block)
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupts_never_swallowed() -> Iterator[None]:
    """Within the block, a Ctrl-C (or SIGTERM) that lands in a finaliser is raised again
    (:func:`_interrupts_redelivered`). Every command runs in one: such a Ctrl-C while a
    run was still loading its data went unseen, and the run trained to its end."""
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _interrupts_redelivered(previous_hook)
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook


def interrupt_exit_code(interrupt: KeyboardInterrupt) -> int:
    """143 for SIGTERM, 130 for Ctrl-C. Ray's waits catch the handler's :class:`Terminated`
    and raise a plain KeyboardInterrupt in its place, so a SIGTERM the open block received
    counts too."""
    if isinstance(interrupt, Terminated) or any(block.terminated for block in _OPEN):
        return Terminated.exit_code
    return getattr(interrupt, "exit_code", 130)


def reclaim_sigterm() -> None:
    """Put the open block's SIGTERM handler back after a library replaced it: ``ray.init``
    installs its own, with which SIGTERM ended a Ray sweep at once (exit 1, a native stack
    dump) and left its runs RUNNING."""
    if _OPEN and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _OPEN[-1].handler)


def _interrupts_redelivered(previous: Callable) -> Callable:
    """A handler runs wherever the main thread is, and where that is a finaliser or a weakref
    callback (SQLAlchemy's, during training) Python prints the exception and carries on: the
    run would train to its end. Such an interrupt is raised again, at the next point where
    it can propagate: from another thread, since a handler raised from here would land in
    this hook, where it is swallowed again."""
    def hook(unraisable) -> None:
        error = unraisable.exc_value
        if not isinstance(error, KeyboardInterrupt):
            previous(unraisable)
            return
        signum = signal.SIGTERM if isinstance(error, Terminated) else signal.SIGINT
        again = threading.Timer(REDELIVERY_SECONDS, _thread.interrupt_main, (signum,))
        again.daemon = True
        again.start()
    return hook


# Long enough for the finaliser that swallowed it to return, short beside any user's patience.
REDELIVERY_SECONDS = 0.05
