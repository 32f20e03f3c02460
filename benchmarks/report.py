"""Regenerate the published comparison report from the benchmark store.

Reads every finished model run in the benchmark store (``benchmarks/results/mlruns.db``,
where the benchmark scripts and sweeps log) and writes ``reports/slrbench-shipped.html``
with its ``.csv`` and ``.tex`` beside it, then prints what it wrote and the page's size
against the 2 MiB budget of a mailed, committed report.

    python benchmarks/report.py [--tracking-uri URI] [--out reports/slrbench-shipped.html]
                                [--experiment NAME ...]
"""
from __future__ import annotations

import sys
from pathlib import Path

from common import ROOT, RESULTS_DIR

from harness.errors import SlrbenchError
from harness.report.build import ReportConfig, build_report
from harness.run.tracking import local_store_path

PUBLISHED = ROOT / "reports" / "slrbench-shipped.html"
BUDGET_BYTES = 2 * 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default=f"sqlite:///{RESULTS_DIR / 'mlruns.db'}",
                        help="MLflow store to read (default benchmarks/results/mlruns.db)")
    parser.add_argument("--out", type=Path, default=PUBLISHED,
                        help="the HTML file; .csv and .tex go beside it")
    parser.add_argument("--experiment", action="append", default=[],
                        help="only this experiment (repeatable; default all)")
    args = parser.parse_args(argv)
    store = local_store_path(args.tracking_uri)
    if store is not None and not store.exists():
        print(f"error: {store} does not exist; run the benchmarks first (e.g. "
              "`python benchmarks/seeds.py`) or pass --tracking-uri", file=sys.stderr)
        return 2
    command = "python benchmarks/report.py" + "".join(f" --experiment {e}"
                                                      for e in args.experiment)
    config = ReportConfig(out=args.out, tracking_uri=args.tracking_uri,
                          experiments=tuple(args.experiment), command=command)
    try:
        files = build_report(config, on_event=lambda message: print(message, file=sys.stderr))
    except SlrbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size = files.html_bytes
    print(f"report of {files.runs} runs, {files.benchmarks} benchmarks: {files.html} "
          f"({size / 2**20:.2f} MiB, budget {BUDGET_BYTES / 2**20:.0f} MiB"
          f"{'' if size < BUDGET_BYTES else ', OVER BUDGET'})")
    print(f"tables: {files.csv}, {files.tex}")
    return 0 if size < BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
