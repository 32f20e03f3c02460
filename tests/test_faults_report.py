"""``slrbench report`` on faults: an --out where the report cannot be written (one line,
exit 2, and the old report, HTML, CSV and LaTeX, left whole rather than half replaced; issue
14), and a run whose predictions.csv is cut short or damaged (the report leaves it out of the
intervals and the paired test, as if it had none, and says why)."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest
import torch

from harness.report.build import ReportFiles
from harness.report.uncertainty import unusable
from harness.run.runner import RunConfig, run_experiment
from harness.util import atomic
from tests.faults import assert_cli_error, baseline_run, cli, fill, tmpfs  # noqa: F401

NAMES = ("comparison.html", "comparison.csv", "comparison.tex")


@pytest.fixture
def tracked(baseline_run) -> str:
    return baseline_run[0]


def report(uri: str, out: Path):
    return cli("report", "--tracking-uri", uri, "--out", out)


def test_read_only_out(tracked, tmp_path):
    with tmpfs(tmp_path / "locked", size="1m", read_only=True) as locked:
        assert_cli_error(report(tracked, locked / "comparison.html"), str(locked), "read-only")


def test_out_under_a_file(tracked, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    assert_cli_error(report(tracked, tmp_path / "afile" / "comparison.html"),
                     str(tmp_path / "afile"), "not a folder")


@pytest.mark.slow
def test_full_disk_keeps_the_old_report_whole(tracked, tmp_path):
    with tmpfs(tmp_path / "disk", size="2m") as disk:
        for name in NAMES:
            (disk / name).write_text(f"old {name}\n")
        fill(disk, leave=16 * 1024)          # the small tables fit, the HTML page does not
        assert_cli_error(report(tracked, disk / "comparison.html"), "space")
        assert [(disk / name).read_text() for name in NAMES] == [f"old {n}\n" for n in NAMES]
        assert sorted(p.name for p in disk.iterdir()) == sorted([*NAMES, "filler"])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_folder_in_place_of_a_table_keeps_the_old_report_whole(tracked, tmp_path):
    out = tmp_path / "t3" / "x.html"
    assert report(tracked, out).exit_code == 0
    (out.with_suffix(".csv")).unlink()
    out.with_suffix(".csv").mkdir()
    before = _snapshot(out.parent)
    line = assert_cli_error(cli("report", "--tracking-uri", tracked, "--out", out,
                                "--title", "Another report"),
                            f"{out.with_suffix('.csv')} is a folder")
    assert ".tmp" not in line
    assert _snapshot(out.parent) == before          # x.html and x.tex not replaced
    assert sorted(p.name for p in out.parent.iterdir()) == ["x.csv", "x.html", "x.tex"]


@pytest.mark.parametrize("blocked", ["x.html", "x.tex"])
def test_an_out_that_is_a_folder_is_refused_before_the_report_is_computed(tracked, tmp_path,
                                                                           blocked):
    folder = tmp_path / "t3"
    (folder / blocked).mkdir(parents=True)
    result = cli("report", "--tracking-uri", tracked, "--out", folder / "x.html")
    line = assert_cli_error(result, f"{folder / blocked} is a folder")
    assert ".tmp" not in line
    assert "intervals:" not in result.output        # refused before any work
    assert sorted(p.name for p in folder.rglob("*")) == [blocked]


def test_a_rename_failing_halfway_puts_back_the_files_already_replaced(tmp_path, monkeypatch):
    targets = [tmp_path / name for name in NAMES]
    for target in targets[1:]:                  # the first is new: it must not stay alone
        target.write_text(f"old {target.name}")
    renames = []
    real_replace = os.replace

    def replace(source, target):
        renames.append(target)
        if len(renames) == 2:       # the second rename: a folder appeared meanwhile
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(source), None,
                                    str(target))
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(IsADirectoryError) as raised:
        atomic.write_texts({t: f"new {t.name}" for t in targets})
    assert raised.value.filename == str(targets[1])   # the target, not its temporary
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert [t.read_text() for t in targets[1:]] == [f"old {t.name}" for t in targets[1:]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES[1:])


def test_one_run_and_one_benchmark_are_singular(tracked, tmp_path):
    result = report(tracked, tmp_path / "one.html")
    assert result.exit_code == 0, result.output
    assert "1 run, 1 benchmark\n" in result.output
    files = ReportFiles(tmp_path / "one.html", tmp_path / "one.csv", tmp_path / "one.tex", 1)
    assert files.summary.startswith("report of 1 run: ")


# Damage done to a run's predictions.csv: (what to do to its text, why the report says it is
# unusable).
DAMAGE = {
    "truncated": (lambda text: "".join(text.splitlines(keepends=True)[:11]),
                  "10 rows for the run's {n} test clips"),
    "cut_mid_row": (lambda text: text[:text.index("\n") + 20],   # the header, part of a row
                    "1 row for the run's {n} test clips"),
    "blank_clip_id": (lambda text: _blank_first_field(text, line=4),
                      "1 malformed or incomplete row (the first on line 4)"),
}


def _blank_first_field(text: str, line: int) -> str:
    lines = text.splitlines(keepends=True)
    lines[line - 1] = "," + lines[line - 1].split(",", 1)[1]
    return "".join(lines)


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """Two real models on the same asl-signs split: pooled_logreg and a small keyframe_mlp,
    so the report has a paired test (a few seconds)."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("two-models")
    uri = f"sqlite:///{folder}/mlruns.db"
    plans = [dict(model="pooled_logreg"),
             dict(model="keyframe_mlp", overrides={"epochs": "3", "hidden1": "64,32",
                                                   "hidden2": "64,32"})]
    results = [run_experiment(RunConfig(tracking_uri=uri, dataset="asl-signs", latency_clips=3,
                                        **plan)) for plan in plans]
    return uri, folder, results


def _predictions_file(folder: Path, run_id: str) -> Path:
    [path] = list(folder.glob(f"mlartifacts/*/{run_id}/artifacts/predictions.csv"))
    return path


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_predictions_count_as_none(two_models, tmp_path, damage):
    uri, folder, (logreg, keyframe) = two_models
    path = _predictions_file(folder, keyframe.run_id)
    whole = path.read_text(encoding="utf-8")
    clips = len(whole.splitlines()) - 1
    cut, why = DAMAGE[damage]
    try:
        path.write_text(cut(whole), encoding="utf-8")
        out = tmp_path / "cmp.html"
        result = report(uri, out)
    finally:
        path.write_text(whole, encoding="utf-8")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8").replace("&#39;", "'")
    assert (f"Runs without a usable predictions.csv count in mean ± std but not in the "
            f"intervals or the paired test: {keyframe.run_id[:8]} ({why.format(n=clips)})."
            ) in text
    assert "shared test clip" not in text          # no paired test on part of the clips
    assert "no paired test: no per-clip predictions for keyframe_mlp" in text
    assert "Frames chosen by keyframe_mlp" not in text     # no gallery from part of the clips
    rows = pd.read_csv(out.with_suffix(".csv")).set_index("model")
    assert pd.isna(rows.loc["keyframe_mlp", "test_top1_ci_low"])   # no "0.0–0.0" interval
    assert rows.loc["pooled_logreg", "test_top1_ci_low"] < rows.loc["pooled_logreg",
                                                                    "test_top1_ci_high"]


def test_whole_predictions_give_the_paired_test_over_every_test_clip(two_models, tmp_path):
    uri, folder, (logreg, keyframe) = two_models
    clips = len(_predictions_file(folder, keyframe.run_id).read_text().splitlines()) - 1
    out = tmp_path / "cmp.html"
    assert report(uri, out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert f"over the {clips} shared test clips" in text
    assert "Runs without a usable predictions.csv" not in text
    assert "Frames chosen by keyframe_mlp" in text


@pytest.mark.parametrize("row, why", [
    ({"label": "one"}, "1 malformed or incomplete row (the first on line 3)"),
    ({"correct": "maybe"}, "1 malformed or incomplete row (the first on line 3)"),
    ({"clip_id": "c0"}, "clip c0 more than once"),
])
def test_a_predictions_table_with_a_bad_row_is_unusable(row, why):
    table = pd.DataFrame({"clip_id": ["c0", "c1", "c2"], "label": [0, 1, 0],
                          "gloss": ["a", "b", "a"], "correct": [True, False, True],
                          "top5": ["a|b", "a|b", "b|a"]})
    assert unusable(table, 3) == ""
    for column, value in row.items():
        table[column] = table[column].astype(object)
        table.loc[1, column] = value
    assert unusable(table, 3) == why
    assert unusable(None, 3) == "missing or unreadable"


def test_an_out_whose_table_is_the_sota_table_is_refused_and_the_table_kept(tracked, tmp_path):
    from harness.report.sota import default_path
    mine = tmp_path / "mine.csv"
    mine.write_bytes(default_path().read_bytes())
    before = mine.read_bytes()
    # the comparison was written over the table it quotes; the next report could not start
    result = cli("report", "--tracking-uri", tracked, "--sota", mine, "--out",
                 tmp_path / "mine.html")
    assert_cli_error(result, f"{mine} would be written over the state-of-the-art table")
    assert "intervals:" not in result.output
    assert mine.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "mine.csv"]
    # a link in the table's place is replaced, not written through: no clash
    (tmp_path / "link.csv").symlink_to(mine)
    assert cli("report", "--tracking-uri", tracked, "--sota", mine, "--out",
               tmp_path / "link.html").exit_code == 0
    assert mine.read_bytes() == before and not (tmp_path / "link.csv").is_symlink()
