"""The published state of the art (``datasets/sota.csv``) beside what was measured here."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.errors import BadAnnotations
from harness.util.paths import manifests_dir
from harness.report.collect import SplitGroup

COLUMNS = ("method", "inputs", "dataset", "vocab", "top1_per_instance", "top1_per_class",
           "source", "note")
INPUTS = ("pose", "RGB", "RGB+pose")
MEASURED_NOTE = "measured here"
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
    measured: bool = False

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
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise BadAnnotations(f"{path} is not a readable CSV ({str(error).splitlines()[0]}); "
                             f"its header must be {','.join(COLUMNS)}") from None
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
    return "RGB" if inputs == "video" else "pose"


def measured_rows(groups: list[SplitGroup]) -> list[SotaRow]:
    """Best mean top-1 of each model per dataset and vocabulary, over splits and variants."""
    best: dict[tuple[str, str, int], tuple[float, SotaRow]] = {}
    for group in groups:
        for entry in group.entries:
            top1 = entry.stats["top1"]
            if not top1.known:
                continue
            per_class = entry.stats["class_acc"]
            runs = f"{top1.n} seeds (± {100 * top1.std:.1f})" if top1.n > 1 else "1 run"
            row = SotaRow(
                method=entry.variant, inputs=_inputs(entry.inputs), dataset=group.dataset,
                vocab=group.vocab, top1_per_instance=100 * top1.mean,
                top1_per_class=100 * per_class.mean if per_class.known else math.nan,
                source=f"this report: {runs}, split {group.short_hash[:8]}",
                note=MEASURED_NOTE, measured=True)
            key = (entry.model, dataset_key(group.dataset), group.vocab)
            if key not in best or top1.mean > best[key][0]:
                best[key] = (top1.mean, row)
    return [row for _, row in best.values()]


def combined(published: list[SotaRow], measured: list[SotaRow]) -> list[SotaRow]:
    """Published and measured rows of each dataset/vocabulary together, best first."""
    def order(row: SotaRow):
        score = row.top1_per_instance if not math.isnan(row.top1_per_instance) else -1
        return row.key, row.measured, -score, row.method
    return sorted([*published, *measured], key=order)
