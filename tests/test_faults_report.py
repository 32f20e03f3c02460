"""``slrbench report --out`` where the report cannot be written: one line, exit 2, and the
old report (HTML, CSV, LaTeX) left whole rather than half replaced (issue 14)."""
from __future__ import annotations

from pathlib import Path

import pytest

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
