"""Bad landmark data through the CLI: values no image has, paths outside the data folder,
errors that must name the real cause, a sign evaluated but never trained (issue 14, items
4 and 5 and "one clear line")."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import main
from tests.conftest import make_clip
from tests.faults import (ESCAPES, NO_DAC, assert_one_error, baseline_run,  # noqa: F401
                          environment, point_outside, runs_in, slrbench)

GLOSSES = ("yes", "no", "maybe")


@pytest.fixture(autouse=True)
def own_data_root(tmp_path, monkeypatch):
    """Caches of these throw-away folders go to the test's own data root."""
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(tmp_path / "data-root"))


def landmark_folder(root: Path, clips: dict[int, np.ndarray] | None = None,
                    split=lambda i: "test" if i % 4 == 3 else "train",
                    gloss=lambda i: GLOSSES[i % 3]) -> Path:
    """24 real .npy clips + index.csv; ``clips`` replaces some of them."""
    (root / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(24):
        file = f"clips/clip{i:02d}.npy"
        np.save(root / file, (clips or {}).get(i, make_clip(frames=5 + i % 4, seed=i)))
        rows.append({"file": file, "gloss": gloss(i), "signer": "abcd"[i % 4],
                     "split": split(i)})
    pd.DataFrame(rows).to_csv(root / "index.csv", index=False)
    return root


def invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False)


def run_on(folder: Path, tmp_path: Path):
    return invoke("run", "--model", "pooled_logreg", "--dataset", "landmarks",
                  "--data-dir", folder, "--tracking-uri", f"sqlite:///{tmp_path / 'mlruns.db'}")


def assert_refused(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("error")]
    for needle in needles:
        assert needle in line, line
    return line


# --- item 5: values no image has ------------------------------------------------------------
def clip_with(value: float, dtype=np.float32, axis: int = 0) -> np.ndarray:
    clip = make_clip(frames=6, seed=99).astype(dtype)
    clip[2, 100, axis] = value
    return clip


@pytest.mark.parametrize("clip, needles", [
    (clip_with(1e300, np.float64), ("clip03.npy", "float32")),      # inf once cast
    (clip_with(3e38), ("clip03.npy", "x")),                          # finite, absurd
    (clip_with(640.0), ("clip03.npy", "x")),                         # pixels, not normalised
    (clip_with(-480.0, axis=1), ("clip03.npy", "y")),
    (clip_with(1e6, axis=2), ("clip03.npy", "z")),
])
def test_coordinates_beyond_the_sane_range_are_refused(tmp_path, clip, needles):
    folder = landmark_folder(tmp_path / "lm", {3: clip})
    assert_refused(run_on(folder, tmp_path), *needles)
    assert runs_in(tmp_path / "mlruns.db") == []


def test_points_just_off_the_image_are_kept(tmp_path):
    # a hand beside the frame, depth of a few image widths: real data has both
    clips = {3: clip_with(-1.5), 7: clip_with(2.5, axis=1), 11: clip_with(-5.0, axis=2)}
    result = run_on(landmark_folder(tmp_path / "lm", clips), tmp_path)
    assert result.exit_code == 0, result.output


def test_predict_refuses_a_clip_beyond_float32(tmp_path, baseline_run):
    uri, run_id, _ = baseline_run
    np.save(tmp_path / "huge.npy", clip_with(1e300, np.float64))
    assert_refused(invoke("predict", "--run", run_id, "--tracking-uri", uri,
                          tmp_path / "huge.npy"), "huge.npy", "float32")


# --- item 4 (the part outside the index reader): a sign never trained on --------------------
def test_a_test_sign_absent_from_train_is_a_logged_warning(tmp_path):
    # "maybe" only in test: a model can only get its clips wrong
    folder = landmark_folder(tmp_path / "lm", gloss=lambda i: "maybe" if i % 4 == 3 and
                             i < 12 else GLOSSES[i // 4 % 2])
    result = run_on(folder, tmp_path)
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.output and "'maybe'" in result.output
    [run] = runs_in(tmp_path / "mlruns.db")
    assert "'maybe'" in run["tags"]["slrbench.warnings"]


@pytest.mark.slow
def test_glosses_in_a_script_the_plot_font_lacks_print_no_warnings(tmp_path):
    # the confusion plot's font has no CJK glyphs: six UserWarning lines reached the user
    folder = landmark_folder(tmp_path / "lm", gloss=lambda i: "手口目"[i % 3])
    result = slrbench("run", "--model", "pooled_logreg", "--dataset", "landmarks",
                      "--data-dir", folder, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}",
                      env=environment(SLRBENCH_DATA_ROOT=str(tmp_path / "data-root")))
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr


# --- errors that name the real cause --------------------------------------------------------
def test_a_parquet_of_another_schema_is_not_called_truncated(tmp_path):
    folder = landmark_folder(tmp_path / "lm")
    pd.DataFrame({"a": [1, 2], "b": [0.1, 0.2]}).to_parquet(folder / "clips" / "other.parquet")
    index = pd.read_csv(folder / "index.csv")
    index.loc[0, "file"] = "clips/other.parquet"
    index.to_csv(folder / "index.csv", index=False)
    line = assert_refused(run_on(folder, tmp_path), "other.parquet", "columns")
    assert "truncated" not in line


@pytest.mark.parametrize("column, cell, needle", [
    ("x", "abc", "column 'x' holds 'abc' in row 5, not a number"),
    ("landmark_index", "x", "column 'landmark_index' holds 'x' in row 5, not a whole number"),
    ("frame", "q", "column 'frame' holds 'q' in row 5, not a whole number"),
    ("type", None, "column 'type' has an empty value in row 5"),
])
def test_a_parquet_cell_that_is_no_number_is_named(tmp_path, shared, column, cell, needle):
    # each was a ValueError or TypeError traceback; text frames were also sorted as text
    folder = landmark_folder(tmp_path / "lm")
    real = next((shared / "asl-signs-sample" / "train_landmark_files").glob("*/*.parquet"))
    frame = pd.read_parquet(real)
    frame[column] = frame[column].astype(object)
    frame.loc[5, column] = cell
    frame.astype({column: str} if cell is not None else {}).to_parquet(
        folder / "clips" / "bad.parquet")
    index = pd.read_csv(folder / "index.csv")
    index.loc[0, "file"] = "clips/bad.parquet"
    index.to_csv(folder / "index.csv", index=False)
    assert_refused(run_on(folder, tmp_path), "bad.parquet", needle)


@pytest.mark.slow
def test_an_unreadable_file_is_not_called_truncated(tmp_path):
    if shutil.which(NO_DAC[0]) is None or os.geteuid() != 0:
        pytest.skip("needs setpriv, as root, to drop the permission override")
    folder = landmark_folder(tmp_path / "lm")
    (folder / "clips" / "clip05.npy").chmod(0)
    tmp_path.chmod(0o777)
    result = slrbench("run", "--model", "pooled_logreg", "--dataset", "landmarks",
                      "--data-dir", folder, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}",
                      prefix=NO_DAC, env=environment(SLRBENCH_DATA_ROOT=str(tmp_path / "dr")))
    line = assert_one_error(result, "clip05.npy", "ermission")
    assert "truncated" not in line and "corrupt" not in line


# --- index paths that leave the data folder -------------------------------------------------
@pytest.mark.parametrize("how", ESCAPES)
def test_landmark_index_paths_outside_the_folder(tmp_path, how):
    folder = landmark_folder(tmp_path / "lm")
    np.save(tmp_path / "outside.npy", make_clip(frames=6, seed=5))
    point_outside(folder / "index.csv", "file", 2, tmp_path / "outside.npy", how)
    assert_refused(run_on(folder, tmp_path), "index.csv", "outside")


@pytest.mark.parametrize("how", ESCAPES)
def test_asl_signs_paths_outside_the_folder(tmp_path, shared, how):
    root = tmp_path / "asl"
    shutil.copytree(shared / "asl-signs-sample", root)
    first = pd.read_csv(root / "train.csv").loc[0, "path"]
    shutil.copy(root / first, tmp_path / "outside.parquet")
    point_outside(root / "train.csv", "path", 0, tmp_path / "outside.parquet", how)
    result = invoke("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                    "--data-dir", root, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}")
    assert_refused(result, "train.csv", "outside")
