"""An interrupt that lands in a finaliser is raised again, not swallowed (a SIGTERM caught
inside SQLAlchemy's weakref callback once let a run train on for its 500 epochs)."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from harness.util.signals import Terminated, interrupt_exit_code, sigterm_interrupts


class SignalledWhileFinalised:
    """Its finaliser receives ``signum``: the handler's exception is raised inside it."""

    def __init__(self, signum: int):
        self.signum = signum

    def __del__(self):
        if not callable(signal.getsignal(self.signum)):
            return                              # never the test process's own default
        os.kill(os.getpid(), self.signum)
        busy_for(0.5)                           # the handler runs here, in the finaliser


@pytest.fixture
def command_line_handlers():
    """The handlers a fresh ``slrbench`` process starts with; an earlier test in this
    process may have left others (Ray's driver installs one for SIGTERM)."""
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
                signal.SIGTERM: signal.signal(signal.SIGTERM, signal.SIG_DFL),
                signal.SIGHUP: signal.signal(signal.SIGHUP, signal.SIG_DFL)}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def busy_for(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


@pytest.mark.parametrize("signum, error", [(signal.SIGTERM, Terminated),
                                           (signal.SIGHUP, Terminated),
                                           (signal.SIGINT, KeyboardInterrupt)])
def test_an_interrupt_swallowed_by_a_finaliser_is_raised_again(signum, error,
                                                            command_line_handlers):
    started = time.monotonic()
    with pytest.raises(error):
        with sigterm_interrupts():
            SignalledWhileFinalised(signum)     # collected at once
            busy_for(10)
    assert time.monotonic() - started < 5       # raised after the finaliser, not at 10 s


def test_a_closed_terminal_stops_like_sigterm_unless_nohup_ignores_it(command_line_handlers):
    """SIGHUP (a closed terminal, a dropped ssh session) killed a run outright and left it
    RUNNING; inside the block it is raised as Terminated, exit 129, and the handlers are put
    back on leaving. Under nohup it stays ignored."""
    with pytest.raises(Terminated) as hangup:
        with sigterm_interrupts():
            os.kill(os.getpid(), signal.SIGHUP)
            busy_for(5)
    assert hangup.value.exit_code == 129 == interrupt_exit_code(hangup.value)
    assert str(hangup.value) == "stopped by SIGHUP"
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    import pickle
    again = pickle.loads(pickle.dumps(hangup.value))
    assert isinstance(again, Terminated) and again.exit_code == 129

    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with sigterm_interrupts():
        os.kill(os.getpid(), signal.SIGHUP)
        busy_for(0.2)                           # ignored: nothing is raised
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


def test_other_unraisable_errors_still_reach_the_previous_hook(monkeypatch,
                                                              command_line_handlers):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)

    class Broken:
        def __del__(self):
            raise ValueError("broken finaliser")

    with sigterm_interrupts():
        Broken()
    assert [type(u.exc_value) for u in seen] == [ValueError]
    assert sys.unraisablehook == seen.append        # put back on leaving
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_sigterm_raised_again_as_a_plain_interrupt_still_counts_as_sigterm(
        command_line_handlers):
    """Ray's waits catch the handler's Terminated and raise a plain KeyboardInterrupt."""
    codes = []
    with pytest.raises(Terminated):
        with sigterm_interrupts():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                busy_for(5)
            except KeyboardInterrupt:
                try:
                    raise KeyboardInterrupt from None          # what Ray does with it
                except KeyboardInterrupt as plain:
                    codes.append(interrupt_exit_code(plain))
                    raise
    with pytest.raises(KeyboardInterrupt) as ctrl_c:
        with sigterm_interrupts():
            raise KeyboardInterrupt
    assert codes == [143] and interrupt_exit_code(ctrl_c.value) == 130
    assert not isinstance(ctrl_c.value, Terminated)


# A command of slrbench's group whose finaliser receives Ctrl-C before any run has begun.
PROBE = """
import os, signal, sys, time
import click
from harness.cli import main

class Finalised:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            pass                                # the handler raises here, in the finaliser

@main.command("probe")
def probe():
    Finalised()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pass
    click.echo("carried on")

signal.signal(signal.SIGINT, signal.default_int_handler)
main(["probe"])
"""


def test_a_command_stops_on_a_ctrl_c_a_finaliser_swallowed_outside_any_run(tmp_path):
    """Every command runs in the redelivering hook, not only a run's tracked block: a Ctrl-C
    that SQLAlchemy's weakref callback swallowed while a run was still loading its data
    once let it train to its end (exit 0). In a process of its own: the interrupt ends the
    process it lands in."""
    import subprocess

    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 130 and "carried on" not in done.stdout, done.stderr
    assert time.monotonic() - started < 9


# A command of slrbench's group that is signalled while it writes a file atomically, as
# `report` or `export` does; the folder to write in comes in SLRBENCH_PROBE_DIR.
WRITING_PROBE = """
import os, signal, sys, time
from pathlib import Path
import click
from harness.cli import main
from harness.util.atomic import atomic_path

@main.command("probe")
def probe():
    with atomic_path(Path(os.environ["SLRBENCH_PROBE_DIR"]) / "comparison.html") as tmp:
        tmp.write_text("half a report")
        os.kill(os.getpid(), int(os.environ["SLRBENCH_PROBE_SIGNAL"]))
        time.sleep(10)
    click.echo("carried on")

main(["probe"])
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_every_command_stops_on_sigterm_or_a_closed_terminal_and_cleans_up(tmp_path, signum):
    """Not only runs, sweeps and extraction: a report or an export killed by SIGTERM or
    SIGHUP used to leave its temporary file behind."""
    import subprocess

    script, out = tmp_path / "probe.py", tmp_path / "out"
    script.write_text(WRITING_PROBE)
    out.mkdir()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[1],
                          env={**os.environ, "SLRBENCH_PROBE_DIR": str(out),
                               "SLRBENCH_PROBE_SIGNAL": str(int(signum))},
                          preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL))
    assert done.returncode == 128 + signum, done.stderr
    assert f"stopped by {signal.Signals(signum).name}" in done.stderr
    assert "carried on" not in done.stdout and "Traceback" not in done.stderr
    assert list(out.iterdir()) == []
