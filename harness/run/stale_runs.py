"""Runs MLflow shows RUNNING: still running, or stale because their process is gone.

A process killed with SIGKILL (or by the out-of-memory killer, or with its machine) cannot
mark its run; the run stays RUNNING in the store. Every run records its process
(:func:`harness.util.process.identity`), so a RUNNING run whose process no longer exists on
this machine is stale: ``slrbench runs`` shows it, ``slrbench runs --clean-stale`` and every
sweep mark it FAILED.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from harness.run.tracking import TAG, client, load_runs
from harness.util.process import ALIVE, GONE, state


@dataclass(frozen=True)
class RunningRun:
    run_id: str
    model: str
    dataset: str
    vocab: str
    seed: str
    pid: str
    host: str
    owner: str                     # ALIVE, GONE or UNKNOWN (see harness.util.process)

    def describe(self) -> str:
        where = f"pid {self.pid} on {self.host}"
        if self.owner == ALIVE:
            return f"RUNNING ({where})"
        if self.owner == GONE:
            return (f"STALE: its process ({where}) is gone; `slrbench runs --clean-stale` "
                    "marks it FAILED")
        if not self.pid:
            return "RUNNING (no process recorded: started by an older slrbench)"
        return f"RUNNING ({where}; that machine's processes cannot be checked from here)"


def _tag(row: pd.Series, name: str) -> str:
    value = row.get(f"tags.{TAG}{name}")
    return "" if value is None or pd.isna(value) else str(value)


def running_runs(uri: str | None = None,
                 experiments: Iterable[str] | None = None) -> list[RunningRun]:
    runs = load_runs(uri, experiments, finished_only=False)
    if runs.empty:
        return []
    running = runs[runs["status"] == "RUNNING"]
    return [RunningRun(run_id=row["run_id"], model=_tag(row, "model"),
                       dataset=_tag(row, "dataset"), vocab=_tag(row, "vocab"),
                       seed=_tag(row, "seed"), pid=_tag(row, "pid"), host=_tag(row, "host"),
                       owner=state(_tag(row, "pid"), _tag(row, "host"),
                                   _tag(row, "process_start")))
            for _, row in running.iterrows()]


def fail_stale_runs(uri: str | None = None,
                    experiments: Iterable[str] | None = None) -> list[RunningRun]:
    """Mark FAILED every RUNNING run whose process is gone; returns them."""
    stale = [run for run in running_runs(uri, experiments) if run.owner == GONE]
    if stale:
        mlflow_client, _ = client(uri, writes=True)
        for run in stale:
            mlflow_client.set_tag(run.run_id, TAG + "error",
                                  f"its process (pid {run.pid} on {run.host}) is gone: killed "
                                  "or crashed while the run was RUNNING; marked FAILED")
            mlflow_client.set_terminated(run.run_id, "FAILED")
    return stale
