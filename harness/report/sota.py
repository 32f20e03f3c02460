"""The published state of the art (``datasets/sota.csv``) beside what was measured here,
only where the two are comparable: the same dataset and the same vocabulary."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.data.index import read_text_csv
from harness.errors import BadAnnotations
from harness.util.paths import manifests_dir
from harness.report.collect import Benchmark
from harness.report.headline import Headline
from harness.util.stats import MeanStd

COLUMNS = ("method", "inputs", "dataset", "vocab", "top1_per_instance", "top1_per_class",
           "source", "note")
INPUTS = ("pose", "RGB", "RGB+pose")
FIX = "each row needs method, inputs (pose, RGB or RGB+pose), dataset, vocab and a source"


def default_path() -> Path:
    return manifests_dir() / "sota.csv"


@dataclass(frozen=True)
class SotaRow:
    method: str
    inputs: str
    dataset: str
    vocab: int
    top1_per_instance: float     # percent; NaN when not published
    top1_per_class: float
    source: str
    note: str

    @property
    def key(self) -> tuple[str, int]:
        return dataset_key(self.dataset), self.vocab


def dataset_key(name: str) -> str:
    """``MS-ASL``, ``msasl`` and ``ms_asl`` are one dataset."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _percent(value, path: Path, line: int, column: str) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return math.nan
    try:
        number = float(value)
    except ValueError:
        raise BadAnnotations(f"{path}, line {line}: {column}={value!r} is not a number; "
                             "write accuracies in percent, e.g. 91.38") from None
    if not 0 <= number <= 100:
        raise BadAnnotations(f"{path}, line {line}: {column}={number} is outside 0-100; "
                             "write accuracies in percent, e.g. 91.38")
    return number


def load_sota(path: Path | None = None) -> list[SotaRow]:
    path = Path(path) if path else default_path()
    if not path.exists():
        raise BadAnnotations(f"{path} does not exist; restore datasets/sota.csv from the "
                             "repository or pass --sota PATH")
    if path.is_dir():
        raise BadAnnotations(f"{path} is a folder, not a CSV file; pass --sota PATH of a CSV "
                             f"whose header is {','.join(COLUMNS)}")
    table = read_text_csv(path, f"the header {','.join(COLUMNS)} (or pass another --sota)")
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise BadAnnotations(f"{path} lacks columns {missing}; its header must be "
                             f"{','.join(COLUMNS)}")
    rows = []
    for i, record in enumerate(table.to_dict("records"), start=2):
        blank = [c for c in ("method", "inputs", "dataset", "vocab", "source")
                 if not record[c].strip()]
        if blank:
            raise BadAnnotations(f"{path}, line {i}: empty {blank}; {FIX}")
        if record["inputs"] not in INPUTS:
            raise BadAnnotations(f"{path}, line {i}: inputs={record['inputs']!r}; use one of "
                                 f"{', '.join(INPUTS)}")
        if not record["vocab"].isdigit():
            raise BadAnnotations(f"{path}, line {i}: vocab={record['vocab']!r} is not a "
                                 "whole number of signs")
        instance = _percent(record["top1_per_instance"], path, i, "top1_per_instance")
        per_class = _percent(record["top1_per_class"], path, i, "top1_per_class")
        if math.isnan(instance) and math.isnan(per_class):
            raise BadAnnotations(f"{path}, line {i}: no accuracy; fill top1_per_instance "
                                 "or top1_per_class")
        rows.append(SotaRow(record["method"].strip(), record["inputs"], record["dataset"].strip(),
                            int(record["vocab"]), instance, per_class, record["source"].strip(),
                            record["note"].strip()))
    return rows


def _inputs(inputs: str) -> str:
    # what the model reads; which parts the landmarks hold (hands only, say) is the
    # benchmark's protocol, shown with its table
    return "RGB" if inputs == "video" else "landmarks"


@dataclass
class MeasuredRow:
    """A headline row of this report, as it stands beside published figures."""

    method: str
    inputs: str
    top1: MeanStd
    top1_interval: str
    per_class: MeanStd
    split: str
    coverage: str          # "100 of 258 (39 %)", or "" when the run did not record it


@dataclass
class SotaTable:
    dataset: str           # as the published rows spell it
    vocab: int
    published: list[SotaRow]
    measured: list[MeasuredRow]


def coverage_text(benchmark: Benchmark) -> str:
    parts = benchmark.coverage_parts()
    if parts is None:
        return ""
    present, official = parts
    return f"{present} / {official} ({100 * present / official:.0f} %)"


def comparable(published: list[SotaRow], headlines: list[Headline]
               ) -> tuple[list[SotaTable], int]:
    """One table per dataset and vocabulary measured here that has published figures; and
    how many published rows had nothing measured to stand beside."""
    tables: dict[tuple[str, int], SotaTable] = {}
    for headline in headlines:
        bench = headline.benchmark
        key = (dataset_key(bench.dataset), bench.vocab)
        rows = [p for p in published if p.key == key]
        if not rows:
            continue
        if key not in tables:
            rows.sort(key=lambda r: (-(r.top1_per_instance if not math.isnan(r.top1_per_instance)
                                       else -1), r.method))
            tables[key] = SotaTable(rows[0].dataset, bench.vocab, rows, [])
        for row in headline.rows:
            config = row.configuration
            top1 = row.uncertainty.intervals.get("top1")
            tables[key].measured.append(MeasuredRow(
                method=config.variant, inputs=_inputs(config.inputs),
                top1=config.stats["top1"],
                top1_interval="" if top1 is None else
                f"{100 * top1.low:.1f}–{100 * top1.high:.1f}",
                per_class=config.stats["class_acc"], split=bench.short_hash,
                coverage=coverage_text(bench)))
    shown = sum(len(t.published) for t in tables.values())
    return list(tables.values()), len(published) - shown
