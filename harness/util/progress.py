"""Progress bars (rich), silent when not attached to a terminal or when asked."""
from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)


class _SilentBar:
    def advance(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str) -> None:
        pass

    def __enter__(self) -> "_SilentBar":
        return self

    def __exit__(self, *exc) -> None:
        pass


def silent_bar() -> _SilentBar:
    return _SilentBar()


class _RichBar:
    def __init__(self, total: int | None, description: str, unit: str = ""):
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TaskProgressColumn(),
                                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                  TimeRemainingColumn(), transient=False,
                                  # stderr, the stream whose terminal decides it is shown:
                                  # stdout is for results, and may be piped
                                  console=Console(stderr=True))
        self._task = self._progress.add_task(description, total=total, rate="")
        self._unit = unit

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)
        if self._unit:
            task = self._progress.tasks[0]
            if task.speed:
                self._progress.update(self._task, rate=f"{task.speed:,.0f} {self._unit}/s")

    def set_description(self, text: str) -> None:
        self._progress.update(self._task, description=text)

    def __enter__(self) -> "_RichBar":
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()


def progress_enabled() -> bool:
    if os.environ.get("SLRBENCH_PROGRESS", "").lower() in ("0", "false", "off"):
        return False
    return sys.stderr.isatty() or os.environ.get("SLRBENCH_PROGRESS", "").lower() in ("1", "on")


def bar(total: int | None, description: str, unit: str = ""):
    """A progress bar, or a silent stand-in when output is not a terminal."""
    return _RichBar(total, description, unit) if progress_enabled() else _SilentBar()
