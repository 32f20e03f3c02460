"""Broken dataset and report files through the CLI: one ``error:`` line naming the file and
the problem, exit status 2, no traceback (and no cache folder blamed for the user's file).

Every case fails while reading its input, before anything is trained, so each is fast.
The broken copies are built here under ``tmp_path``; nothing is written to the shared data.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from harness.adapters import signo
from harness.cli import main

SIGNO_FILE = signo.FILE
ASL_HEADER = "path,participant_id,sequence_id,sign"


@pytest.fixture(autouse=True)
def data_root(tmp_path: Path, monkeypatch) -> Path:
    """Caches (and anything else slrbench keeps) under this test's folder."""
    root = tmp_path / "dataroot"
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(root))
    return root


def refused(tmp_path: Path, args: list[str], *needles: str) -> str:
    """Run ``slrbench args``; assert status 2 and one line, no traceback, holding ``needles``."""
    result = CliRunner().invoke(main, [*args, "--tracking-uri", f"sqlite:///{tmp_path}/m.db"],
                                catch_exceptions=False)
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    line = lines[0]
    assert line.startswith("error: "), output
    for needle in needles:
        assert needle in line, line
    return line


def run_args(dataset: str, data_dir: Path | None = None, *extra: str) -> list[str]:
    args = ["run", "--model", "pooled_logreg", "--dataset", dataset, "--threads", "1"]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    return [*args, *extra]


def no_cache_blamed(line: str, data_root: Path) -> None:
    assert "cache" not in line and str(data_root) not in line, line


# --- signo: the release's one .npz ------------------------------------------------------

def signo_arrays(sequences: int = 6, frames: int = 5, classes: int = 3) -> dict:
    rng = np.random.default_rng(0)
    return {"hands": rng.uniform(0.2, 0.8, (sequences, frames, 126)).astype(np.float32),
            "y": np.arange(sequences, dtype=np.int64) % classes,
            "classes": np.array([f"sign{c}" for c in range(classes)]),
            "source_folder": np.array(["MP_DATA"] * sequences)}


def write_signo(tmp_path: Path, **changes) -> tuple[Path, Path]:
    """A signo folder whose .npz holds ``signo_arrays()`` with ``changes`` (None: dropped)."""
    folder = tmp_path / "signo"
    folder.mkdir()
    arrays = {k: v for k, v in {**signo_arrays(), **changes}.items() if v is not None}
    with open(folder / SIGNO_FILE, "wb") as handle:      # np.savez would add ".npz" to a name
        np.savez_compressed(handle, **arrays)
    return folder, folder / SIGNO_FILE


def test_signo_truncated_npz(tmp_path, data_root):
    folder, source = write_signo(tmp_path)
    data = source.read_bytes()
    source.write_bytes(data[:len(data) // 2])
    line = refused(tmp_path, run_args("signo", folder), str(source), "truncated")
    no_cache_blamed(line, data_root)


def test_signo_npz_with_a_damaged_array(tmp_path):
    """The archive's directory is intact but an array's compressed bytes are not."""
    folder, source = write_signo(tmp_path)
    data = bytearray(source.read_bytes())
    start = data.index(b"hands.npy") + 200
    data[start:start + 400] = bytes(400)
    source.write_bytes(bytes(data))
    refused(tmp_path, run_args("signo", folder), str(source))


def test_signo_npz_with_other_arrays(tmp_path):
    folder = tmp_path / "signo"
    folder.mkdir()
    with open(folder / SIGNO_FILE, "wb") as handle:
        np.savez(handle, a=np.zeros(3))
    refused(tmp_path, run_args("signo", folder), str(folder / SIGNO_FILE), "hands", "'a'")


def test_signo_npz_lacking_one_array(tmp_path):
    folder, source = write_signo(tmp_path, source_folder=None)
    refused(tmp_path, run_args("signo", folder), str(source), "source_folder")


def test_signo_npz_path_is_a_folder(tmp_path):
    folder = tmp_path / "signo"
    (folder / SIGNO_FILE).mkdir(parents=True)
    refused(tmp_path, run_args("signo", folder), str(folder / SIGNO_FILE), "folder")


def test_signo_empty_npz_is_no_ctrl_d(tmp_path):
    """numpy raises EOFError for a 0-byte file, which click would take for Ctrl-D."""
    folder = tmp_path / "signo"
    folder.mkdir()
    (folder / SIGNO_FILE).write_bytes(b"")
    line = refused(tmp_path, run_args("signo", folder), str(folder / SIGNO_FILE), "empty")
    assert "Aborted" not in line


def test_signo_a_single_npy_array_under_the_npz_name(tmp_path):
    folder = tmp_path / "signo"
    folder.mkdir()
    with open(folder / SIGNO_FILE, "wb") as handle:
        np.save(handle, np.zeros((2, 3)))
    refused(tmp_path, run_args("signo", folder), str(folder / SIGNO_FILE), ".npy")


def test_signo_pickled_object_array_is_refused(tmp_path):
    folder, source = write_signo(tmp_path, classes=np.array([{"a": 1}, 2, 3], dtype=object))
    refused(tmp_path, run_args("signo", folder), str(source), "classes")


@pytest.mark.parametrize("changes, words", [
    ({"hands": np.zeros((6, 5, 125), np.float32)}, ["hands", "shape"]),
    ({"hands": np.zeros((6, 630), np.float32)}, ["hands", "shape"]),
    ({"hands": np.full((6, 5, 126), "x")}, ["hands", "dtype"]),
    ({"hands": np.zeros((0, 5, 126), np.float32), "y": np.zeros(0, np.int64),
      "source_folder": np.array([], dtype=str)}, ["hands", "empty"]),
    ({"hands": np.zeros((6, 5, 126), np.float32)}, ["all zeros"]),
    ({"hands": np.full((6, 5, 126), np.inf, np.float32)}, ["sequence 0", "inf"]),
    ({"hands": np.full((6, 5, 126), 500.0, np.float32)}, ["sequence 0", "beyond"]),
    ({"y": np.arange(5, dtype=np.int64)}, ["'y'", "shape"]),
    ({"y": np.zeros(6, np.float32)}, ["'y'", "dtype"]),
    ({"y": np.full(6, 3, np.int64)}, ["'y'", "class 3"]),
    ({"y": np.full(6, -1, np.int64)}, ["'y'", "class -1"]),
    ({"source_folder": np.array(["a"] * 7)}, ["source_folder", "shape"]),
    ({"classes": np.arange(3)}, ["classes", "dtype"]),
    ({"classes": np.array([], dtype=str)}, ["classes"]),
    ({"classes": np.array(["a", "a", "b"])}, ["classes", "twice"]),
])
def test_signo_arrays_of_the_wrong_shape_dtype_or_content(tmp_path, data_root, changes,
                                                          words):
    folder, source = write_signo(tmp_path, **changes)
    line = refused(tmp_path, run_args("signo", folder), str(source), *words)
    no_cache_blamed(line, data_root)


# --- asl-signs: train.csv and the class order ---------------------------------------------

ASL_ROWS = ["train_landmark_files/1/10.parquet,1,10,hello",
            "train_landmark_files/2/20.parquet,2,20,bye",
            "train_landmark_files/3/30.parquet,3,30,hello"]


def write_asl(tmp_path: Path, csv: str | bytes | None = None) -> tuple[Path, Path]:
    folder = tmp_path / "asl"
    folder.mkdir()
    csv = "\n".join([ASL_HEADER, *ASL_ROWS]) + "\n" if csv is None else csv
    index = folder / "train.csv"
    index.write_bytes(csv if isinstance(csv, bytes) else csv.encode())
    return folder, index


@pytest.mark.parametrize("csv, words", [
    ("", ["empty"]),
    (b"\x7fELF\x02\x01\x01\x00\xd0\xc3\x28\xff" * 20, ["UTF-8"]),
    (ASL_HEADER + "\r\n", ["no sequences"]),
    (ASL_HEADER + "\n", ["no sequences"]),
    ("path,participant_id,sequence_id\na.parquet,1,10\n", ["missing columns", "sign"]),
    ("\n".join([ASL_HEADER, ASL_ROWS[0], ",2,20,bye"]) + "\n", ["row 3", "'path'"]),
    ("\n".join([ASL_HEADER, ASL_ROWS[0], "b.parquet,2,20,"]) + "\n", ["row 3", "'sign'"]),
    ("\n".join([ASL_HEADER, ASL_ROWS[0], "b.parquet,,20,bye"]) + "\n",
     ["row 3", "'participant_id'"]),
    ("\n".join([ASL_HEADER, ASL_ROWS[0], "b.parquet,2,10,bye"]) + "\n", ["row 3", "'10'"]),
    ('path,participant_id,sequence_id,sign\n"a.parquet,1,10,hello\n', ["not a readable"]),
])
def test_asl_signs_bad_train_csv(tmp_path, data_root, csv, words):
    folder, index = write_asl(tmp_path, csv)
    line = refused(tmp_path, run_args("asl-signs", folder), str(index), *words)
    no_cache_blamed(line, data_root)


def test_asl_signs_train_csv_is_a_folder(tmp_path):
    folder = tmp_path / "asl"
    (folder / "train.csv").mkdir(parents=True)
    refused(tmp_path, run_args("asl-signs", folder), str(folder / "train.csv"), "folder")


@pytest.mark.parametrize("text, words", [
    ("{bad json", ["not valid JSON"]),
    ("", ["not valid JSON"]),
    (json.dumps(["hello", "bye"]), ["list"]),
    (json.dumps({}), ["dict"]),
    (json.dumps({"hello": 0, "bye": 2}), ["0..1"]),
    (json.dumps({"hello": 0, "bye": "1"}), ["0..1"]),
    (json.dumps({"hello": 0, "other": 1}), ["lacks signs", "bye"]),
])
def test_asl_signs_bad_class_order(tmp_path, text, words):
    folder, _ = write_asl(tmp_path)
    order = folder / "sign_to_prediction_index_map.json"
    order.write_text(text)
    refused(tmp_path, run_args("asl-signs", folder), str(order), *words)


# --- synthetic: --data-option values ------------------------------------------------------

@pytest.mark.parametrize("option", [
    "clips_per_class=-1", "clips_per_class=0", "mean_frames=0", "mean_frames=-3",
    "signers=0", "signers=1", "noise=-0.1", "noise=nan", "noise=inf", "noise=5",
    "seed=-1",
])
def test_synthetic_options_out_of_range(tmp_path, data_root, option):
    name = option.split("=")[0]
    line = refused(tmp_path, run_args("synthetic", None, "--vocab", "10", "--data-option",
                                      option), f"--data-option {name}=", "must be")
    no_cache_blamed(line, data_root)
    assert not (data_root / "cache").exists() or not any((data_root / "cache").iterdir())


def test_a_synthetic_store_too_large_for_the_disk_is_refused_before_it_is_built(tmp_path,
                                                                                data_root):
    refused(tmp_path, run_args("synthetic", None, "--vocab", "10", "--data-option",
                               "clips_per_class=1000000000"),
            "clips_per_class=1000000000", "with 10 signs", "GiB free", "SLRBENCH_DATA_ROOT")
    assert not (data_root / "cache").exists() or not any((data_root / "cache").iterdir())


# --- report: --sota --------------------------------------------------------------------

@pytest.mark.parametrize("content, words", [
    ("", ["empty"]),
    (b"\xff\xfe\x00binary\xd0\xc3", ["UTF-8"]),
    (None, ["folder"]),
])
def test_report_bad_sota_file(tmp_path, content, words):
    sota = tmp_path / "sota.csv"
    if content is None:
        sota.mkdir()
    else:
        sota.write_bytes(content if isinstance(content, bytes) else content.encode())
    refused(tmp_path, ["report", "--out", str(tmp_path / "r.html"), "--sota", str(sota)],
            str(sota), *words)
