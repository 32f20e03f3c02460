"""The report's building blocks on small real inputs: the SOTA table, confusions, LaTeX,
and reloading a dataset for the key-frame gallery."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.errors import BadAnnotations
from harness.report import collect, confusions, sota, tables
from harness.report.keyframes import ClipLoader, pick_clips


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
    for row in rows:
        assert row.source
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
    assert tables.latex_escape("pooled_logreg 100% & #1") == r"pooled\_logreg 100\% \& \#1"
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


def _search_runs_row(run_id, model, split_hash, seed, top1, **config):
    """One row in the column layout of mlflow.search_runs, as harness.run.tracking logs it."""
    row = {"run_id": run_id, "experiment_id": "1",
           "start_time": pd.Timestamp("2025-01-01", tz="UTC"),
           "tags.slrbench.model": model, "tags.slrbench.config_hash": str(sorted(config.items())),
           "tags.slrbench.inputs": "landmarks", "params.model": model,
           "params.dataset": "signo", "params.vocab_size": "10", "params.seed": str(seed),
           "params.split_seed": "0", "params.split_hash": split_hash,
           "params.split_protocol": "stratified", "params.git_commit": "abc",
           "params.machine": "x86_64", "metrics.test_top1": top1}
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
    groups = collect.split_groups(tidy)
    assert [g.split_hash[:2] for g in groups] == ["h1", "h2"]
    first = groups[0]
    assert [e.variant for e in first.entries] == ["keyframe_mlp (stages=2)",
                                                   "keyframe_mlp (stages=1)", "pooled_logreg"]
    pooled_seeds = first.entries[1].stats["top1"]
    assert pooled_seeds.n == 2 and math.isclose(pooled_seeds.mean, 0.85)
    assert math.isclose(pooled_seeds.std, np.std([0.8, 0.9], ddof=1))
    assert first.best().variant == "keyframe_mlp (stages=2)"
    assert [e.run_ids for e in groups[1].entries] == [["d"]]


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
