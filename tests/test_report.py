"""`slrbench report` built from real runs on the shipped datasets, checked in Chromium.

One module-scoped MLflow store holds real runs: pooled_logreg on asl-signs (2 seeds, so
mean ± std), on signo at two vocabulary sizes (the vocabulary curve, separate splits), and
a short keyframe_mlp run with the oracle protocol (gallery, honest vs oracle).
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
from harness.util.paths import project_root
from harness.run.runner import RunConfig, run_experiment
from harness.run.tracking import load_runs

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
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


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--window-size=1280,900", "--hide-scrollbars"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def test_report_renders_in_chromium_without_errors(report):
    from selenium.webdriver.common.by import By
    driver = _browser()
    try:
        driver.get(report["html"].as_uri())
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []

        tables = driver.find_elements(By.TAG_NAME, "table")
        # 3 splits + 4 confusion tables + honest/oracle + state of the art + provenance
        assert len(tables) == 10
        for table in tables:
            assert table.is_displayed()
            assert table.size["width"] > 0 and table.size["height"] > 0
            assert table.find_elements(By.CSS_SELECTOR, "tbody tr")

        images = driver.find_elements(By.TAG_NAME, "img")
        # vocabulary curve, latency scatter, 1 learning curve, 4 confusions, gallery clips
        assert len(images) >= 8
        for image in images:
            driver.execute_script("arguments[0].scrollIntoView();", image)
            assert image.is_displayed()
            assert driver.execute_script("return arguments[0].complete && "
                                         "arguments[0].naturalWidth", image) > 0
            assert image.get_attribute("src").startswith("data:image/png;base64,")
        assert driver.find_elements(By.TAG_NAME, "script") == []
        assert driver.find_elements(By.CSS_SELECTOR, "link[rel=stylesheet]") == []

        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(height, 16000))
        driver.execute_script("window.scrollTo(0, 0)")
        artifacts = project_root() / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(artifacts / "report.png"))
    finally:
        driver.quit()


def _tables(text: str) -> list[str]:
    return re.findall(r"<table class=\"results\".*?</table>", text, flags=re.S)


def test_summary_tables_keep_splits_apart_and_pool_seeds(report):
    results, text = report["results"], report["text"]
    tables = _tables(text)
    assert len(tables) == 3                       # asl-signs-2, signo-5, signo-10
    hashes = {r.split_hash for r in results}
    assert len(hashes) == 3
    for split_hash in hashes:
        holding = [t for t in tables if split_hash[:12] in t]
        assert len(holding) == 1                  # each split in exactly one table
    asl = next(t for t in tables if results[0].split_hash[:12] in t)
    assert "signer-disjoint" in asl               # the split protocol param
    top1 = [r.metrics["test_top1"] for r in results[:2]]
    mean, std = np.mean(top1), np.std(top1, ddof=1)
    row = re.search(r"<tr><td class=\"model\">pooled_logreg</td>.*?</tr>", asl, flags=re.S)
    assert row is not None
    cells = re.findall(r"<td class=\"num[^\"]*\"[^>]*>(.*?)</td>", row.group(0), flags=re.S)
    assert re.sub(r"<.*?>", "", cells[0]).strip() == "2"          # n seeds
    assert cells[1].startswith(_pct(mean)) and f"± {_pct(std)}" in cells[1]
    assert "keyframe_mlp" in asl                  # same split: same table
    assert "keyframe_mlp" not in "".join(t for t in tables if t is not asl)


def test_keyframe_sections_show_honest_oracle_and_gallery(report):
    keyframe = report["results"][4]
    assert keyframe.oracle_used
    text = report["text"]
    section = text[text.index('id="keyframes"'):text.index('id="sota"')]
    assert _pct(keyframe.metrics["test_top1"]) in section
    assert _pct(keyframe.metrics["test_oracle_top1"]) in section
    assert "uses test labels" in section
    assert "Gallery incomplete" not in section and "could not reload" not in section
    clips = re.findall(r"clip <code>([^<]+)</code>", section)
    assert clips
    predictions = pd.read_csv(report["folder"] / "mlartifacts" / "asl-signs-2" /
                              keyframe.run_id / "artifacts" / "predictions.csv",
                              dtype={"clip_id": str})
    assert set(clips) <= set(predictions["clip_id"])
    assert "MLP1: frame" not in section           # stage labels are inside the images
    assert section.count('class="tag wrong"') + section.count('class="tag right"') == len(clips)


def test_sota_provenance_and_curves(report):
    text = report["text"]
    sota = text[text.index('id="sota"'):text.index('id="provenance"')]
    for published in ("91.38", "64.91", "44.75", "62.25", "73.80", "63.18"):
        assert published in sota
    assert sota.count("<tr class=\"measured") == 4   # best per model x dataset/vocab
    assert sota.count(">measured here<") == 4
    assert "key frames selected with test labels" in sota
    provenance = text[text.index('id="provenance"'):]
    runs = load_runs(report["uri"]).set_index("run_id")
    for result in report["results"]:
        run = runs.loc[result.run_id]
        assert result.run_id[:8] in provenance
        assert run["params.git_commit"][:12] in provenance
        assert run["params.machine"] in provenance
        assert f"torch {run['params.version.torch']}" in provenance
    curves = text[text.index('id="curves"'):text.index('id="confusions"')]
    assert curves.count("<img") == 1              # only keyframe_mlp logs epochs
    assert "keyframe_mlp on asl-signs-2, seed 0" in curves
    assert curves.count("pooled_logreg on") == 4  # listed as having no curves


def test_csv_and_latex_beside_the_html(report):
    results = report["results"]
    frame = pd.read_csv(report["html"].with_suffix(".csv"))
    assert len(frame) == 4                        # 2 models on asl-signs + 2 signo splits
    row = frame[(frame["dataset"] == "asl-signs") & (frame["model"] == "pooled_logreg")].iloc[0]
    top1 = [r.metrics["test_top1"] for r in results[:2]]
    assert row["n"] == 2
    assert math.isclose(row["test_top1_mean"], np.mean(top1), rel_tol=1e-5)
    assert math.isclose(row["test_top1_std"], np.std(top1, ddof=1), abs_tol=1e-6)
    assert row["split_hash"] == results[0].split_hash
    latex = report["html"].with_suffix(".tex").read_text(encoding="utf-8")
    assert "\\toprule" in latex and "\\bottomrule" in latex
    assert "pooled\\_logreg" in latex and "keyframe\\_mlp" in latex
    assert "$\\pm$" in latex and "±" not in latex      # ASCII-safe for pdflatex
    assert latex.count("\\midrule") == 3         # header rule + 2 split separators


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
