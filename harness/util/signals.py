"""SIGTERM handled like Ctrl-C, so that what a command leaves behind is cleaned up the same
way (an MLflow run marked KILLED, temporary files removed) whichever of them stops it."""
from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
from typing import Callable, Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread was."""

    exit_code = 128 + signal.SIGTERM


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
        raise Terminated("stopped by SIGTERM")

    previous = signal.signal(signal.SIGTERM, stop)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _interrupts_redelivered(previous_hook)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook


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
