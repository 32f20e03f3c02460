"""What a sweep shows: a live grid while it runs, the mean ± std table when it is done.

On a terminal the grid is a rich Live table (one row per model x dataset x vocabulary cell,
with done/running/failed counts and the top-1 so far); elsewhere (CI logs, pipes) each
ended run is one line on stderr.
"""
from __future__ import annotations

import collections
import time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from harness.util.stats import MeanStd, format_mean_std

STATUS_STYLE = {"finished": "green", "skipped": "dim", "failed": "red", "crashed": "red",
                "killed": "yellow"}


def _seconds(value: float) -> str:
    minutes, seconds = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


class SweepView:
    def __init__(self, points: list, backend: str, live: bool = True,
                 console: Console | None = None):
        self.points = points
        self.backend = backend
        # soft_wrap: one run per line in logs, however narrow the pipe's assumed width
        self.console = console or Console(stderr=True, soft_wrap=not live)
        self.started = time.monotonic()
        self._live = Live(self._render(), console=self.console, refresh_per_second=2,
                          transient=False) if live else None

    def __enter__(self) -> "SweepView":
        self.started = time.monotonic()
        if self._live is not None:
            self._live.start()
        else:
            self.console.print(self._headline(), highlight=False)
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.stop()

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render())

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def note(self, point, outcome, retry: bool = False) -> None:
        """One ended run: always printed when it went wrong, else only without the table."""
        bad = outcome.status not in ("finished",)
        if retry:
            line = f"[yellow]retrying[/] {point.label}: {outcome.error}"
        elif bad:
            line = (f"[{STATUS_STYLE.get(outcome.status, 'red')}]{outcome.status}[/] "
                    f"{point.label}: {outcome.error}")
        else:
            top1 = outcome.metrics.get("test_top1", float("nan"))
            line = (f"[green]finished[/] {point.label}: test top-1 {top1:.3f} in "
                    f"{outcome.seconds:.0f} s (run {outcome.run_id})")
        if self._live is None:
            done = sum(p.status in ("finished", "skipped") for p in self.points)
            line = f"[{done}/{len(self.points)}] " + line
        if bad or retry or self._live is None:
            self.console.print(line, highlight=False)
        self.refresh()

    def _headline(self) -> str:
        counts = collections.Counter(p.status for p in self.points)
        waiting = counts["pending"]
        return (f"sweep on {self.backend}: {len(self.points)} runs - "
                f"{counts['finished']} done, {counts['running']} running, "
                f"{waiting} waiting, {counts['skipped']} skipped (already in MLflow), "
                f"{counts['failed'] + counts['crashed'] + counts['killed']} failed - "
                f"{_seconds(time.monotonic() - self.started)}")

    def _render(self):
        table = Table(show_edge=False, pad_edge=False)
        for name, justify in (("model", "left"), ("dataset", "left"), ("vocab", "right"),
                              ("done", "right"), ("running", "right"), ("failed", "right"),
                              ("test top-1 so far", "right")):
            table.add_column(name, justify=justify)
        cells: dict[tuple, list] = {}
        for point in self.points:
            cells.setdefault(point.cell, []).append(point)
        for (model, dataset, vocab), points in cells.items():
            statuses = collections.Counter(p.status for p in points)
            done = statuses["finished"] + statuses["skipped"]
            failed = statuses["failed"] + statuses["crashed"] + statuses["killed"]
            so_far = MeanStd.of(p.metrics.get("test_top1") for p in points
                                if p.status in ("finished", "skipped")).format()
            table.add_row(model, dataset, str(vocab), f"{done}/{len(points)}",
                          str(statuses["running"] or ""),
                          Text(str(failed), style="red") if failed else "", so_far)
        return Group(Text(self._headline(), style="bold"), table)


def summary_table(result, title: str | None = None) -> Table:
    """Mean ± std over seeds of test top-1 and top-5 for every cell of a sweep."""
    counts = result.counts
    title = title or (f"{len(result.runs)} runs: " + ", ".join(
        f"{n} {status}" for status, n in sorted(counts.items())))
    table = Table(title=title, title_justify="left")
    for name, justify in (("model", "left"), ("dataset", "left"), ("vocab", "right"),
                          ("seeds", "right"), ("test top-1", "right"),
                          ("test top-5", "right"), ("train s", "right")):
        table.add_column(name, justify=justify)
    for _, cell in result.summary.iterrows():
        seeds = f"{cell['seeds']}/{cell['planned']}"
        table.add_row(cell["model"], cell["dataset"], str(cell["vocab"]),
                      seeds if cell["seeds"] == cell["planned"] else Text(seeds, style="yellow"),
                      format_mean_std(cell["test_top1_mean"], cell["test_top1_std"]),
                      format_mean_std(cell["test_top5_mean"], cell["test_top5_std"]),
                      format_mean_std(cell["train_seconds_mean"], cell["train_seconds_std"], 1))
    return table


def failure_lines(result) -> list[str]:
    lines = []
    for _, run in result.failed.iterrows():
        where = f" (MLflow run {run['run_id']})" if isinstance(run["run_id"], str) else ""
        lines.append(f"{run['status']}: {run['model']} on {run['dataset']}-{run['vocab']} "
                     f"seed {run['seed']}{where}: {run['error']}")
    return lines
