"""SIGTERM and SIGHUP handled like Ctrl-C, so that what a command leaves behind is cleaned
up the same way (an MLflow run marked KILLED, temporary files removed) whichever of them
stops it: ``kill PID`` or a scheduler ending the job, a closed terminal or a dropped ssh
session."""
from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Callable, Iterator


# Each is handled only where it still has its default action: under nohup, SIGHUP stays
# ignored.
STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP, ``signum``), raised where the main thread was."""

    def __init__(self, *args, signum: int = signal.SIGTERM):
        super().__init__(*args)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __reduce__(self):        # crosses process boundaries (Ray) with its signal
        return (_terminated, (self.args, self.signum))


def _terminated(args: tuple, signum: int) -> Terminated:
    return Terminated(*args, signum=signum)


@dataclass
class _Block:
    handler: Callable
    signals: tuple[int, ...] = ()       # those it handles
    signum: int | None = None           # the stopping signal received, if any


# Each open sigterm_interrupts block, innermost last.
_OPEN: list[_Block] = []


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block SIGTERM and SIGHUP raise :class:`Terminated`, and no interrupt is
    lost. Left alone where another part already handles SIGTERM (e.g. a sweep worker or
    Ray) or off the main thread; SIGHUP only where it has its default action."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def stop(signum, frame):
        block.signum = signum
        raise Terminated(f"stopped by {signal.Signals(signum).name}", signum=signum)

    block = _Block(stop)
    previous = {signum: signal.signal(signum, stop) for signum in STOPPING_SIGNALS
                if signal.getsignal(signum) is signal.SIG_DFL}
    block.signals = tuple(previous)
    _OPEN.append(block)
    try:
        with interrupts_never_swallowed():
            yield
    except KeyboardInterrupt as interrupt:
        if block.signum is not None and not isinstance(interrupt, Terminated):
            # e.g. raised again plain by Ray
            name = signal.Signals(block.signum).name
            raise Terminated(*(interrupt.args or (f"stopped by {name}",)),
                             signum=block.signum) from None
        raise
    finally:
        _OPEN.remove(block)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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
    """143 for SIGTERM, 129 for SIGHUP, 130 for Ctrl-C. Ray's waits catch the handler's
    :class:`Terminated` and raise a plain KeyboardInterrupt in its place, so a signal the
    open block received counts too."""
    if isinstance(interrupt, Terminated):
        return interrupt.exit_code
    received = [block.signum for block in _OPEN if block.signum is not None]
    if received:
        return 128 + received[-1]
    return getattr(interrupt, "exit_code", 130)


def resource_tracker_deaf_to_hangups() -> None:
    """multiprocessing's resource tracker ignores Ctrl-C and SIGTERM but not SIGHUP: a
    closed terminal killed it, and a pool's exit printed its successor's tracebacks.
    Started here with SIGHUP blocked, it keeps it blocked (a mask survives exec); this
    process gets a SIGHUP that came meanwhile once it is unblocked. Call before a
    spawn-context process pool starts."""
    from multiprocessing import resource_tracker
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})


def reclaim_sigterm() -> None:
    """Put the open block's SIGTERM (and SIGHUP) handler back after a library replaced it:
    ``ray.init`` installs its own, with which SIGTERM ended a Ray sweep at once (exit 1, a
    native stack dump) and left its runs RUNNING."""
    if _OPEN and threading.current_thread() is threading.main_thread():
        for signum in _OPEN[-1].signals:
            signal.signal(signum, _OPEN[-1].handler)


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
        signum = error.signum if isinstance(error, Terminated) else signal.SIGINT
        again = threading.Timer(REDELIVERY_SECONDS, _thread.interrupt_main, (signum,))
        again.daemon = True
        again.start()
    return hook


# Long enough for the finaliser that swallowed it to return, short beside any user's patience.
REDELIVERY_SECONDS = 0.05
