"""Who runs a command: this process's identity, and whether a recorded one still runs.

A run records its process (pid, host, and when the process started) so that a run left
RUNNING by a process that was killed (SIGKILL, out of memory, a lost machine) can be told
from one that is still running: a pid alone may have been reused by a later process.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

ALIVE, GONE, UNKNOWN = "alive", "gone", "unknown"


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, Linux ``/proc``); ``""`` where
    this system does not say; ``None`` when there is no such process (or only its zombie)."""
    if Path("/proc/self/stat").exists():
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return None
        except OSError:
            return ""
        # fields after the command name (which may hold spaces): state is field 3,
        # starttime field 22
        fields = text.rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else fields[19]
    try:                       # no /proc: existence is all that can be told
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


def identity() -> dict[str, str]:
    """This process: ``pid``, ``host`` and ``process_start``."""
    return {"pid": str(os.getpid()), "host": socket.gethostname(),
            "process_start": process_start(os.getpid()) or ""}


def state(pid: str | None, host: str | None, started: str | None) -> str:
    """ALIVE, GONE, or UNKNOWN (no pid recorded, or another machine's process)."""
    if not pid or not str(pid).isdigit() or host != socket.gethostname():
        return UNKNOWN
    now = process_start(int(pid))
    if now is None:
        return GONE
    return GONE if started and now and now != started else ALIVE
