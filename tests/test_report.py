"""`slrbench report` built from real runs on the shipped datasets, checked in Chromium.

One module-scoped MLflow store holds real runs: pooled_logreg on asl-signs (2 seeds, so
mean ± std), on signo at two vocabulary sizes (the vocabulary curve, separate splits), and
a short keyframe_mlp run with the oracle protocol (gallery, honest vs oracle) on the same
asl-signs split (so that benchmark has a paired test).
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from harness import registry
from harness.cli import main
from harness.report import collect, stats, uncertainty
from harness.run.runner import RunConfig, run_experiment
from harness.run.tracking import load_runs
from tests import report_browser

# Real runs, then Chromium twice: tens of seconds.
pytestmark = pytest.mark.slow

# Small networks and 3 epochs: the cascade, its explain columns and the oracle protocol
# all run for real, in seconds.
KEYFRAME_OVERRIDES = {"selection": "oracle", "epochs": "3", "hidden1": "64,32",
                      "hidden2": "64,32"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    torch.set_num_threads(1)
    assert "keyframe_mlp" in registry.models(), "the report's gallery test needs keyframe_mlp"
    folder = tmp_path_factory.mktemp("report")
    uri = f"sqlite:///{folder}/mlruns.db"
    plans = [
        dict(model="pooled_logreg", dataset="asl-signs", seed=0),
        dict(model="pooled_logreg", dataset="asl-signs", seed=1),
        dict(model="pooled_logreg", dataset="signo", vocab=5),
        dict(model="pooled_logreg", dataset="signo", vocab=10),
        dict(model="keyframe_mlp", dataset="asl-signs", overrides=KEYFRAME_OVERRIDES),
    ]
    results = [run_experiment(RunConfig(tracking_uri=uri, latency_clips=3, **plan))
               for plan in plans]
    return {"uri": uri, "folder": folder, "results": results}


@pytest.fixture(scope="module")
def report(store):
    out = store["folder"] / "reports" / "cmp.html"
    outcome = CliRunner().invoke(main, ["report", "--tracking-uri", store["uri"],
                                        "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    assert out.exists() and out.with_suffix(".csv").exists() and out.with_suffix(".tex").exists()
    return {"html": out, "text": out.read_text(encoding="utf-8"), **store}


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _section(text: str, anchor_prefix: str, split_hash: str) -> str:
    start = text.index(f'id="{anchor_prefix}{split_hash[:12]}"')
    end = text.find('<section', start + 1)
    return text[start:end]


def test_report_reads_well_in_chromium_at_desktop_and_phone_widths(report):
    geometry = report_browser.check(report["html"], "report")
    # 3 benchmarks: asl-signs (2 models), signo-5, signo-10.
    assert all(len(tables) == 3 for tables in geometry.values())
    wide = geometry[1280][0]["heads"]
    assert wide[:5] == ["Model", "n", "Top-1 (%)", "Top-5 (%)", "Per-class (%)"]
    assert "Params" in wide and "ms / clip" in wide
    # On a phone the accuracy columns stay, the cost columns give way.
    assert geometry[390][0]["heads"] == wide[:5]


def _outcomes_from_artifacts(folder, experiment: str, run_ids: list[str]):
    """Per-clip outcomes read straight from the runs' predictions.csv files on disk."""
    frames = {}
    for run_id in run_ids:
        path = folder / "mlartifacts" / experiment / run_id / "artifacts" / "predictions.csv"
        frames[run_id] = uncertainty.clip_outcomes(pd.read_csv(path, dtype={"clip_id": str}))
    return uncertainty.pool(frames)


def test_headline_has_mean_std_and_the_bootstrap_interval_of_the_predictions(report):
    results, text = report["results"], report["text"]
    asl = _section(text, "bench-", results[0].split_hash)
    headline = re.search(r'<table class="headline">.*?</table>', asl, flags=re.S).group(0)
    assert headline.count("<tr") == 3                 # header + 2 models, once each
    row = re.search(r'<tr[^>]*><td class="model">pooled_logreg.*?</tr>', headline, flags=re.S)
    cells = re.findall(r'<td class="num[^"]*"[^>]*>(.*?)</td>', row.group(0), flags=re.S)
    top1 = [r.metrics["test_top1"] for r in results[:2]]
    assert re.sub(r"<.*?>", "", cells[0]).strip() == "2"               # n seeds
    assert cells[1].startswith(_pct(np.mean(top1)))
    assert f"± {_pct(np.std(top1, ddof=1))}" in cells[1]
    # The interval is the one the two runs' predictions give, computed here from the files.
    tidy = collect.tidy_runs(load_runs(report["uri"]))
    [bench] = [b for b in collect.benchmarks(tidy) if b.split_hash == results[0].split_hash]
    [config] = [c for c in bench.configurations if c.model == "pooled_logreg"]
    outcomes = _outcomes_from_artifacts(report["folder"], "asl-signs-2", config.run_ids)
    assert outcomes.runs == 2 and math.isclose(outcomes.top1.mean(), np.mean(top1))
    interval = stats.bootstrap_mean(outcomes.top1, key=f"{bench.split_hash}|{config.key}|top1")
    assert interval.low <= np.mean(top1) <= interval.high
    assert f'<span class="ci">{_pct(interval.low)}–{_pct(interval.high)}</span>' in cells[1]
    # Two models on the same test clips: one sentence says whether the first is ahead.
    verdict = re.search(r'<p class="verdict">(.*?)</p>', asl, flags=re.S).group(1)
    assert "paired bootstrap" in verdict and re.search(r"p [=<] 0\.\d+", verdict)
    assert f"over the {len(outcomes)} shared test clips" in verdict
    for split_hash in {r.split_hash for r in results[2:4]}:
        signo = _section(text, "bench-", split_hash)
        assert "One model on this benchmark" in signo and "★" not in signo


def test_details_are_collapsed_under_their_benchmark(report):
    results, text = report["results"], report["text"]
    asl = _section(text, "bench-", results[0].split_hash)
    summaries = re.findall(r"<summary>(.*?)</summary>", asl)
    assert summaries[0].startswith("Learning curves (1 configuration)")
    assert "Most confused signs" in summaries and len(summaries) == len(set(summaries))
    curves = asl[asl.index("Learning curves"):asl.index("Most confused signs")]
    assert curves.count("<img") == 1 and "No per-epoch curves: pooled_logreg" in curves
    # The confusion of each model's chosen configuration, once.
    confusions = asl[asl.index("Most confused signs"):]
    assert confusions.count("most confused pairs") == 2
    # No details section is repeated anywhere, and no image twice.
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) == len(set(images))
    assert all(re.match(r"data:image/(svg\+xml|png;base64),", src) for src in images)


def test_keyframe_details_show_honest_oracle_and_gallery(report):
    keyframe = report["results"][4]
    assert keyframe.oracle_used
    section = _section(report["text"], "bench-", keyframe.split_hash)
    oracle = section[section.index("honest vs oracle"):]
    assert _pct(keyframe.metrics["test_top1"]) in oracle
    assert _pct(keyframe.metrics["test_oracle_top1"]) in oracle
    assert "key frames selected with test labels" in oracle
    gallery = section[section.index("Frames chosen by keyframe_mlp"):]
    assert "Gallery incomplete" not in gallery and "could not reload" not in gallery
    clips = re.findall(r"clip <code>([^<]+)</code>", gallery)
    assert clips
    predictions = pd.read_csv(report["folder"] / "mlartifacts" / "asl-signs-2" /
                              keyframe.run_id / "artifacts" / "predictions.csv",
                              dtype={"clip_id": str})
    assert set(clips) <= set(predictions["clip_id"])
    assert gallery.count('class="tag wrong"') + gallery.count('class="tag right"') == len(clips)
    # a template line break eaten by the renderer glued words together ("(seed 0)drawn")
    words = re.sub(r"<[^>]+>", "", gallery)
    assert not re.search(r"\)drawn|(right|wrong)true", words), words[:400]


def test_sota_only_where_comparable_and_provenance(report):
    text = report["text"]
    sota = text[text.index('id="sota"'):text.index('id="provenance"')]
    # asl-signs and signo have no published figures: no table mixes them with MS-ASL.
    assert "<table" not in sota and "No published result" in sota
    assert "91.38" not in sota and "73.80" not in sota
    provenance = text[text.index('id="provenance"'):]
    assert "<details" in provenance
    runs = load_runs(report["uri"]).set_index("run_id")
    for result in report["results"]:
        run = runs.loc[result.run_id]
        assert result.run_id[:8] in provenance
        assert run["params.git_commit"][:12] in provenance
        assert run["params.machine"] in provenance
    vocabulary = text[text.index('id="vocabulary"'):text.index('id="sota"')]
    assert vocabulary.count("<img") == 1 and "signo" in vocabulary


def test_csv_and_latex_carry_intervals_and_the_test(report):
    results = report["results"]
    frame = pd.read_csv(report["html"].with_suffix(".csv"))
    assert len(frame) == 4                        # 2 models on asl-signs + 2 signo splits
    row = frame[(frame["dataset"] == "asl-signs") & (frame["model"] == "pooled_logreg")].iloc[0]
    top1 = [r.metrics["test_top1"] for r in results[:2]]
    assert row["n"] == 2 and bool(row["headline"])
    assert math.isclose(row["test_top1_mean"], np.mean(top1), rel_tol=1e-5)
    assert math.isclose(row["test_top1_std"], np.std(top1, ddof=1), abs_tol=1e-6)
    assert row["test_top1_ci_low"] <= row["test_top1_mean"] <= row["test_top1_ci_high"]
    assert row["split_hash"] == results[0].split_hash
    asl = frame[frame["dataset"] == "asl-signs"].sort_values("rank")
    first = asl.iloc[0]
    assert first["test"] == "paired bootstrap" and 0 < first["p_value"] <= 1
    assert first["compared_with"] == asl.iloc[1]["variant"]
    assert bool(first["marked_best"]) == (first["p_value"] < 0.05)
    latex = report["html"].with_suffix(".tex").read_text(encoding="utf-8")
    assert "\\toprule" in latex and "\\bottomrule" in latex
    assert "pooled\\_logreg" in latex and "keyframe\\_mlp" in latex
    assert "$\\pm$" in latex and "±" not in latex and "–" not in latex   # pdflatex-safe
    assert "{\\scriptsize [" in latex and "paired bootstrap" in latex
    assert latex.count("\\midrule") == 3         # one block per benchmark


def test_report_errors_are_one_line(report, tmp_path):
    runner = CliRunner()
    outcome = runner.invoke(main, ["report", "--tracking-uri", report["uri"],
                                   "--experiment", "no-such-experiment",
                                   "--out", str(tmp_path / "x.html")])
    assert outcome.exit_code == 2
    assert "no-such-experiment" in outcome.output and "Traceback" not in outcome.output
    outcome = runner.invoke(main, ["report", "--tracking-uri", report["uri"],
                                   "--out", str(tmp_path / "x.pdf")])
    assert outcome.exit_code == 2 and "HTML" in outcome.output
    bad = tmp_path / "sota.csv"
    bad.write_text("method,inputs,dataset\nX,pose,MS-ASL\n", encoding="utf-8")
    outcome = runner.invoke(main, ["report", "--tracking-uri", report["uri"], "--sota",
                                   str(bad), "--out", str(tmp_path / "y.html")])
    assert outcome.exit_code == 2 and str(bad) in outcome.output
    assert not (tmp_path / "y.html").exists()


def test_top5_of_five_signs_or_fewer_is_not_a_figure(report):
    # top-5 of 5 signs is 100 % whatever the model: a dash, not a figure
    for result, dash in ((report["results"][2], True), (report["results"][3], False)):
        section = _section(report["text"], "bench-", result.split_hash)
        table = section[section.index('<table class="headline">'):section.index("</table>")]
        heads = re.findall(r"<th(?: [^>]*)?>(?:<em>)?([^<]*)", table)
        top5 = heads.index("Top-5 (%)") - 2              # past the Model and n columns
        values = [row[top5] for row in _figure_rows(table)]
        assert values and all((value == "–") == dash for value in values), values


def _figure_rows(table: str) -> list[list[str]]:
    """Each body row's figure cells (past the model and n columns, whose cells carry more
    attributes), as text."""
    rows = []
    for body in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)[1:]:
        rows.append(re.findall(r'<td class="num[^"]*">([^<]*)', body))
    return rows
