"""Mean ± std over seeds (harness.util.stats): the sweep's table and its live view."""
from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest

from harness.sweep.plan import summarise
from harness.util.stats import MeanStd, format_mean_std


def test_sample_std_and_missing_values():
    values = [0.81, 0.84, 0.79, None, float("nan")]
    stat = MeanStd.of(values)
    assert stat.n == 3 and stat.known
    assert stat.mean == pytest.approx(statistics.mean([0.81, 0.84, 0.79]), abs=1e-15)
    assert stat.std == pytest.approx(statistics.stdev([0.81, 0.84, 0.79]), abs=1e-15)
    assert stat.format() == "0.813 ± 0.025"
    one = MeanStd.of([0.5])
    assert (one.n, one.mean) == (1, 0.5) and math.isnan(one.std) and one.format() == "0.500"
    none = MeanStd.of([None, float("nan")])
    assert not none.known and none.format() == "-"
    assert format_mean_std(12.345, 0.5, 1) == "12.3 ± 0.5"
    assert format_mean_std(float("nan"), 0.1) == "-"


def test_the_sweep_summary_uses_it_per_cell():
    runs = pd.DataFrame({
        "model": ["m"] * 4, "dataset": ["d"] * 4, "vocab": [10] * 4, "seed": [0, 1, 2, 3],
        "status": ["finished", "skipped", "finished", "failed"],
        "test_top1": [0.5, 0.6, 0.7, 0.9], "test_top5": [0.9, 1.0, float("nan"), 1.0],
        "test_mean_class_accuracy": 0.5, "test_macro_f1": 0.4, "train_seconds": 3.0})
    [cell] = summarise(runs).to_dict("records")
    assert (cell["seeds"], cell["planned"]) == (3, 4)              # the failed run is left out
    assert cell["test_top1_mean"] == pytest.approx(0.6)
    assert cell["test_top1_std"] == pytest.approx(statistics.stdev([0.5, 0.6, 0.7]))
    assert cell["test_top5_mean"] == pytest.approx(0.95)           # NaN is no run, not zero
    assert cell["train_seconds_std"] == 0.0


def test_the_sweep_table_prints_mean_and_std():
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from harness.sweep.view import summary_table
    runs = pd.DataFrame({"model": ["m"] * 3, "dataset": ["d"] * 3, "vocab": [10] * 3,
                         "seed": [0, 1, 2], "status": ["finished"] * 2 + ["failed"],
                         "test_top1": [0.5, 0.7, 0.9], "test_top5": [0.9, 1.0, 1.0],
                         "test_mean_class_accuracy": 0.5, "test_macro_f1": 0.4,
                         "train_seconds": [3.0, 5.0, 1.0]})
    result = SimpleNamespace(counts={"finished": 2, "failed": 1}, runs=runs,
                             summary=summarise(runs))
    console = Console(file=io.StringIO(), width=200)
    console.print(summary_table(result))
    printed = console.file.getvalue()
    assert "0.600 ± 0.141" in printed and "0.950 ± 0.071" in printed
    assert "4.0 ± 1.4" in printed and "2/3" in printed


def test_infinite_or_huge_values_give_a_mean_and_spread_not_an_error():
    # [inf, -inf] was fsum's ValueError, [1e200, -1e200] an OverflowError, in the report
    assert MeanStd.of([float("inf"), float("-inf"), 0.5]) == MeanStd(0.5, math.nan, 1)
    huge = MeanStd.of([1e200, -1e200])
    assert huge.mean == 0.0 and math.isclose(huge.std, math.sqrt(2) * 1e200)
    assert MeanStd.of([0.5, 0.7]).std == pytest.approx(0.1414213562373095, abs=1e-15)
