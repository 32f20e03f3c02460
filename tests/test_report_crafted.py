"""The report on crafted stores, where the right answer is known before it is built.

Runs are logged straight through the MLflow client with per-clip outcomes chosen here
(see tests/report_store.py): a benchmark with a real difference between two models and one
with none, a model whose best configuration on test is not its best on validation, WLASL
at two vocabulary sizes on partial copies of the dataset, and curves under plugin names
without an ``epoch_`` prefix. The 100-run store checks the size budget and the layout.
"""
from __future__ import annotations

import math
import re
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest

from harness.report.build import ReportConfig, build_report
from tests import report_browser
from tests.report_store import (MISS, Run, Split, exact_bootstrap_p, hundred_runs,
                                learning_curve, ranks_for, write_store)

SIZE_BUDGET = 2 * 1024 * 1024


def _paired_ranks(a_only: int, b_only: int, both: int, neither: int, rng):
    """Top-1 outcomes of two models on the same clips, with known discordant counts."""
    a = np.array([0] * a_only + [MISS] * b_only + [0] * both + [MISS] * neither)
    b = np.array([MISS] * a_only + [0] * b_only + [0] * both + [MISS] * neither)
    order = rng.permutation(len(a))
    return a[order], b[order]


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("crafted")
    runs = []
    # A real difference: spoter right on 50 more of 120 clips than lstm.
    differ = Split.make("signo", 12, 120, tag="differ")
    a, b = _paired_ranks(a_only=56, b_only=6, both=40, neither=18, rng=rng)
    usual = {"lr": 0.001}               # a real run logs its whole config, every time
    runs += [Run("spoter", differ, 0, a, 0.8, config=usual), Run("lstm", differ, 0, b, 0.6)]
    # No real difference: 7 clips one way, 6 the other.
    same = Split.make("signo", 12, 120, tag="same")
    a, b = _paired_ranks(a_only=7, b_only=6, both=60, neither=47, rng=rng)
    runs += [Run("spoter", same, 0, a, 0.7, config=usual), Run("lstm", same, 0, b, 0.7)]
    # Chosen on validation: lr=0.1 is best on val (0.8) but worse on test (~0.5) than
    # lr=1 (val 0.6, test 0.9).
    chosen = Split.make("gsl", 20, 200, tag="val")
    for seed in range(2):
        runs.append(Run("spoter", chosen, seed, ranks_for(0.5, 200, rng), 0.80 - 0.01 * seed,
                        config={"lr": 0.1}))
        runs.append(Run("spoter", chosen, seed, ranks_for(0.9, 200, rng), 0.60,
                        config={"lr": 1.0}))
    runs.append(Run("lstm", chosen, 0, ranks_for(0.7, 200, rng), 0.7,
                    curves={"train_loss": [2, 1.5, 1.2], "val_loss": [2.1, 1.8, 1.7],
                            "lr": [0.1, 0.05, 0.01]}))
    # WLASL on partial copies at two vocabulary sizes; MS-ASL not run at all.
    for vocab, clips, coverage in ((100, 100, "100/258"), (300, 317, "317/988")):
        split = Split.make("wlasl", vocab, clips, coverage=coverage)
        for model, accuracy in (("spoter", 0.55), ("lstm", 0.45)):
            for seed in range(2):
                runs.append(Run(model, split, seed,
                                ranks_for(accuracy - vocab / 2000, clips, rng), accuracy,
                                config=usual if model == "spoter" else {},
                                curves=learning_curve(12, rng, accuracy)))
    # A diverged seed: no test figures, yet a predictions.csv of all-right clips; pooled
    # with seeds 0 and 1 (half right each) it would pull the interval off their mean of 50 %.
    diverged = Split.make("signo", 12, 120, tag="diverged")
    runs += [Run("spoter", diverged, seed, ranks_for(0.5, 120, rng), 0.7, config=usual)
             for seed in range(2)]
    runs.append(Run("spoter", diverged, 2, np.zeros(120, dtype=int), 0.7, config=usual,
                    metrics={name: math.nan for name in ("test_top1", "test_top5",
                                                         "test_mean_class_accuracy",
                                                         "test_macro_f1")}))
    runs.append(Run("lstm", diverged, 0, ranks_for(0.4, 120, rng), 0.6))
    uri, run_ids = write_store(folder, runs)
    files = build_report(ReportConfig(out=folder / "report.html", tracking_uri=uri))
    return {"files": files, "text": files.html.read_text(encoding="utf-8"),
            "csv": pd.read_csv(files.csv), "splits": (differ, same, chosen), "uri": uri,
            "diverged": diverged}


def _section(text: str, split: Split) -> str:
    start = text.index(f'id="bench-{split.split_hash[:12]}"')
    return text[start:text.find("<section", start + 1)]


def _headline(section: str) -> str:
    return re.search(r'<table class="headline">.*?</table>', section, flags=re.S).group(0)


def test_a_real_difference_is_marked_and_a_chance_one_is_not(crafted):
    differ, same, _ = crafted["splits"]
    text, frame = crafted["text"], crafted["csv"]
    marked = _section(text, differ)
    assert _headline(marked).count("★") == 1
    assert re.search(r'<tr class="marked"><td class="model">spoter', _headline(marked))
    assert "★ spoter (lr=0.001) is ahead of lstm by 41.7 points of top-1 (p &lt; 0.001" in marked
    unmarked = _section(text, same)
    assert "★" not in _headline(unmarked) and 'class="marked"' not in unmarked
    assert "No row is marked: spoter (lr=0.001) and lstm differ by 0.8 points" in unmarked
    # The printed p-value is the paired bootstrap's, which has an exact counterpart here.
    row = frame[(frame["split_hash"] == same.split_hash) & (frame["rank"] == 1)].iloc[0]
    assert row["p_value"] == pytest.approx(exact_bootstrap_p(7, 6, 120), abs=0.02)
    assert f"p = {row['p_value']:.2f}" in unmarked and not row["marked_best"]
    top = frame[(frame["split_hash"] == differ.split_hash) & (frame["rank"] == 1)].iloc[0]
    assert top["marked_best"] and top["p_value"] < 0.001 and top["compared_with"] == "lstm"
    assert top["difference_top1"] == pytest.approx(50 / 120)
    latex = crafted["files"].tex.read_text(encoding="utf-8")
    assert latex.count("$^{\\star}$") == frame["marked_best"].sum() >= 1
    assert "p $<$ 0.001" in latex


def test_the_configuration_is_chosen_on_validation_not_on_test(crafted):
    _, _, chosen = crafted["splits"]
    section = _section(crafted["text"], chosen)
    headline = _headline(section)
    frame = crafted["csv"]
    rows = frame[frame["split_hash"] == chosen.split_hash].set_index("variant")
    val_best, test_best = rows.loc["spoter (lr=0.1)"], rows.loc["spoter (lr=1.0)"]
    assert val_best["val_top1_mean"] > test_best["val_top1_mean"]
    assert val_best["test_top1_mean"] < test_best["test_top1_mean"]
    assert bool(val_best["headline"]) and not bool(test_best["headline"])
    assert "spoter (lr=0.1)" in headline and "spoter (lr=1.0)" not in headline
    assert f"{100 * val_best['test_top1_mean']:.1f}" in headline
    assert "best val top-1 of 2 configurations" in headline
    # Ranked on test among the chosen: lstm (0.7) leads spoter's chosen (0.5).
    assert headline.index("lstm") < headline.index("spoter (lr=0.1)")
    everything = section[section.index("All 3 configurations"):]
    assert everything.count('class="chosen"') == 2 and "spoter (lr=1.0)" in everything
    chosen_words = "a model run in several configurations appears in the one chosen on validation"
    assert chosen_words in headline
    # a benchmark where each model ran in one configuration claims no choice
    differ, _, _ = crafted["splits"]
    assert "test accuracy of each model.</caption>" in _headline(_section(crafted["text"], differ))
    assert "of several configurations" not in crafted["text"]      # the vocabulary figure too


def test_curves_are_any_metric_with_more_than_one_step(crafted):
    _, _, chosen = crafted["splits"]
    section = _section(crafted["text"], chosen)
    curves = section[section.index("Learning curves"):section.index("Most confused")]
    [figure] = re.findall(r'<img src="data:image/svg\+xml,([^"]+)"', curves)
    svg = unquote(figure)
    for name in ("train_loss", "val_loss", ">lr<"):
        assert name in svg
    assert "No per-epoch curves: spoter (lr=0.1), spoter (lr=1.0)" in curves


def test_state_of_the_art_only_beside_the_same_dataset_and_vocabulary(crafted):
    text = crafted["text"]
    sota = text[text.index('id="sota"'):text.index('id="provenance"')]
    tables = re.findall(r'<table class="sota">.*?</table>', sota, flags=re.S)
    assert len(tables) == 2
    wlasl100, wlasl300 = tables
    assert "WLASL, 100 signs" in wlasl100 and "WLASL, 300 signs" in wlasl300
    for published in ("63.18", "86.50", "65.89", "55.43"):
        assert published in wlasl100 and published not in wlasl300
    for published in ("56.14", "38.32"):
        assert published in wlasl300
    assert wlasl100.count('class="measured') == 2 and wlasl100.count("100 / 258 (39 %)") == 2
    assert wlasl300.count("317 / 988 (32 %)") == 2
    # MS-ASL was not measured: its published rows (and the key-frame study's) stay out.
    assert "MS-ASL" not in sota and "91.38" not in sota
    assert "published rows for datasets or vocabularies not measured here are left out" in sota
    wlasl = _section(text, Split.make("wlasl", 100, 100))
    assert "100 of the 258 official test clips (39 %)" in wlasl


def test_accuracy_against_vocabulary_size_has_a_line_and_band_per_model(crafted):
    text = crafted["text"]
    section = text[text.index('id="vocabulary"'):text.index('id="sota"')]
    [figure] = re.findall(r'<img src="data:image/svg\+xml,([^"]+)"', section)
    svg = unquote(figure)
    # Legend: each WLASL model once; no dataset run at one vocabulary size only (signo,
    # gsl) becomes a panel.
    assert svg.count(">spoter<") == 1 and svg.count(">lstm<") == 1
    assert ">wlasl<" in svg and ">signo<" not in svg and ">gsl<" not in svg
    assert "band is the 95 % bootstrap interval" in " ".join(section.split())


@pytest.mark.slow
def test_a_hundred_run_report_stays_under_budget_and_reads_on_a_phone(tmp_path):
    runs = hundred_runs()
    assert len(runs) == 100
    uri, _ = write_store(tmp_path, runs)
    files = build_report(ReportConfig(out=tmp_path / "report.html", tracking_uri=uri))
    assert files.runs == 100 and files.benchmarks == 4
    size = files.html_bytes
    print(f"100-run report: {size / 2**20:.2f} MiB")
    assert size < SIZE_BUDGET
    text = files.html.read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) == len(set(images))            # no image twice
    assert text.count('<table class="headline">') == 4
    assert "Gallery incomplete" not in text and text.count("Frames chosen by") == 1
    # The old plugin version that logged none is its own configuration, never pooled.
    assert text.count("lstm (hidden=128), version not recorded") >= 4
    geometry = report_browser.check(files.html, "report-100-runs")
    assert all(len(tables) == 4 for tables in geometry.values())
    assert math.isclose(geometry[390][0]["width"], 390, abs_tol=1)


def test_a_configuration_named_by_its_hash_is_spelt_out_in_a_note(tmp_path):
    rng = np.random.default_rng(3)
    split = Split.make("signo", 12, 60, tag="hashed")
    usual = {"dim": 128, "layers": 4, "epochs": 80, "lr": 0.001}
    small = {"dim": 512, "layers": 2, "epochs": 60, "lr": 0.0005}
    runs = [Run("spoter", split, seed, ranks_for(0.7, 60, rng), 0.7, config=usual)
            for seed in range(2)]
    runs.append(Run("spoter", split, 0, ranks_for(0.6, 60, rng), 0.6, config=small))
    uri, _ = write_store(tmp_path, runs)
    files = build_report(ReportConfig(out=tmp_path / "report.html", tracking_uri=uri))
    section = _section(files.html.read_text(encoding="utf-8"), split)
    label = re.search(r"spoter \(config [0-9a-f]{8}\)", section).group(0)
    note = re.search(r'<p class="note">([^<]*)</p>', section).group(1)
    assert note.startswith(f"{label}: dim=512, epochs=60, layers=2, lr=0.0005 ")
    assert "most runs used" in note


def test_the_latex_verdicts_wrap_beneath_the_table_instead_of_widening_it(crafted):
    latex = crafted["files"].tex.read_text(encoding="utf-8")
    table, _, beneath = latex.partition("\\end{tabular}")
    # an l cell does not wrap: a verdict of some 170 characters in one widened the table
    assert "paired bootstrap over" not in table.partition("\\begin{tabular}")[2]
    assert "\\begin{minipage}{\\linewidth}" in beneath
    verdicts = [line for line in beneath.splitlines() if "paired bootstrap" in line]
    assert len(verdicts) == crafted["csv"]["test"].eq("paired bootstrap").sum() >= 2
    assert any("\\emph{signo, 12 signs, split signo12d}: $\\star$ spoter" in v for v in verdicts)


def test_a_seed_without_test_figures_counts_in_no_n_interval_or_test(crafted):
    split = crafted["diverged"]
    table = _headline(_section(crafted["text"], split))
    row = re.search(r'<td class="model">spoter \(lr=0.001\)[^\n]*</td>\s*(.*?)</tr>', table,
                    flags=re.S).group(1)
    assert re.match(r'<td class="num" title="seeds 0, 1 \(left out[^"]*2\)">2</td>', row), row
    assert '<span class="left">1 seed left out</span>' in row
    frame = crafted["csv"]
    summary = frame[frame["split_hash"] == split.split_hash].set_index("model").loc["spoter"]
    assert summary["n"] == 2 and summary["seeds"] == "0 1" and summary["seeds_left_out"] == 2
    assert summary["test_top1_mean"] == 0.5
    assert summary["test_top1_ci_low"] < 0.5 < summary["test_top1_ci_high"]
    # the paired test is of the same two seeds: 50 % against lstm's 40 %
    lstm = frame[frame["split_hash"] == split.split_hash].set_index("model").loc["lstm"]
    assert frame.loc[(frame["split_hash"] == split.split_hash) & (frame["rank"] == 1),
                     "difference_top1"].item() == pytest.approx(0.5 - lstm["test_top1_mean"])
    # its confusions are not summed in either
    assert re.search(r"spoter \(lr=0\.001\): most confused pairs \(2 runs\)",
                     _section(crafted["text"], split))
    latex = crafted["files"].tex.read_text(encoding="utf-8")
    assert re.search(r"^spoter \(lr=0\.001\) & 2 & 50\.0 .*\(1 seed left out\)", latex,
                     flags=re.M)
