"""The report's building blocks on small real inputs: the SOTA table, confusions, LaTeX,
benchmarks and plugin versions, choosing on validation, SVG compaction, and reloading a
dataset for the key-frame gallery."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.errors import BadAnnotations
from harness.report import collect, confusions, encode, exports, headline, sota, tables
from harness.report.build import shown_uri
from harness.report.keyframes import ClipLoader, pick_clips
from harness.report.uncertainty import Uncertainty


def test_shipped_sota_table_has_the_seed_rows_with_sources():
    rows = sota.load_sota()
    by = {(r.method, r.dataset, r.vocab): r for r in rows}
    keyframe = [by[("Key-frame MLP (MLP1 + MLP2)", "MS-ASL", v)].top1_per_instance
                for v in (100, 200, 500, 1000)]
    assert keyframe == [91.38, 85.35, 76.38, 64.91]
    mlp1 = [by[("Key-frame MLP1 alone", "MS-ASL", v)].top1_per_instance
            for v in (100, 200, 500, 1000)]
    assert mlp1 == [82.18, 75.80, 56.53, 44.75]
    assert by[("NLA-SLR", "MS-ASL", 1000)].top1_per_instance == 73.80
    assert by[("NLA-SLR", "MS-ASL", 100)].inputs == "RGB+pose"
    assert by[("SPOTER", "WLASL", 100)].top1_per_instance == 63.18
    assert by[("Siformer", "WLASL", 100)].top1_per_instance == 86.50
    assert by[("I3D", "WLASL", 100)].top1_per_instance == 65.89
    assert by[("I3D", "WLASL", 300)].inputs == "RGB"
    assert "1910.11006" in by[("Pose-TGCN", "WLASL", 300)].source
    assert "arxiv.org/abs/2503.20436" in by[("Siformer", "WLASL", 100)].source
    for row in rows:
        assert "https://" in row.source           # a reader can look every figure up
        if row.method.startswith("Key-frame"):
            assert row.note == "key frames selected with test labels"
    assert by[("SPOTER variant (original study)", "MS-ASL", 1000)].top1_per_instance == 37.0


@pytest.mark.parametrize("body, words", [
    ("method,inputs,dataset,vocab,top1_per_instance,top1_per_class,source\n", "lacks columns"),
    ("method,inputs,dataset,vocab,top1_per_instance,top1_per_class,source,note\n"
     "X,depth,MS-ASL,100,50,,paper,\n", "inputs='depth'"),
    ("method,inputs,dataset,vocab,top1_per_instance,top1_per_class,source,note\n"
     "X,pose,MS-ASL,100,0.9138x,,paper,\n", "not a number"),
    ("method,inputs,dataset,vocab,top1_per_instance,top1_per_class,source,note\n"
     "X,pose,MS-ASL,100,,,paper,\n", "no accuracy"),
    ("method,inputs,dataset,vocab,top1_per_instance,top1_per_class,source,note\n"
     "X,pose,MS-ASL,100,91.4,,,\n", "empty ['source']"),
])
def test_bad_sota_rows_name_the_file_and_line(tmp_path, body, words):
    path = tmp_path / "sota.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(BadAnnotations) as error:
        sota.load_sota(path)
    assert str(path) in str(error.value) and words in str(error.value)


def test_dataset_names_match_across_spellings():
    assert sota.dataset_key("MS-ASL") == sota.dataset_key("msasl") == "msasl"


def test_confused_pairs_and_focus_on_a_large_vocabulary():
    rng = np.random.default_rng(0)
    n = 60
    matrix = np.diag(rng.integers(5, 10, n))
    matrix[3, 7] = 9          # 3 is mistaken for 7 most often
    matrix[40, 2] = 4
    matrix[50, 51] = 2
    vocab = [f"sign{i}" for i in range(n)]
    pairs = confusions.top_pairs(matrix, vocab, 5)
    assert [(p.true, p.predicted, p.count) for p in pairs] == [
        ("sign3", "sign7", 9), ("sign40", "sign2", 4), ("sign50", "sign51", 2)]
    assert math.isclose(pairs[0].share, 9 / matrix[3].sum())
    focus = confusions.focus_classes(matrix, 4)
    assert list(focus) == [2, 3, 7, 40]
    assert len(confusions.focus_classes(matrix[:10, :10], 20)) == 10
    assert confusions.pooled([matrix, matrix]).sum() == 2 * matrix.sum()
    assert confusions.pooled([matrix, matrix[:5, :5]]) is None


def test_latex_escapes_names_and_formats_numbers():
    assert exports.latex_escape("pooled_logreg 100% & #1") == r"pooled\_logreg 100\% \& \#1"
    assert tables.plain(0.91383, "percent") == "91.4"
    assert tables.plain(1_234_567, "count") == "1.2M"
    assert tables.plain(150.0, "seconds") == "2.5 min"
    assert tables.plain(float("nan"), "ms") == "–"


def test_gallery_loader_reports_problems_instead_of_failing():
    loader = ClipLoader()
    clips, problem = loader.clips("no-such-dataset", 2, 0, "0" * 64)
    assert clips is None and "no-such-dataset" in problem
    clips, problem = loader.clips("asl-signs", 2, 0, "0" * 64)
    assert clips is None and "not the run's" in problem


def test_gallery_picks_confident_mistakes_and_spread_of_right_clips():
    predictions = pd.DataFrame({
        "clip_id": [f"c{i:02d}" for i in range(10)],
        "correct": [True] * 7 + [False] * 3,
        "probability": [0.9] * 7 + [0.6, 0.99, 0.7],
    })
    picked = pick_clips(predictions, 4)
    assert list(picked["clip_id"]) == ["c00", "c06", "c08", "c09"]


def _search_runs_row(run_id, model, split_hash, seed, top1, version="1", val=None, **config):
    """One row in the column layout of mlflow.search_runs, as harness.run.runner logs it."""
    row = {"run_id": run_id, "experiment_id": "1",
           "start_time": pd.Timestamp("2025-01-01", tz="UTC"),
           "tags.slrbench.model": model, "tags.slrbench.config_hash": str(sorted(config.items())),
           "tags.slrbench.inputs": "landmarks", "params.model": model,
           "params.dataset": "signo", "params.vocab_size": "10", "params.seed": str(seed),
           "params.split_seed": "0", "params.split_hash": split_hash,
           "params.split_protocol": "stratified", "params.git_commit": "abc",
           "params.machine": "x86_64", "metrics.test_top1": top1,
           "metrics.val_top1": top1 if val is None else val}
    if version is not None:
        row["tags.slrbench.model_version"] = version
    row.update({f"params.config.{k}": str(v) for k, v in config.items()})
    return row


def test_runs_group_by_split_and_config_with_readable_variant_names():
    runs = pd.DataFrame([
        _search_runs_row("a", "keyframe_mlp", "h1" * 32, 0, 0.80, stages=1, lr=0.1),
        _search_runs_row("b", "keyframe_mlp", "h1" * 32, 1, 0.90, stages=1, lr=0.1),
        _search_runs_row("c", "keyframe_mlp", "h1" * 32, 0, 0.95, stages=2, lr=0.1),
        _search_runs_row("d", "keyframe_mlp", "h2" * 32, 0, 0.50, stages=2, lr=0.1),
        _search_runs_row("e", "pooled_logreg", "h1" * 32, 0, 0.70, C=1.0),
    ])
    tidy = collect.tidy_runs(runs, {"1": "signo-10"})
    assert set(tidy["variant"]) == {"keyframe_mlp (stages=1)", "keyframe_mlp (stages=2)",
                                    "pooled_logreg"}
    found = collect.benchmarks(tidy)
    assert [b.split_hash[:2] for b in found] == ["h1", "h2"]
    first = found[0]
    by_variant = {c.variant: c for c in first.configurations}
    pooled_seeds = by_variant["keyframe_mlp (stages=1)"].stats["top1"]
    assert pooled_seeds.n == 2 and math.isclose(pooled_seeds.mean, 0.85)
    assert math.isclose(pooled_seeds.std, np.std([0.8, 0.9], ddof=1))
    assert [c.run_ids for c in found[1].configurations] == [["d"]]


def test_plugin_versions_are_never_pooled_and_a_missing_version_stands_alone():
    runs = pd.DataFrame([
        _search_runs_row("a", "spoter", "h1" * 32, 0, 0.60, version="1", lr=0.1),
        _search_runs_row("b", "spoter", "h1" * 32, 1, 0.62, version="1", lr=0.1),
        _search_runs_row("c", "spoter", "h1" * 32, 0, 0.70, version="2", lr=0.1),
        _search_runs_row("d", "spoter", "h1" * 32, 0, 0.40, version=None, lr=0.1),
    ])
    tidy = collect.tidy_runs(runs)
    [bench] = collect.benchmarks(tidy)
    pools = {c.version: c.run_ids for c in bench.configurations}
    assert pools == {"1": ["a", "b"], "2": ["c"], "": ["d"]}
    assert {c.variant for c in bench.configurations} == {
        "spoter, v1", "spoter, v2", "spoter, version not recorded"}
    # The same runs logged before versions existed (no tag, no param) are one pool.
    old = pd.DataFrame([_search_runs_row(r, "spoter", "h1" * 32, i, 0.6, version=None, lr=0.1)
                        for i, r in enumerate("xyz")])
    [bench] = collect.benchmarks(collect.tidy_runs(old))
    assert [c.run_ids for c in bench.configurations] == [["x", "y", "z"]]
    assert bench.configurations[0].variant == "spoter"


def test_the_configuration_is_chosen_on_validation_never_on_test():
    runs = pd.DataFrame([
        # lr=0.1: best on validation, worse on test; lr=1: the reverse.
        _search_runs_row("a", "spoter", "h1" * 32, 0, 0.50, val=0.80, lr=0.1),
        _search_runs_row("b", "spoter", "h1" * 32, 1, 0.52, val=0.78, lr=0.1),
        _search_runs_row("c", "spoter", "h1" * 32, 0, 0.90, val=0.60, lr=1),
        _search_runs_row("d", "lstm", "h1" * 32, 0, 0.70, val=0.70, hidden=64),
    ])
    [bench] = collect.benchmarks(collect.tidy_runs(runs))
    blank = {c.key: Uncertainty(None, {}) for c in bench.configurations}
    result = headline.headline(bench, blank)
    chosen = {r.configuration.model: r for r in result.rows}
    assert chosen["spoter"].configuration.run_ids == ["a", "b"]
    assert chosen["spoter"].candidates == 2 and chosen["spoter"].chosen_on == "val top-1"
    assert chosen["lstm"].chosen_on == "only configuration"
    # Ranked on test among the chosen: lstm (0.70) above spoter's chosen (0.51).
    assert [r.configuration.model for r in result.rows] == ["lstm", "spoter"]
    assert result.test is None and result.marked is None and "no per-clip" in result.problem
    row = tables.headline_rows(result)[1]
    assert row.note == "best val top-1 of 2 configurations"


def test_coverage_of_the_official_test_split():
    bench = collect.Benchmark("h" * 64, "wlasl", 100, "official", (1, 2, 100), "100/258", [])
    assert bench.coverage_parts() == (100, 258)
    assert sota.coverage_text(bench) == "100 / 258 (39 %)"
    assert collect.Benchmark("h" * 64, "x", 2, "", (1, 2, 3), "", []).coverage_parts() is None


def test_svg_compaction_keeps_text_and_references():
    text = ('<?xml version="1.0"?><!DOCTYPE svg><svg width="100.123pt"><metadata>x</metadata>'
            '<defs><clipPath id="p1"><rect x="1.23456"/></clipPath><path id="unused" d="M 1 2"/>'
            '</defs><g><g id="axes_1"><path clip-path="url(#p1)" d="M 0.123456 1 \nL 2 3 z"/>'
            '<text style="font-size: 8px; font-family: \'STIXGeneral\', serif" x="3.14159">0.25'
            '</text></g></g></svg>')
    out = encode.compact_svg(text)
    assert "metadata" not in out and "DOCTYPE" not in out and "<?xml" not in out
    assert 'id="p1"' in out and "unused" not in out and "<g" not in out
    assert ">0.25</text>" in out and 'x="3.1"' in out and 'd="M0.1 1L2 3z"' in out
    assert "text{font-family:" in out
    uri = encode.svg_uri(out)
    assert uri.startswith("data:image/svg+xml,") and '"' not in uri and "#" not in uri


def test_variants_differing_in_many_fields_are_named_by_their_departures():
    usual = dict(stages=2, epochs=30, threads=1, train_key="true_class", hidden1="256,128")
    rows = [_search_runs_row(f"u{seed}", "keyframe_mlp", "h1" * 32, seed, 0.9, **usual)
            for seed in range(3)]
    rows += [
        _search_runs_row("s3", "keyframe_mlp", "h1" * 32, 0, 0.8, **{**usual, "stages": 3}),
        _search_runs_row("ep", "keyframe_mlp", "h1" * 32, 0, 0.8,
                         **{**usual, "epochs": 20, "threads": 2}),
        _search_runs_row("ak", "keyframe_mlp", "h1" * 32, 0, 0.8,
                         **{**usual, "train_key": "argmax", "hidden1": "64"}),
        _search_runs_row("all", "keyframe_mlp", "h1" * 32, 0, 0.8,
                         **dict(stages=1, epochs=5, threads=4, train_key="argmax",
                                hidden1="8")),
    ]
    tidy = collect.tidy_runs(pd.DataFrame(rows), {"1": "signo-10"})
    by_run = dict(zip(tidy["run_id"], tidy["variant"]))
    assert by_run["u0"] == by_run["u2"] == "keyframe_mlp"
    assert by_run["s3"] == "keyframe_mlp (stages=3)"
    assert by_run["ep"] == "keyframe_mlp (epochs=20, threads=2)"
    assert by_run["ak"] == "keyframe_mlp (hidden1=64, train_key=argmax)"
    assert by_run["all"].startswith("keyframe_mlp (config ")      # too many to list
    assert len(set(by_run.values())) == 5
    detail = dict(zip(tidy["run_id"], tidy["variant_detail"]))
    # what the hash stands for, for the report's note
    assert detail["all"] == ("epochs=5, hidden1=8, stages=1, threads=4, train_key=argmax (where "
                             "it departs from the keyframe_mlp configuration most runs used)")
    assert {detail[r] for r in ("u0", "s3", "ep", "ak")} == {""}


def test_a_run_older_than_an_option_is_labelled_as_not_having_logged_it():
    rows = [_search_runs_row(f"n{seed}", "newer_plugin", "h1" * 32, seed, 0.9,
                             epochs=50, gap=16) for seed in range(2)]
    rows.append(_search_runs_row("old", "newer_plugin", "h1" * 32, 0, 0.8, epochs=50))
    tidy = collect.tidy_runs(pd.DataFrame(rows), {"1": "signo-10"})
    by_run = dict(zip(tidy["run_id"], tidy["variant"]))
    assert by_run["n0"] == by_run["n1"] == "newer_plugin (gap=16)"
    assert by_run["old"] == "newer_plugin (gap not logged)"


def test_a_published_page_names_a_local_store_by_its_path_under_the_checkout(tmp_path,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    inside = tmp_path / "benchmarks" / "results" / "mlruns.db"
    assert shown_uri(f"sqlite:///{inside}") == "sqlite:///benchmarks/results/mlruns.db"
    assert shown_uri(str(tmp_path / "mlruns")) == "mlruns"
    elsewhere = tmp_path.parent / "other.db"
    assert shown_uri(f"sqlite:///{elsewhere}") == f"sqlite:///{elsewhere}"
    assert shown_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_variants_of_an_installed_plugin_are_named_against_its_defaults():
    # a bare name is the plugin's defaults, even where every run of it set something (the
    # published spoter runs on signo all had epochs=30 and were shown as plain "spoter")
    defaults = collect.plugin_defaults("pooled_logreg")
    assert defaults is not None and defaults["C"] == "1.0"
    changed = {"C": "0.1"}
    everything = {"C": "0.1", "max_iter": "50", "origin": "left_shoulder", "parts": "('pose',)"}
    rows = [_search_runs_row(f"d{seed}", "pooled_logreg", "h1" * 32, seed, 0.9, **defaults)
            for seed in range(2)]
    rows += [_search_runs_row(f"c{seed}", "pooled_logreg", "h1" * 32, seed, 0.8,
                              **{**defaults, **changed}) for seed in range(3)]
    rows.append(_search_runs_row("all", "pooled_logreg", "h1" * 32, 0, 0.7, **everything))
    tidy = collect.tidy_runs(pd.DataFrame(rows), {"1": "signo-10"})
    by_run = dict(zip(tidy["run_id"], tidy["variant"]))
    assert by_run["d0"] == "pooled_logreg"                  # fewer runs, still the bare name
    assert by_run["c0"] == "pooled_logreg (C=0.1)"
    assert by_run["all"].startswith("pooled_logreg (config ")
    detail = dict(zip(tidy["run_id"], tidy["variant_detail"]))["all"]
    assert detail.startswith("C=0.1 (default 1.0), max_iter=50 (default 2000), ")
    assert detail.endswith("(where it departs from the pooled_logreg defaults)")
    only = collect.tidy_runs(pd.DataFrame(rows[2:3]), {"1": "signo-10"})
    assert list(only["variant"]) == ["pooled_logreg (C=0.1)"]   # alone, and still not bare


def _svg_text(image) -> list[str]:
    import re
    import urllib.parse
    return re.findall(r">([^<]{1,60})</text>", urllib.parse.unquote(image.uri.split(",", 1)[1]))


def test_a_curve_panel_of_one_metric_is_labelled_by_it_and_a_log_axis_says_so():
    from harness.report import figures
    image = figures.learning_curves([{
        "learning_rate": [(i + 1, 1e-3 * 0.5 ** (i // 10)) for i in range(60)],
        "val_loss": [(i + 1, 1 / (i + 1)) for i in range(60)]}])
    words = _svg_text(image)
    assert "learning rate" in words and "val loss" in words and "value" not in words
    names = ["conv_transformer (epochs=50)", "pooled_logreg"]
    points = [figures.Point(name, "wlasl", x, y) for name in names
              for x, y in ((25, 0.8), (100, 0.6), (300, 0.4))]
    curve = figures.vocabulary_curve(points, figures.colours(names), figures.markers(names))
    assert "vocabulary size (signs, log scale)" in _svg_text(curve)


def test_a_dirty_checkout_names_the_files_that_differ(tmp_path):
    import subprocess

    from harness.run.tracking import git_state

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "first")
    commit, files = git_state(tmp_path)
    assert len(commit) == 40 and files == ""
    (tmp_path / "b.py").write_text("x = 2\n")
    (tmp_path / "new.py").write_text("")                  # untracked: not the commit's code
    assert git_state(tmp_path) == (f"{commit}-dirty", "b.py")
    row = _search_runs_row("r", "pooled_logreg", "h1" * 32, 0, 0.9, C=1.0)
    row["params.git_dirty"] = "b.py"
    tidy = collect.tidy_runs(pd.DataFrame([row]), {"1": "signo-10"})
    assert list(tidy["git_dirty"]) == ["b.py"]


def test_a_configuration_stopped_by_its_epoch_budget_is_called_a_floor():
    from harness.report.build import cap_note
    rows = []
    for seed, best in enumerate((58, 60, 30)):
        row = _search_runs_row(f"s{seed}", "spoter", "h1" * 32, seed, 0.5, epochs=60)
        row["metrics.best_epoch"] = best
        rows.append(row)
    early = _search_runs_row("k0", "lstm", "h1" * 32, 0, 0.5, epochs=60)
    early["metrics.best_epoch"] = 20
    [bench] = collect.benchmarks(collect.tidy_runs(pd.DataFrame(rows + [early]),
                                                   {"1": "signo-10"}))
    notes = {c.model: cap_note(c) for c in bench.configurations}
    assert "last tenth of its 60-epoch budget in 2 of 3 runs" in notes["spoter"]
    assert "a floor" in notes["spoter"] and notes["lstm"] == ""


def test_accuracy_against_vocabulary_compares_models_on_one_split_per_vocabulary():
    from harness.report import vocabulary
    rows = []
    for run, model, split, seed, top1, vocab in (
            ("a", "spoter", "A" * 64, 0, 0.9, 10), ("b", "spoter", "A" * 64, 1, 0.9, 10),
            ("c", "lstm", "B" * 64, 0, 0.3, 10),     # signo-10 on another split alone
            ("d", "spoter", "C" * 64, 0, 0.8, 21), ("e", "lstm", "C" * 64, 0, 0.7, 21)):
        rows.append({**_search_runs_row(run, model, split, seed, top1),
                     "params.vocab_size": str(vocab)})
    found = collect.benchmarks(collect.tidy_runs(pd.DataFrame(rows)))
    headlines = [headline.headline(b, {c.key: Uncertainty(None, {}) for c in b.configurations})
                 for b in found]
    drawn = vocabulary.points(headlines)
    # lstm's 0.3 was measured on other test clips than spoter's 0.9: no point beside it
    assert {(p.series, p.x) for p in drawn} == {("spoter", 10), ("spoter", 21), ("lstm", 21)}
    assert vocabulary.other_splits(headlines, drawn) == ["signo at 10 signs, split AAAAAAAA "
                                                         "(of 2)"]


def test_the_vocabulary_caption_names_the_axis_the_panels_were_drawn_on():
    from harness.report import figures, vocabulary

    def drawn(sizes: dict[str, tuple[int, ...]]) -> list[figures.Point]:
        return [figures.Point("spoter", dataset, x, 0.5) for dataset, xs in sizes.items()
                for x in xs]
    # WLASL 100 and 300 are drawn on a linear axis ('vocabulary size (signs)'): the
    # caption said 'on a logarithmic axis' whatever the panels were
    assert vocabulary.axis_words(drawn({"wlasl": (100, 300)})) == "on a linear axis"
    assert vocabulary.axis_words(drawn({"wlasl": (25, 300)})) == "on a logarithmic axis"
    assert "where a dataset's sizes span a factor of 8" in vocabulary.axis_words(
        drawn({"wlasl": (25, 300), "msasl": (100, 200)}))


def test_a_seed_run_twice_counts_once_by_its_latest_run():
    def run(run_id, seed, top1, day):
        return {**_search_runs_row(run_id, "spoter", "h1" * 32, seed, top1, lr=0.1),
                "start_time": pd.Timestamp(f"2025-01-0{day}", tz="UTC")}
    # seed 0 again after a fix (b), seed 1 once: two seeds, not three runs with a spread
    runs = pd.DataFrame([run("b", 0, 0.70, 3), run("a", 0, 0.50, 1), run("c", 1, 0.80, 2)])
    [bench] = collect.benchmarks(collect.tidy_runs(runs))
    [config] = bench.configurations
    assert sorted(config.run_ids) == ["b", "c"] and config.n == 2 and bench.n_runs == 2
    assert math.isclose(config.stats["top1"].mean, 0.75)
    assert config.repeated == {"a": 0}
    # runs whose seed was not logged are never taken for repeats of one another
    blind = pd.DataFrame([{**_search_runs_row(r, "spoter", "h1" * 32, 0, 0.5, lr=0.1),
                           "params.seed": None} for r in "xy"])
    [bench] = collect.benchmarks(collect.tidy_runs(blind))
    assert bench.configurations[0].n == 2 and not bench.configurations[0].repeated


def test_a_verdict_never_calls_a_significant_difference_chance():
    from harness.report.stats import PairedTest
    runs = pd.DataFrame([_search_runs_row("a", "spoter", "h1" * 32, 0, 0.80, lr=0.1),
                         _search_runs_row("b", "lstm", "h1" * 32, 0, 0.70, hidden=64)])
    [bench] = collect.benchmarks(collect.tidy_runs(runs))
    blank = {c.key: Uncertainty(None, {}) for c in bench.configurations}
    result = headline.headline(bench, blank)
    # spoter leads on mean top-1, but its runs with predictions trail lstm's on the
    # clips both were tested on: not 'does not separate from chance (p < 0.001)'
    result.test = PairedTest(difference=-0.1, p_value=0.0005, clips=200, replicates=10000)
    said = tables.verdict(result)
    assert result.marked is None and "chance" not in said
    assert "spoter leads lstm on mean top-1" in said and "lstm is ahead by 10.0 points" in said
    result.test = PairedTest(difference=-0.01, p_value=0.6, clips=200, replicates=10000)
    assert "does not separate from chance" in tables.verdict(result)


def test_a_published_page_names_a_store_without_its_password():
    # the header and the regenerating command printed the database's password
    assert (shown_uri("postgresql://mlflow:s3cr%40t@db.example:5432/mlflow")
            == "postgresql://mlflow@db.example:5432/mlflow")
    assert shown_uri("https://alice:token@mlflow.example.com/") == (
        "https://alice@mlflow.example.com/")
    assert shown_uri("http://alice@127.0.0.1:5000") == "http://alice@127.0.0.1:5000"


def test_a_seed_without_a_test_top1_is_left_out_of_n_and_said_so():
    # seed 2 diverged (NaN): the mean is of seeds 0 and 1, so n and the ± must be too
    runs = pd.DataFrame([_search_runs_row("a", "spoter", "h1" * 32, 0, 0.60, lr=0.1),
                         _search_runs_row("b", "spoter", "h1" * 32, 1, 0.70, lr=0.1),
                         _search_runs_row("c", "spoter", "h1" * 32, 2, math.nan, lr=0.1)])
    [bench] = collect.benchmarks(collect.tidy_runs(runs))
    result = headline.headline(bench, {c.key: Uncertainty(None, {})
                                       for c in bench.configurations})
    for row in (tables.headline_rows(result)[0],
                tables.configuration_rows(bench, {}, set())[0]):
        assert row.n == 2, row
        assert row.seeds == "0, 1 (left out, no test top-1: 2)"
        top1 = row.cells[[c.metric.key for c in (
            tables.HEADLINE_COLUMNS if row.chosen else tables.ALL_COLUMNS)].index("top1")]
        assert top1.value == "65.0" and top1.spread == tables.plain(
            np.std([0.6, 0.7], ddof=1), "percent")
        assert top1.left_out == "1 seed left out"
    # every seed measured: nothing to say
    whole = pd.DataFrame([_search_runs_row(r, "spoter", "h1" * 32, s, 0.6, lr=0.1)
                          for s, r in enumerate("ab")])
    [bench] = collect.benchmarks(collect.tidy_runs(whole))
    [row] = tables.configuration_rows(bench, {}, set())
    assert row.n == 2 and row.seeds == "0, 1"
    assert not any(cell.left_out for cell in row.cells)
