"""What every benchmark script shares: where results go, printing and logging a table.

Benchmarks print their figures as a table and log them to MLflow (experiment
``benchmark-<name>``, one run per invocation, the table as a CSV artifact and every numeric
cell as a metric ``<row label>.<column>``). Model runs made by a benchmark go to the same
store, so ``slrbench report --tracking-uri`` on it shows them.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` from a checkout
    sys.path.insert(0, str(ROOT))

from harness.util.quiet import silence_native_logs  # noqa: E402

silence_native_logs()

RESULTS_DIR = ROOT / "benchmarks" / "results"


def default_tracking_uri() -> str:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    return os.environ.get("SLRBENCH_BENCHMARK_URI", f"sqlite:///{RESULTS_DIR / 'mlruns.db'}")


def argument_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow store for results (default benchmarks/results/mlruns.db)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes, for a smoke run of the script itself")
    return parser


def print_table(title: str, rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table
    table = Table(title=title, show_lines=False)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    for column in columns:
        table.add_column(str(column), justify="right")
    for row in rows:
        table.add_row(*[_format(row.get(column, "")) for column in columns])
    Console(width=200).print(table)


def _format(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def _metric_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", text)[:240]


def log_table(name: str, rows: list[dict], label_columns: tuple[str, ...],
              tracking_uri: str | None = None, params: dict | None = None) -> str:
    """Log ``rows`` as one MLflow run of experiment ``benchmark-<name>``; returns its id."""
    from harness.run.tracking import TrackedRun
    uri = tracking_uri or default_tracking_uri()
    with TrackedRun(uri, f"benchmark-{name}", name, {"slrbench.benchmark": name}) as run, \
            tempfile.TemporaryDirectory() as work:
        run.log_params(params or {})
        metrics = {}
        for row in rows:
            label = "/".join(str(row.get(c, "")) for c in label_columns)
            for key, value in row.items():
                if key in label_columns or not isinstance(value, (int, float)):
                    continue
                if isinstance(value, float) and math.isnan(value):
                    continue
                metrics[_metric_key(f"{label}.{key}")] = float(value)
        if metrics:
            run.log_metrics(metrics)
        path = Path(work) / f"{name}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        run.log_artifact(path)
        return run.run_id


def report(name: str, title: str, rows: list[dict], label_columns: tuple[str, ...],
           tracking_uri: str | None = None, params: dict | None = None) -> None:
    print_table(title, rows)
    run_id = log_table(name, rows, label_columns, tracking_uri, params)
    print(f"logged to MLflow run {run_id} ({tracking_uri or default_tracking_uri()})")
