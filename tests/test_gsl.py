"""GSL isolated: the official layout (JPEG frame folders + `clip|GLOSS` split files).

GSL's frames are not shipped here, so a small tree in exactly that layout is made from real
video frames (asl8 clips decoded to JPEG folders), with the real class list.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from harness.adapters import gsl
from harness.cli import main
from harness.run.loading import load_clipset, make_request
from harness.errors import BadAnnotations, BadStore, DatasetNotFound
from harness.specs import DatasetRequest, ExtractionRequest
from harness.data.store import write_store
from harness.extract.video_io import iter_frames

FRAMES_PER_CLIP = 8
# (GSL clip folder, gloss, asl8 source clip): signers 1, 2 train; signer 3 dev and test.
TREE = [
    ("police1_signer1_rep1_glosses/glosses0000", "ΓΕΙΑ", "clips/No/No03.mp4"),
    ("police1_signer2_rep1_glosses/glosses0001", "ΕΓΩ(1)", "clips/GoodBye/goodbye06.mp4"),
    ("health1_signer3_rep1_glosses/glosses0000", "ΓΕΙΑ", "clips/ILoveYou/ILoveYou02.mp4"),
    ("health1_signer3_rep3_glosses/glosses0001", "ΕΓΩ(1)", "clips/No/No09.mp4"),
]


def _split(folder: str) -> str:
    if "signer3_rep1" in folder:
        return "dev"
    return "test" if "signer3" in folder else "train"


@pytest.fixture(scope="module")
def gsl_root(shared, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gsl")
    for folder, _, source in TREE:
        target = root / gsl.FRAMES_DIR / folder
        target.mkdir(parents=True)
        frames = iter_frames(shared / "asl8-videos" / source)      # upright RGB
        for i in range(FRAMES_PER_CLIP):
            cv2.imwrite(str(target / f"frame_{i:04d}.jpg"), next(frames)[:, :, ::-1])
        frames.close()
    lines = {"train": [], "dev": [], "test": []}
    for folder, gloss, _ in TREE:
        lines[_split(folder)].append(f"{folder}|{gloss}")
    lines["train"].append("kep1_signer5_rep1_glosses/glosses0003|ΜΠΟΡΩ")   # listed, not here
    for split, rows in lines.items():
        (root / f"{split}_greek_iso.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    shutil.copy(shared / "gsl" / "iso_classes.csv", root / "iso_classes.csv")
    return root


def test_real_split_files_parse_and_are_signer_independent(shared):
    folder = shared / "gsl"
    counts = {split: read for split, read in
              ((s, gsl.read_split_file(folder / name)) for s, name in gsl.SPLIT_FILES.items())}
    assert {s: len(f) for s, f in counts.items()} == {"train": 34995, "val": 2331, "test": 3500}
    signers = {s: set(f["clip_folder"].map(gsl.signer_of)) for s, f in counts.items()}
    assert signers["train"] == {"1", "2", "4", "5", "6", "7"}
    assert signers["val"] == signers["test"] == {gsl.HELD_OUT_SIGNER}
    vocab = gsl.read_classes(folder / gsl.CLASSES_FILE)
    assert len(vocab) == 310 and set(counts["train"]["gloss"]) == set(vocab)


@pytest.mark.slow
def test_extract_gsl_tree_and_load_it(gsl_root, tmp_path):
    store = tmp_path / "gsl-store"
    result = CliRunner().invoke(main, ["data", "extract", "--dataset", "gsl", "--videos",
                                       str(gsl_root), "--out", str(store), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "1 clips listed in the GSL split files have no frame folder" in result.output
    assert f"4 clips: 4 extracted now ({4 * FRAMES_PER_CLIP} frames" in result.output

    clips = gsl.load(DatasetRequest(data_dir=store))
    vocab = gsl.read_classes(gsl_root / gsl.CLASSES_FILE)
    assert clips.vocab == tuple(vocab)                       # iso_classes.csv order
    meta = clips.meta.set_index("clip_id")
    first = "police1_signer1_rep1_glosses/glosses0000"
    assert meta.loc[first, "gloss"] == "ΓΕΙΑ"
    assert meta.loc[first, "label"] == vocab.index("ΓΕΙΑ")
    assert meta.loc[first, "signer"] == "1" and meta.loc[first, "split"] == "train"
    assert (meta[meta["split"] != "train"]["signer"] == "3").all()
    assert sorted(meta["split"]) == ["test", "train", "train", "val"]
    assert meta["n_frames"].tolist() == [FRAMES_PER_CLIP] * 4
    assert meta.loc[first, "fps"] == pytest.approx(30.0)
    assert "signer 3" in clips.notes["protocol"]
    for i in range(len(clips)):
        assert not np.isnan(clips.clip(i)[:, :33]).all()     # a person was found
    split_clips, manifest = load_clipset("gsl", make_request(data_dir=store))
    assert len(split_clips.split("test")) == 1 and manifest is not None


def test_missing_store_says_how_to_extract(tmp_path):
    with pytest.raises(DatasetNotFound, match="slrbench data extract --dataset gsl"):
        gsl.load(DatasetRequest(data_dir=tmp_path / "nothing"))


def test_store_not_built_for_gsl_is_refused(tmp_path):
    clip = np.full((3, 543, 3), 0.5, dtype=np.float32)
    row = {"clip_id": "a", "gloss": "ΓΕΙΑ", "label": 0, "split": "train", "signer": "1",
           "fps": 30.0, "n_frames": 3, "source": "a"}
    write_store(tmp_path / "store", [(row, clip)], ["ΓΕΙΑ"], "landmarks-folder")
    with pytest.raises(BadStore, match="not built with `--dataset gsl`"):
        gsl.load(DatasetRequest(data_dir=tmp_path / "store"))


def test_bad_split_files_are_named(tmp_path):
    bad = tmp_path / "train_greek_iso.csv"
    bad.write_text("police1_signer1_rep1_glosses/glosses0000|ΓΕΙΑ\nno separator here\n",
                   encoding="utf-8")
    with pytest.raises(BadAnnotations, match=r"iso.csv: line 2 .*<clip_folder>\|<GLOSS>"):
        gsl.read_split_file(bad)
    bad.write_bytes("police1|ΓΕΙΑ\n".encode("iso-8859-7"))        # Greek, but not UTF-8
    with pytest.raises(BadAnnotations, match="not UTF-8"):
        gsl.read_split_file(bad)
    bad.write_text("../../etc|ΓΕΙΑ\n", encoding="utf-8")
    with pytest.raises(BadAnnotations, match="outside the dataset root"):
        gsl.read_split_file(bad)


def test_tree_without_frames_is_reported(gsl_root, tmp_path):
    empty = tmp_path / "empty-root"
    empty.mkdir()
    with pytest.raises(DatasetNotFound, match="none of the 5 clip folders"):
        gsl.plan_extraction(empty, ExtractionRequest(annotations=gsl_root))


def _store(path: Path, rows: list[tuple[str, str]]) -> Path:
    """A GSL store of one-gloss clips with these (split, signer) pairs."""
    clip = np.full((3, 543, 3), 0.5, dtype=np.float32)
    write_store(path, [({"clip_id": f"c{i}", "gloss": "ΓΕΙΑ", "label": 0, "split": split,
                         "signer": signer, "fps": 30.0, "n_frames": 3, "source": f"c{i}"},
                        clip) for i, (split, signer) in enumerate(rows)], ["ΓΕΙΑ"], "gsl")
    return path


def test_a_store_whose_split_shares_a_signer_is_not_called_signer_independent(tmp_path):
    # custom split files put signer 3 in train too: the run was logged as "signer 3 held
    # out" all the same
    mixed = _store(tmp_path / "mixed", [("train", "1"), ("train", "3"), ("val", "3"),
                                        ("test", "3")])
    clips = gsl.load(DatasetRequest(data_dir=mixed))
    assert "NOT signer-independent: signer(s) 3" in clips.notes["protocol"]
    assert "signer(s) 3 sign in train and in val/test" in clips.notes["warnings"][0]
    official = _store(tmp_path / "official", [("train", "1"), ("train", "2"), ("val", "3"),
                                              ("test", "3")])
    clips = gsl.load(DatasetRequest(data_dir=official))
    assert clips.notes["protocol"] == gsl.PROTOCOL and "warnings" not in clips.notes


@pytest.mark.parametrize("damage, message", [
    (lambda path: path.write_bytes("ΓΕΙΑ\n".encode("iso-8859-7")), "not UTF-8 text"),
    (lambda path: path.mkdir(), "a folder, not a file of GSL.s class list"),
])
def test_a_class_list_that_cannot_be_read_is_named(tmp_path, damage, message):
    # a UnicodeDecodeError traceback; a folder was "in the way there; choose another path"
    path = tmp_path / gsl.CLASSES_FILE
    damage(path)
    with pytest.raises((BadAnnotations, DatasetNotFound), match=message) as error:
        gsl.read_classes(path)
    assert str(path) in str(error.value)


def test_a_split_file_that_is_a_folder_is_named(tmp_path):
    path = tmp_path / gsl.SPLIT_FILES["train"]
    path.mkdir()
    with pytest.raises(BadAnnotations, match="a folder, not a file of <clip_folder>"):
        gsl.read_split_file(path)
